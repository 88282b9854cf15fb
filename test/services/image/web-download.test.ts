// The web-download import: offered only when the operator allows some hosts, fetching only
// from them (never the cloud's own loopback services), queued -> importing -> active with the
// data's checksum, back to queued when the fetch fails; and glanceclient's
// image-create-via-import driving it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertGlanceError, createImage, glance, waitForStatus } from './helpers.js';

const run = promisify(execFile);
const GLANCE_CLI = '/usr/bin/glance';
/** The image server's address: loopback, but not the cloud's own 127.0.0.1. */
const SERVER_HOST = '127.0.0.2';

describe('image API: web-download import', () => {
  const data = randomBytes(2 * 1024 * 1024 + 777);
  let server: Server;
  let base: string;
  let requests: string[];
  let tc: TestCloud;
  let url: string;
  let demo: string;

  before(async () => {
    requests = [];
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url === '/disk.raw') {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(data.length) });
        response.end(data);
      } else if (request.url === '/redirect') {
        response.writeHead(302, { location: `${url}/identity/v3` });
        response.end();
      } else {
        response.writeHead(404);
        response.end('no such file');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, SERVER_HOST, resolve));
    base = `http://${SERVER_HOST}:${(server.address() as AddressInfo).port}`;
    tc = await startTestCloud({ env: { KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS: `${SERVER_HOST}/32` } });
    url = tc.url;
    demo = await tc.token('demo');
  });

  after(async () => {
    await tc?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  const newImage = (name: string) => createImage(url, demo, { name, disk_format: 'raw', container_format: 'bare' });
  const importFrom = (id: string, uri: unknown) => glance(url, 'POST', `/v2/images/${id}/import`, demo, { method: { name: 'web-download', uri } });

  it('is offered, in the import info and the header of a created image', async () => {
    const info = await glance(url, 'GET', '/v2/info/import', demo);
    assert.deepEqual(info.json['import-methods'].value, ['glance-direct', 'web-download']);
    const created = await glance(url, 'POST', '/v2/images', demo, { name: 'offer' });
    assert.equal(created.headers.get('openstack-image-import-methods'), 'glance-direct,web-download');
    await glance(url, 'DELETE', `/v2/images/${created.json.id}`, demo);
  });

  it('fetches the data from an allowed host: importing, then active with its checksum and size', async () => {
    const image = await newImage('web');
    const res = await importFrom(image.id, `${base}/disk.raw`);
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const active = await waitForStatus(url, demo, image.id, 'active', 15_000);
    assert.equal(active.size, data.length);
    assert.equal(active.checksum, createHash('md5').update(data).digest('hex'));
    assert.equal(active.os_hash_value, createHash('sha512').update(data).digest('hex'));
    const downloaded = await fetch(`${url}/image/v2/images/${image.id}/file`, { headers: { 'x-auth-token': demo } });
    assert.ok(Buffer.from(await downloaded.arrayBuffer()).equals(data), 'the same bytes come back');
    assertGlanceError(await importFrom(image.id, `${base}/disk.raw`), 409, undefined, 'an active image is not imported again');
  });

  it('refuses, with 400 and nothing fetched, what the operator did not allow: the cloud itself, other schemes, credentials', async () => {
    const image = await newImage('refused');
    const before = requests.length;
    for (const uri of [
      `${url}/identity/v3`,
      'http://127.0.0.1:22/',
      'http://localhost/',
      'http://[::1]/',
      'http://0x7f.1/',
      `http://user:pw@${SERVER_HOST}/disk.raw`,
      `file:///etc/passwd`,
      `ftp://${SERVER_HOST}/disk.raw`,
      'not a url',
      '',
      42,
    ]) {
      assertGlanceError(await importFrom(image.id, uri), 400, undefined, String(uri));
    }
    assert.equal(requests.length, before, 'the image server saw no request');
    assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'queued');
  });

  it('puts the image back to queued when the fetch fails (404, a redirect it does not follow)', async () => {
    for (const path of ['/missing', '/redirect']) {
      const image = await newImage(`fails${path}`);
      assert.equal((await importFrom(image.id, `${base}${path}`)).status, 202);
      await waitForStatus(url, demo, image.id, 'queued', 10_000);
      const shown = await glance(url, 'GET', `/v2/images/${image.id}`, demo);
      assert.equal(shown.json.size, null);
      assert.equal(shown.json.checksum, null);
    }
  });

  it('refuses an image that is not queued, and a member of another project', async () => {
    const image = await newImage('not-queued');
    assert.equal((await importFrom(image.id, `${base}/disk.raw`)).status, 202);
    await waitForStatus(url, demo, image.id, 'active', 15_000);
    assertGlanceError(await importFrom(image.id, `${base}/disk.raw`), 409);
    const admin = await tc.token('admin');
    const adminImage = await createImage(url, admin, { name: 'admins', disk_format: 'raw', container_format: 'bare' });
    assertGlanceError(await importFrom(adminImage.id, `${base}/disk.raw`), 404);
  });

  it('python-glanceclient image-create-via-import --import-method web-download', { skip: existsSync(GLANCE_CLI) ? false : 'python3-glanceclient is not installed' }, async () => {
    const auth = [
      '--os-auth-url', `${url}/identity/v3`, '--os-username', 'admin', '--os-password', ADMIN_PASSWORD,
      '--os-project-name', 'admin', '--os-user-domain-id', 'default', '--os-project-domain-id', 'default',
    ];
    // glanceclient takes any stdin that is not a terminal for image data, which web-download refuses:
    // it runs with stdin closed, as from cron.
    const closedStdin = 'import os, sys; os.close(0); os.execv(sys.argv[1], sys.argv[1:])';
    const { stdout } = await run(
      '/usr/bin/python3',
      ['-c', closedStdin, GLANCE_CLI, ...auth, 'image-create-via-import', '--name', 'cli-web', '--disk-format', 'raw', '--container-format', 'bare', '--import-method', 'web-download', '--uri', `${base}/disk.raw`],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tc.dataDir } },
    );
    const id = /\|\s*id\s*\|\s*([0-9a-f-]{36})/.exec(stdout)?.[1];
    assert.ok(id, stdout);
    const active = await waitForStatus(url, await tc.token('admin'), id, 'active', 15_000);
    assert.equal(active.checksum, createHash('md5').update(data).digest('hex'));
  });
});

describe('image API: web-download without allowed hosts', () => {
  let tc: TestCloud;
  before(async () => {
    tc = await startTestCloud();
  });
  after(async () => {
    await tc?.stop();
  });

  it('is not offered, and an import asking for it is refused (400)', async () => {
    const demo = await tc.token('demo');
    const info = await glance(tc.url, 'GET', '/v2/info/import', demo);
    assert.deepEqual(info.json['import-methods'].value, ['glance-direct']);
    const image = await createImage(tc.url, demo, { name: 'x', disk_format: 'raw', container_format: 'bare' });
    const res = await glance(tc.url, 'POST', `/v2/images/${image.id}/import`, demo, { method: { name: 'web-download', uri: `${tc.url}/identity/v3` } });
    assertGlanceError(res, 400, /not available/);
    assert.equal((await glance(tc.url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'queued');
  });
});
