/**
 * Volume hot-plug on a real guest (kumo-tiny, TCG) through the qemu virt driver, no API in
 * between: one guest, BENCH_VOLUME_CYCLES attach/detach cycles (default 10) of each of two
 * volumes in one run: a qcow2 file (the file backend's connection) and the nbd backend's export
 * (qemu-storage-daemon, NBD over TCP with TLS-PSK on loopback). For each: the attach call (blockdev-add + device_add), until the guest has
 * /dev/vdb (a script on its serial console prints a line when the disk appears), and the
 * detach call (device_del until DEVICE_DELETED, then blockdev-del). Prints a table of
 * medians and p90s; asserts nothing. Skips without root, QEMU or kumo-tiny's tools. Run it
 * under `flock /work/hostlab.lock`.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { imageCacheDirOf, QemuDriver } from '../src/agents/compute/virt/qemu/driver.js';
import { ImageCache } from '../src/agents/compute/virt/qemu/image-cache.js';
import { NbdBackend } from '../src/agents/volume/backends/nbd/nbd.js';
import type { ConnectionInfo } from '../src/contracts/volume.js';
import { createLogger } from '../src/core/log.js';
import { guestImage, qemuSuitePrerequisites } from '../test/helpers/guest-image.js';
import { table } from './lib/load.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CYCLES = Number(process.env.BENCH_VOLUME_CYCLES ?? 10);

const { skip, missing } = await qemuSuitePrerequisites();
if (skip || missing) {
  console.log(`volume-attach bench skipped: ${skip || missing}`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'kumo-bench-volume-'));
const dataDir = join(work, 'data');
const image = await guestImage();
const driver = new QemuDriver({
  dataDir,
  stateDir: join(work, 'run'),
  cloudId: 'bebe00',
  host: 'bench',
  accel: 'tcg',
  images: new ImageCache({ dir: imageCacheDirOf(dataDir), source: { download: async () => ({ data: createReadStream(image), diskFormat: 'qcow2', checksum: null }) } }),
  stopTimeoutMs: 10_000,
});
const id = randomUUID();
const volumeId = randomUUID();
const nbdVolumeId = randomUUID();
const nbd = new NbdBackend({ dir: join(work, 'nbd'), runDir: join(work, 'run', 'volume-nbd', 'bench'), address: '127.0.0.1', pskIdentity: 'kumo-bench', log: createLogger('silent') });
const volumePath = join(work, 'volumes', `volume-${volumeId}.qcow2`);
const consoleText = async () => (await readFile(join(dataDir, 'instances', id, 'console.log'), 'utf8').catch(() => '')).replace(/\r/g, '');
async function waitFor(pattern: RegExp, from: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test((await consoleText()).slice(from))) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

try {
  mkdirSync(join(work, 'volumes'));
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', volumePath, '64M']);
  await driver.spawn({ id, name: 'bench', projectId: 'p', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, imageId: '6f8a0a36-30a4-4d2b-9a1e-333333333333', metadata: {}, nics: [], configDrive: false });
  await waitFor(/^kumo-tiny ready/m, 0, 180_000);
  // A watcher in the guest: one line each time vdb appears or goes.
  const socket = connect(driver.serialSocketPath(id));
  socket.resume();
  await new Promise((resolve) => socket.once('connect', resolve));
  const from0 = (await consoleText()).length;
  for (let i = 0; i < 10 && !/watching-1/.test((await consoleText()).slice(from0)); i++) {
    socket.write('\x15(s=0; while true; do if [ -b /dev/vdb ]; then n=1; else n=0; fi; [ $n != $s ] && echo "vdb-now-$n"; s=$n; sleep 0.05; done) & echo watching-$((0+1))\r');
    await sleep(2000);
  }
  await nbd.setup();
  await nbd.createVolume(nbdVolumeId, 1);
  const connector = { host: 'bench', instance: id };
  const volumes: Array<{ backend: string; volumeId: string; connectionInfo: ConnectionInfo }> = [
    { backend: 'file', volumeId, connectionInfo: { driver_volume_type: 'file', data: { device_path: volumePath, format: 'qcow2', volume_id: volumeId, access_mode: 'rw', online_extend: true } } },
    { backend: 'nbd', volumeId: nbdVolumeId, connectionInfo: await nbd.initializeConnection(nbdVolumeId, connector, 'rw') },
  ];
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return [s[Math.floor((s.length - 1) / 2)] as number, s[Math.min(s.length - 1, Math.ceil(0.9 * (s.length - 1)))] as number];
  };
  const rows: Array<[string, number, number]> = [];
  for (const volume of volumes) {
    const attach: number[] = [];
    const seen: number[] = [];
    const detach: number[] = [];
    const gone: number[] = [];
    for (let i = 0; i < CYCLES; i++) {
      let from = (await consoleText()).length;
      let t0 = Date.now();
      await driver.attachVolume(id, { volumeId: volume.volumeId, connectionInfo: volume.connectionInfo });
      attach.push(Date.now() - t0);
      await waitFor(/vdb-now-1/, from, 60_000);
      seen.push(Date.now() - t0);
      from = (await consoleText()).length;
      t0 = Date.now();
      await driver.detachVolume(id, volume.volumeId);
      detach.push(Date.now() - t0);
      await waitFor(/vdb-now-0/, from, 60_000);
      gone.push(Date.now() - t0);
    }
    rows.push(
      [`${volume.backend}: attach call (blockdev-add x2, device_add)`, ...(stat(attach) as [number, number])],
      [`${volume.backend}: attach until the guest has /dev/vdb`, ...(stat(seen) as [number, number])],
      [`${volume.backend}: detach call (device_del, DEVICE_DELETED, blockdev-del)`, ...(stat(detach) as [number, number])],
      [`${volume.backend}: detach until /dev/vdb is gone in the guest`, ...(stat(gone) as [number, number])],
    );
  }
  socket.destroy();
  const t0 = Date.now();
  await nbd.terminateConnection(nbdVolumeId, connector);
  const unexport = Date.now() - t0;
  console.log(`\n### Volume hot-plug on a real guest (kumo-tiny, TCG; a qcow2 file volume, then an nbd export), ${CYCLES} cycles each\n`);
  console.log(table(['step', 'median ms', 'p90 ms'], rows));
  console.log(`\nnbd export removed (terminate connection, block-export-del + blockdev-del): ${unexport} ms`);
} finally {
  await driver.destroy(id).catch(() => undefined);
  await driver.close();
  await nbd.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
