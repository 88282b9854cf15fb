// The file backend against real qemu-img in a scratch directory: volumes are whole or absent,
// images that name other files are refused, and a restart removes what a crash left half-made.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileBackend } from '../../../src/agents/volume/backends/file/file.js';
import { createLogger } from '../../../src/core/log.js';

const GiB = 2 ** 30;
const info = (file: string) => JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', file]).toString()) as { 'virtual-size': number; format: string };

describe('file volume backend', { timeout: 60_000 }, () => {
  let dir: string;
  let backend: FileBackend;
  let server: Server;
  let base: string;
  const served = new Map<string, Buffer>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-file-backend-'));
    backend = new FileBackend({ dir: join(dir, 'volumes'), host: 'host-a', log: createLogger('silent') });
    await backend.setup();
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body || req.headers['x-auth-token'] !== 'tok') {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates, extends, snapshots, clones and deletes qcow2 volumes', async () => {
    const id = randomUUID();
    await backend.createVolume(id, 1);
    const path = join(dir, 'volumes', `volume-${id}.qcow2`);
    assert.equal(info(path).format, 'qcow2');
    assert.equal(info(path)['virtual-size'], GiB);
    await backend.extendVolume(id, 2, false);
    assert.equal(await backend.volumeSizeGb(id), 2);
    const snap = randomUUID();
    await backend.createSnapshot(snap, id);
    const fromSnap = randomUUID();
    await backend.createFromSnapshot(fromSnap, snap, 3);
    assert.equal(await backend.volumeSizeGb(fromSnap), 3);
    const clone = randomUUID();
    await backend.cloneVolume(clone, fromSnap, 3);
    assert.deepEqual((await backend.listVolumes()).sort(), [id, fromSnap, clone].sort());
    // A clone smaller than its source is refused, and leaves nothing behind.
    await assert.rejects(backend.cloneVolume(randomUUID(), clone, 1), /larger than the 1 GiB volume/);
    assert.equal(readdirSync(join(dir, 'volumes')).filter((n) => n.endsWith('.part')).length, 0);
    const connection = await backend.initializeConnection(id, { host: 'host-a' }, 'rw');
    assert.deepEqual(connection, {
      driver_volume_type: 'file',
      data: { device_path: path, format: 'qcow2', volume_id: id, access_mode: 'rw', online_extend: true, qos_specs: null, encrypted: false, discard: true },
    });
    // Another host on another machine cannot open the path; one on this machine (the all-in-one's
    // simulated hosts, by their address) can.
    await assert.rejects(backend.initializeConnection(id, { host: 'host-b' }, 'rw'), /only on their own machine/);
    await assert.rejects(backend.initializeConnection(id, { host: 'host-b', ip: '192.0.2.7' }, 'rw'), /only on their own machine/);
    assert.deepEqual(await backend.initializeConnection(id, { host: 'host-b', ip: '127.0.0.1' }, 'rw'), connection);
    for (const v of [id, fromSnap, clone]) await backend.deleteVolume(v);
    await backend.deleteVolume(id); // twice: still fine
    await backend.deleteSnapshot(snap);
    assert.deepEqual(readdirSync(join(dir, 'volumes')), []);
  });

  it('refuses ids that are not UUIDs before touching a path', async () => {
    await assert.rejects(backend.createVolume('../../etc/passwd', 1), /invalid volume id/);
    await assert.rejects(backend.deleteVolume('x; rm -rf /'), /invalid volume id/);
  });

  it('writes an image fetched over HTTP into a volume, and refuses one that names a backing file', async () => {
    const raw = Buffer.alloc(1 << 20);
    raw.write('HELLO-VOLUME', 0);
    served.set('/raw', raw);
    const id = randomUUID();
    await backend.copyImageToVolume(id, { imageId: 'img', url: `${base}/raw`, headers: { 'x-auth-token': 'tok' }, diskFormat: 'raw', sizeBytes: raw.length }, 1);
    const out = join(dir, 'check.raw');
    execFileSync('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=65536', 'count=1', `if=${join(dir, 'volumes', `volume-${id}.qcow2`)}`, `of=${out}`]);
    assert.equal(readFileSync(out).subarray(0, 12).toString(), 'HELLO-VOLUME');
    rmSync(out);

    // A qcow2 "image" whose backing file is a host file would copy that file into the volume.
    const secret = join(dir, 'host-secret');
    writeFileSync(secret, 'SECRET');
    const evil = join(dir, 'evil.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', evil, '1M']);
    served.set('/evil', readFileSync(evil));
    const refused = randomUUID();
    await assert.rejects(
      backend.copyImageToVolume(refused, { imageId: 'evil', url: `${base}/evil`, headers: { 'x-auth-token': 'tok' }, diskFormat: 'qcow2', sizeBytes: null }, 1),
      /refers to another file/,
    );
    assert.equal(existsSync(join(dir, 'volumes', `volume-${refused}.qcow2`)), false);
    // An image larger than the volume is refused too.
    served.set('/big', Buffer.alloc(0));
    const big = join(dir, 'big.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', big, '2G']);
    served.set('/big', readFileSync(big));
    await assert.rejects(backend.copyImageToVolume(randomUUID(), { imageId: 'big', url: `${base}/big`, headers: { 'x-auth-token': 'tok' }, diskFormat: 'qcow2', sizeBytes: null }, 1), /larger than the 1 GiB volume/);
    await assert.rejects(backend.copyImageToVolume(randomUUID(), { imageId: 'gone', url: `${base}/gone`, headers: { 'x-auth-token': 'tok' }, diskFormat: 'raw', sizeBytes: null }, 1), /answered 404/);
    await backend.deleteVolume(id);
  });

  it('removes half-made files on setup, keeping whole volumes', async () => {
    const whole = randomUUID();
    await backend.createVolume(whole, 1);
    const half = join(dir, 'volumes', `volume-${randomUUID()}.qcow2.part`);
    writeFileSync(half, 'partial');
    const again = new FileBackend({ dir: join(dir, 'volumes'), host: 'host-a', log: createLogger('silent') });
    await again.setup();
    assert.equal(existsSync(half), false);
    assert.deepEqual(await again.listVolumes(), [whole]);
    const stats = await again.stats();
    assert.ok(stats.totalCapacityGb > 0 && stats.freeCapacityGb <= stats.totalCapacityGb);
    assert.equal(stats.volumeCount, 1);
    await again.deleteVolume(whole);
  });
});
