// Image data transfers cut off by the death of the process moving them: the next start puts
// the images back as Glance leaves a failed upload (queued, nothing stored) and removes the
// partial files; a transfer another live process runs on the same data directory is left alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ADMIN_PASSWORD, DEMO_PASSWORD, passwordToken, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { startKumo, type KumoProcess } from '../../e2e/helpers/kumo-process.js';
import { bytes, createImage, filesOf, glance, md5, partialFileWritten, putData, rawUpload, storeFiles, waitForStatus } from './helpers.js';

const MIB = 1024 * 1024;
const PASSWORDS = { KUMO_ADMIN_PASSWORD: ADMIN_PASSWORD, KUMO_DEMO_PASSWORD: DEMO_PASSWORD };

describe('image transfers cut off by the death of their process', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const children: KumoProcess[] = [];
  const clouds: TestCloud[] = [];

  const freshDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-transfers-'));
    dirs.push(dir);
    return dir;
  };
  const kumo = async (dataDir: string) => {
    const child = await startKumo({ dataDir, env: PASSWORDS });
    children.push(child);
    return child;
  };

  after(async () => {
    for (const cloud of clouds) await cloud.stop().catch(() => undefined);
    for (const child of children) child.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('puts the images back to queued and removes the partial files on the next start after a kill', async () => {
    const dataDir = freshDataDir();
    const first = await kumo(dataDir);
    const demo = await passwordToken(first.url, 'demo', DEMO_PASSWORD, 'demo');
    const newImage = async (name: string) =>
      (await createImage(first.url, demo, { name, disk_format: 'raw', container_format: 'bare' })).id as string;

    const saving = await newImage('saving-when-killed');
    const staging = await newImage('staging-when-killed');
    const staged = await newImage('staged-before-the-kill');
    const stagedData = bytes(MIB, 3);
    assert.equal((await putData(first.url, demo, staged, stagedData, { target: 'stage' })).status, 204);

    const upload = rawUpload(first.url, demo, saving, 64 * MIB);
    const stage = rawUpload(first.url, demo, staging, 'chunked', 'stage');
    for (let i = 0; i < 3; i++) {
      await upload.write(bytes(MIB, i + 1));
      await stage.write(bytes(MIB, i + 11));
    }
    await partialFileWritten(dataDir, saving);
    await partialFileWritten(dataDir, staging, 'image-staging');
    assert.equal((await glance(first.url, 'GET', `/v2/images/${saving}`, demo)).json.status, 'saving');
    assert.equal((await glance(first.url, 'GET', `/v2/images/${staging}`, demo)).json.status, 'uploading');

    await first.stop('SIGKILL');
    await Promise.allSettled([upload.response, stage.response]);
    upload.req.destroy();
    stage.req.destroy();
    assert.ok(filesOf(dataDir, saving).includes(`${saving}.partial`), 'the kill left a partial file (the premise of this test)');

    const second = await kumo(dataDir);
    for (const id of [saving, staging]) {
      const image = (await glance(second.url, 'GET', `/v2/images/${id}`, demo)).json;
      assert.equal(image.status, 'queued', `${image.name} after the restart`);
      assert.equal(image.size, null);
    }
    assert.deepEqual(storeFiles(dataDir).filter((f) => f.endsWith('.partial')), [], 'no partial file left in DATA/images');
    assert.deepEqual(storeFiles(dataDir, 'image-staging').filter((f) => f.endsWith('.partial')), [], 'nor in DATA/image-staging');

    // What was staged completely stays staged, and imports.
    const waiting = (await glance(second.url, 'GET', `/v2/images/${staged}`, demo)).json;
    assert.equal(waiting.status, 'uploading');
    assert.equal(waiting.size, stagedData.length);
    const imported = await glance(second.url, 'POST', `/v2/images/${staged}/import`, demo, { method: { name: 'glance-direct' } });
    assert.equal(imported.status, 202);
    assert.equal((await waitForStatus(second.url, demo, staged, 'active')).checksum, md5(stagedData));

    // The images are not spoiled: their data can be sent again.
    const data = bytes(2 * MIB, 7);
    assert.equal((await putData(second.url, demo, saving, data)).status, 204);
    assert.equal((await glance(second.url, 'GET', `/v2/images/${saving}`, demo)).json.checksum, md5(data));
    assert.deepEqual(filesOf(dataDir, saving), [saving]);
    assert.equal((await glance(second.url, 'DELETE', `/v2/images/${saving}`, demo)).status, 204);
    assert.deepEqual(filesOf(dataDir, saving), []);
    await second.stop();
  });

  it('leaves alone an upload another process on the same data directory is running', async () => {
    const dataDir = freshDataDir();
    const running = await kumo(dataDir);
    const demo = await passwordToken(running.url, 'demo', DEMO_PASSWORD, 'demo');
    const id = (await createImage(running.url, demo, { name: 'in-flight', disk_format: 'raw', container_format: 'bare' })).id as string;
    const data = bytes(6 * MIB, 21);
    const upload = rawUpload(running.url, demo, id, data.length);
    await upload.write(data.subarray(0, 2 * MIB));
    await partialFileWritten(dataDir, id);

    // A second API process starts on the same data directory and database while the bytes flow.
    const other = await startTestCloud({ dataDir });
    clouds.push(other);
    assert.equal((await glance(other.url, 'GET', `/v2/images/${id}`, demo)).json.status, 'saving');
    assert.ok(filesOf(dataDir, id).includes(`${id}.partial`), 'the running upload kept its partial file');

    await upload.write(data.subarray(2 * MIB));
    upload.end();
    assert.equal((await upload.response).status, 204);
    const image = (await glance(running.url, 'GET', `/v2/images/${id}`, demo)).json;
    assert.equal(image.status, 'active');
    assert.equal(image.checksum, md5(data));
    await running.stop();
  });

  it('leaves alone an upload another cloud in the same process is running', async () => {
    const first = await startTestCloud();
    clouds.push(first);
    const demo = await first.token('demo');
    const id = (await createImage(first.url, demo, { name: 'same-process', disk_format: 'raw', container_format: 'bare' })).id as string;
    const data = bytes(4 * MIB, 31);
    const upload = rawUpload(first.url, demo, id, data.length);
    await upload.write(data.subarray(0, MIB));
    await partialFileWritten(first.dataDir, id);

    const second = await startTestCloud({ dataDir: first.dataDir });
    clouds.push(second);
    assert.equal((await glance(second.url, 'GET', `/v2/images/${id}`, demo)).json.status, 'saving');

    await upload.write(data.subarray(MIB));
    upload.end();
    assert.equal((await upload.response).status, 204);
    assert.equal((await glance(first.url, 'GET', `/v2/images/${id}`, demo)).json.checksum, md5(data));
  });

  it('gives up an upload that stops sending, putting the image back to queued with nothing stored', async () => {
    const cloud = await startTestCloud({ env: { KUMO_IMAGE_UPLOAD_IDLE_TIMEOUT: '0.5' } });
    clouds.push(cloud);
    const demo = await cloud.token('demo');
    const id = (await createImage(cloud.url, demo, { name: 'stalled', disk_format: 'raw', container_format: 'bare' })).id as string;
    const upload = rawUpload(cloud.url, demo, id, 8 * MIB);
    await upload.write(bytes(MIB, 41));
    await partialFileWritten(cloud.dataDir, id);
    // The client neither sends nor closes: its machine is gone.
    await waitForStatus(cloud.url, demo, id, 'queued', 5000);
    assert.deepEqual(filesOf(cloud.dataDir, id), []);
    const answer = await upload.response;
    assert.equal(answer.status, 408, answer.body);
    assert.equal(JSON.parse(answer.body).code, '408 Request Timeout');
    const data = bytes(MIB, 42);
    assert.equal((await putData(cloud.url, demo, id, data)).status, 204);
    assert.equal((await glance(cloud.url, 'GET', `/v2/images/${id}`, demo)).json.checksum, md5(data));
  });
});
