// A `kumo up` killed (SIGKILL) in the middle of a 1 GiB object PUT, then started again on the
// same data directory: the object is still its previous version, byte for byte, and no partial
// file of the interrupted upload remains.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { passwordToken } from '../helpers/cloud.js';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';

const GIB = 1024 * 1024 * 1024;

describe('object storage across a SIGKILL during a PUT', { timeout: 300_000 }, () => {
  let root: string;
  let kumo: KumoProcess | undefined;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-object-crash-'));
  });

  after(async () => {
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo?.kill());
    rmSync(root, { recursive: true, force: true });
  });

  async function demoToken(k: KumoProcess): Promise<string> {
    const creds = JSON.parse(readFileSync(join(k.dataDir, 'bootstrap-credentials.json'), 'utf8')) as { demoPassword: string };
    return passwordToken(k.url, 'demo', creds.demoPassword, 'demo');
  }

  async function accountOf(k: KumoProcess, token: string): Promise<string> {
    const res = await fetch(`${k.url}/identity/v3/auth/catalog`, { headers: { 'x-auth-token': token } });
    const body = (await res.json()) as { catalog: Array<{ type: string; endpoints: Array<{ url: string }> }> };
    return body.catalog.find((c) => c.type === 'object-store')?.endpoints[0]?.url as string;
  }

  it('serves the previous version after the restart, and leaves no partial file', async () => {
    const dataDir = join(root, 'data');
    kumo = await startKumo({ dataDir });
    let token = await demoToken(kumo);
    let account = await accountOf(kumo, token);
    assert.equal((await fetch(`${account}/c`, { method: 'PUT', headers: { 'x-auth-token': token } })).status, 201);
    const previous = Buffer.from('the previous version\n');
    assert.equal((await fetch(`${account}/c/big`, { method: 'PUT', headers: { 'x-auth-token': token }, body: previous })).status, 201);

    // 1 GiB announced, sent in 1 MiB chunks; the process is killed once 128 MiB are in.
    const victim = kumo;
    const sent = await new Promise<number>((resolve) => {
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let bytes = 0;
      const req = request(`${account}/c/big`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-length': String(GIB) } });
      req.on('error', () => resolve(bytes));
      req.on('response', () => resolve(bytes));
      const pump = () => {
        while (bytes < GIB) {
          if (bytes >= 128 * 1024 * 1024) {
            victim.kill();
            return;
          }
          bytes += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
      };
      pump();
    });
    assert.ok(sent >= 128 * 1024 * 1024, `sent ${sent} bytes before the kill`);
    const tmpBefore = readdirSync(join(dataDir, 'objects', 'tmp'));
    assert.ok(tmpBefore.length >= 1, 'the interrupted upload had a partial file when the process died');

    kumo = await startKumo({ dataDir });
    token = await demoToken(kumo);
    account = await accountOf(kumo, token);
    const res = await fetch(`${account}/c/big`, { headers: { 'x-auth-token': token } });
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(createHash('md5').update(body).digest('hex'), createHash('md5').update(previous).digest('hex'));
    assert.deepEqual(readdirSync(join(dataDir, 'objects', 'tmp')), [], 'the restart removed the partial file');
    const files = readdirSync(join(dataDir, 'objects', 'data')).flatMap((d) => readdirSync(join(dataDir, 'objects', 'data', d)));
    assert.equal(files.length, 1, 'only the previous version is stored');
    const head = await fetch(`${account}/c`, { method: 'HEAD', headers: { 'x-auth-token': token } });
    assert.equal(head.headers.get('x-container-bytes-used'), String(previous.length));
  });
});
