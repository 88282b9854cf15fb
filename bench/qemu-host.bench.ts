/**
 * The qemu driver's host-side costs: how long `auto` takes to choose an accelerator (and what a
 * kernel boot probe costs under TCG), and the image path for kumo-tiny: the first fetch from the
 * image service into a host's image cache (md5, fsync, qemu-img checks), a warm ensure, an
 * overlay, and flattening the overlay into a snapshot. Runs a cloud in this process (SQLite,
 * fake compute) with kumo-tiny imported as `kumo up` does (built first when not cached).
 * BENCH_QEMU_RUNS (default 3) repeats each timing; prints medians. Asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { chooseAccel, newestKernel, probeKernelBoot } from '../src/agents/compute/virt/qemu/accel.js';
import { createOverlay, exportDisk } from '../src/agents/compute/virt/qemu/disk.js';
import { ImageCache } from '../src/agents/compute/virt/qemu/image-cache.js';
import { ensureGuestImage, GUEST_IMAGE_NAME } from '../src/cli/guest-image.js';
import { startCloud } from '../src/cloud.js';
import { loadConfig } from '../src/core/config.js';
import { createLogger } from '../src/core/log.js';
import { table } from './lib/load.js';

const RUNS = Number(process.env.BENCH_QEMU_RUNS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function accelFigures(rows: Array<Array<string | number>>): Promise<void> {
  let answer = '';
  const auto = await timed(async () => {
    const choice = await chooseAccel('auto');
    answer = `${choice.accel} (${choice.reason})`;
  });
  rows.push(['chooseAccel(auto), first call', auto, answer]);
  rows.push(['chooseAccel(auto), cached', await timed(() => chooseAccel('auto')), 'per process']);
  const kernel = await newestKernel();
  if (kernel === undefined) {
    rows.push(['boot probe', NaN, 'no /boot/vmlinuz-*']);
    return;
  }
  const probes: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const probe = await probeKernelBoot({ accel: 'tcg', kernel, deadlineMs: 120_000 });
    if (!probe.booted) throw new Error(`TCG probe did not boot: ${probe.detail}`);
    probes.push(probe.ms);
  }
  rows.push([`boot probe under TCG to the root-fs panic (median of ${RUNS})`, median(probes), kernel]);
}

async function imageFigures(rows: Array<Array<string | number>>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-qemu-'));
  const log = createLogger('silent');
  const config = loadConfig({ dataDir, port: 0, logLevel: 'silent', dataplane: { driver: 'noop' }, metadata: { port: 0 } }, {});
  const cloud = await startCloud(config, log, { adminPassword: 'bench-admin', demoPassword: 'bench-demo' });
  try {
    const outcome = await ensureGuestImage(cloud, log);
    if (outcome.state === 'skipped') {
      rows.push(['kumo-tiny', NaN, `skipped: ${outcome.reason}`]);
      return;
    }
    if (outcome.state === 'importing') await outcome.done;
    const images = await cloud.image.records.listVisible({ projectId: null, isAdmin: true }, {});
    const tiny = images.find((image) => image.name === GUEST_IMAGE_NAME && image.status === 'active');
    if (!tiny) throw new Error(`${GUEST_IMAGE_NAME} did not become active`);
    const project = tiny.owner ?? 'bench';
    const mib = ((tiny.size ?? 0) / 1024 / 1024).toFixed(1);

    const cold: number[] = [];
    let cache: ImageCache | undefined;
    for (let i = 0; i < RUNS; i += 1) {
      cache = new ImageCache({ dir: join(dataDir, `base-${i}`), source: cloud.compute.images });
      const fresh = cache;
      cold.push(await timed(() => fresh.ensure(project, tiny.id)));
    }
    rows.push([`first fetch into the cache, ${mib} MiB (median of ${RUNS})`, median(cold), 'md5 while streaming, fsync, rename, qemu-img info']);
    const warmCache = cache as ImageCache;
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i += 1) warm.push(await timed(() => new ImageCache({ dir: join(dataDir, 'base-0'), source: cloud.compute.images }).ensure(project, tiny.id)));
    rows.push(['ensure of a cached image by a new process', median(warm), 're-checked with qemu-img info']);
    const base = await warmCache.ensure(project, tiny.id);

    const overlays: number[] = [];
    const exports: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const overlay = join(dataDir, `disk-${i}.qcow2`);
      overlays.push(await timed(() => createOverlay(base, overlay, 1)));
      exports.push(
        await timed(async () => {
          const exported = await exportDisk(overlay, 'qcow2');
          await pipeline(exported.data, new Writable({ write: (_chunk, _encoding, done) => done() }));
          await exported.cleanup();
        }),
      );
    }
    rows.push(['createOverlay (1 GiB qcow2 on the base)', median(overlays), 'qemu-img create']);
    rows.push(['exportDisk qcow2 (flatten and read)', median(exports), 'qemu-img convert -U, then streamed']);
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  await accelFigures(rows);
  await imageFigures(rows);
  console.log(table(['step', 'ms', 'notes'], rows));
}

await main();
