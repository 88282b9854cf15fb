/**
 * Real QEMU guests (kumo-tiny) under a real `kumo up` with the qemu driver, as root in a
 * network lab of namespaces (nothing on the real host). One guest at a time, each deleted
 * before the next, each run BENCH_QEMU_BOOTS times (default 5; medians):
 *  1. a bare QEMU boot of the same image, no Kumo: `qemu-system-x86_64 -accel tcg -m 128
 *     -nodefaults` with a serial log, QEMU start to the ready line; the same under KVM where
 *     the driver's probe (KUMO_ACCEL=auto) takes KVM, else the probe's reason;
 *  2. Kumo, a guest without a NIC (the bare boot's twin): POST /servers to ACTIVE and to the
 *     ready line in its console.log, and the ratio to the bare boot;
 *  3. Kumo, a guest on a tenant network (DHCP and metadata before the ready line);
 *  4. the QEMU RSS (VmRSS) of an m1.nano guest at its ready line;
 *  5. the first boot on a cold image cache (empty `_base`) against the second, on a warm one.
 * Prints tables; asserts nothing. Skips (saying why) without root, QEMU or kumo-tiny's tools.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chooseAccel } from '../src/agents/compute/virt/qemu/accel.js';
import { table } from './lib/load.js';
import { startKumo } from './lib/kumo-process.js';
import {
  countReadyLines,
  instanceDir,
  KumoRest,
  kumoTinyFile,
  QEMU,
  QemuLab,
  qemuPrerequisites,
  readPid,
  rssKiB,
  runtimeDir,
  sleep,
} from '../test/e2e/helpers/qemu-guests.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_QEMU_BOOTS ?? 5);
const READY_TIMEOUT_MS = 120_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));
const mib = (kib: number) => Number((kib / 1024).toFixed(1));

/** Waits until the file holds a ready line; resolves with the time it was seen (performance.now()). */
async function readyIn(file: string, timeoutMs: number, gone?: () => string | undefined): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // not written yet
    }
    if (countReadyLines(text) >= 1) return performance.now();
    const why = gone?.();
    if (why) throw new Error(`${why}; console ends:\n${text.split('\n').slice(-15).join('\n')}`);
    if (performance.now() > deadline) throw new Error(`no ready line in ${file} within ${timeoutMs / 1000} s; it ends:\n${text.split('\n').slice(-15).join('\n')}`);
    await sleep(50);
  }
}

interface BareBoot {
  readyMs: number;
  rssKiB: number;
}

/** QEMU on a copy-on-write overlay of the image, as the brief's reference boot; killed (by pid) at its ready line. */
async function bareBoot(image: string, accel: 'tcg' | 'kvm', timeoutMs = READY_TIMEOUT_MS): Promise<BareBoot> {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-bare-'));
  let child: ChildProcess | undefined;
  try {
    const disk = join(dir, 'disk.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image, disk]);
    const log = join(dir, 'console.log');
    let stderr = '';
    let exit: string | undefined;
    const started = performance.now();
    child = spawn(QEMU, [
      '-accel', accel, '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none',
      '-drive', `file=${disk},format=qcow2,if=virtio`,
      '-chardev', `file,id=serial0,path=${log}`, '-serial', 'chardev:serial0',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code, signal) => (exit = `qemu exited (code ${code}, signal ${signal}): ${stderr.trim()}`));
    const ready = await readyIn(log, timeoutMs, () => exit);
    return { readyMs: ready - started, rssKiB: rssKiB(child.pid as number) };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** KVM's bare boot where the driver's own probe (KUMO_ACCEL=auto) would take KVM; else the probe's reason. */
async function kvmBoot(image: string): Promise<{ usable: true; boot: BareBoot } | { usable: false; reason: string }> {
  const choice = await chooseAccel('auto');
  if (choice.accel !== 'kvm') return { usable: false, reason: choice.reason };
  return { usable: true, boot: await bareBoot(image, 'kvm') };
}

interface KumoBoot {
  activeMs: number;
  readyMs: number;
  rssKiB: number;
}

async function main(): Promise<void> {
  const prerequisites = await qemuPrerequisites({ cli: false });
  if (prerequisites.missing.length > 0) {
    process.stdout.write(`qemu bench skipped: it needs ${prerequisites.missing.join('; ')}\n`);
    return;
  }
  const image = await kumoTinyFile();

  const bare: BareBoot[] = [];
  for (let i = 0; i < RUNS; i += 1) bare.push(await bareBoot(image, 'tcg'));
  const kvm = await kvmBoot(image);

  const qlab = await QemuLab.create();
  const kumo = await startKumo(qlab.kumoEnv({ KUMO_CACHE_DIR: dirname(image), KUMO_LOG_LEVEL: 'warn' }));
  try {
    const rest = new KumoRest(kumo.url, kumo.dataDir);
    const kumoTiny = await rest.waitImage('kumo-tiny');
    const flavorId = '42'; // m1.nano, seeded
    const network = await rest.call('POST', '/networking/v2.0/networks', { network: { name: 'bench' } }, { user: 'admin' });
    const networkId = network.json.network.id as string;
    await rest.call('POST', '/networking/v2.0/subnets', { subnet: { network_id: networkId, cidr: '10.92.0.0/24', ip_version: 4 } }, { user: 'admin' });

    let n = 0;
    const boot = async (networks: 'none' | string): Promise<KumoBoot> => {
      n += 1;
      const started = performance.now();
      const created = await rest.call(
        'POST', '/compute/v2.1/servers',
        { server: { name: `bench-${n}`, imageRef: kumoTiny.id, flavorRef: flavorId, networks: networks === 'none' ? 'none' : [{ uuid: networks }] } },
        { user: 'admin', microversion: '2.37' },
      );
      if (created.status !== 202) throw new Error(`POST /servers: HTTP ${created.status} ${created.text}`);
      const id = created.json.server.id as string;
      let activeMs = NaN;
      const deadline = performance.now() + READY_TIMEOUT_MS;
      while (Number.isNaN(activeMs)) {
        const server = await rest.server(id, 'admin');
        if (server?.status === 'ACTIVE') activeMs = performance.now() - started;
        else if (server?.status === 'ERROR') throw new Error(`bench-${n} went to ERROR: ${JSON.stringify(server.fault)}`);
        else if (performance.now() > deadline) throw new Error(`bench-${n} not ACTIVE within ${READY_TIMEOUT_MS / 1000} s`);
        else await sleep(50);
      }
      const ready = await readyIn(join(instanceDir(kumo.dataDir, id), 'console.log'), READY_TIMEOUT_MS);
      const pid = readPid(join(runtimeDir(qlab.stateDir, id), 'qemu.pid'));
      const rss = pid === undefined ? NaN : rssKiB(pid);
      await rest.call('DELETE', `/compute/v2.1/servers/${id}`, undefined, { user: 'admin' });
      await rest.waitStatus(id, 'DELETED', 60_000, 100);
      return { activeMs, readyMs: ready - started, rssKiB: rss };
    };

    const base = join(kumo.dataDir, 'instances', '_base');
    const cacheWasEmpty = !existsSync(base) || readdirSync(base).length === 0;
    const cold = await boot('none');
    const noNic: KumoBoot[] = [];
    for (let i = 0; i < RUNS; i += 1) noNic.push(await boot('none'));
    const warm = noNic[0] as KumoBoot;
    const withNic: KumoBoot[] = [];
    for (let i = 0; i < RUNS; i += 1) withNic.push(await boot(networkId));

    const bareReady = median(bare.map((b) => b.readyMs));
    const kumoReady = median(noNic.map((b) => b.readyMs));
    const rows: Array<Array<string | number>> = [
      ['bare QEMU, TCG, no NIC (QEMU start to ready)', '–', seconds(bareReady), mib(median(bare.map((b) => b.rssKiB)))],
      kvm.usable
        ? ['bare QEMU, KVM, no NIC', '–', seconds(kvm.boot.readyMs), mib(kvm.boot.rssKiB)]
        : ['bare QEMU, KVM', '–', `KVM unusable here: ${kvm.reason}`, '–'],
      ['Kumo, m1.nano, no NIC (from POST /servers)', seconds(median(noNic.map((b) => b.activeMs))), seconds(kumoReady), mib(median(noNic.map((b) => b.rssKiB)))],
      ['Kumo, m1.nano, tenant network, DHCP + metadata (from POST /servers)', seconds(median(withNic.map((b) => b.activeMs))), seconds(median(withNic.map((b) => b.readyMs))), mib(median(withNic.map((b) => b.rssKiB)))],
    ];
    const cache: Array<Array<string | number>> = [
      [`first boot, cold cache${cacheWasEmpty ? ' (empty _base)' : ' (_base was NOT empty)'}`, seconds(cold.activeMs), seconds(cold.readyMs)],
      ['second boot, warm cache', seconds(warm.activeMs), seconds(warm.readyMs)],
    ];
    process.stdout.write([
      `### kumo-tiny boots, TCG, one guest at a time (median of ${RUNS})`,
      '',
      table(['boot', 'to ACTIVE s', 'to ready line s', 'QEMU RSS MiB at ready'], rows),
      '',
      `Kumo (no NIC) / bare QEMU, to the ready line: **${(kumoReady / bareReady).toFixed(2)}x**. ACTIVE comes once QEMU runs, as in Nova;`,
      'the guest boots after that. Kumo\'s QEMU runs with `-accel tcg,tb-size=32` (a smaller translation cache), the bare one with the default.',
      '',
      '### Image cache (Kumo, no NIC)',
      '',
      table(['boot', 'to ACTIVE s', 'to ready line s'], cache),
      '',
    ].join('\n'));
  } finally {
    await kumo.stop();
    await qlab.cleanup();
  }
}

await main();
