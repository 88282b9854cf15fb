import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand, startProcess } from '../../../../core/host/commands.js';
import { VirtError } from '../driver.js';
import { checkDiskPath } from './qemu-img.js';

/**
 * Which accelerator QEMU gets. KVM is not taken on trust: on nested "PVM" hosts /dev/kvm opens
 * fine and `accel=kvm:tcg` never falls back, yet a stock kernel never gets past its
 * decompressor (docs: guest-lab.md §4). So `auto` boots a real kernel under KVM and takes KVM
 * only when that kernel gets as far as its "no root fs" panic before the deadline.
 *
 * That probe may take its whole deadline (15 s on such a host), so a starting cloud never waits
 * for it: `resolveAccel` answers at once from what is certain without a boot (no usable
 * /dev/kvm means TCG) or from the answer cached for this kernel, QEMU and /dev/kvm device, and
 * otherwise hands back the probe still running, at a low CPU priority, whose answer it caches.
 */

export type Accel = 'kvm' | 'tcg';
export interface AccelChoice {
  accel: Accel;
  reason: string;
}

const DEFAULT_BINARY = 'qemu-system-x86_64';
const DEFAULT_DEADLINE_MS = 15_000;
const KVM_DEVICE = '/dev/kvm';
const BOOT_DIR = '/boot';
const POLL_MS = 100;
/** What a kernel prints on reaching the end of its boot without a root fs. */
const BANNER = 'Linux version';
const REACHED_ROOT_MOUNT = /Kernel panic|VFS: Unable to mount root fs/;

/** auto's answers, one probe per binary for the life of the process. */
const autoAnswers = new Map<string, Promise<AccelChoice>>();

export async function chooseAccel(wanted: 'auto' | 'kvm' | 'tcg', opts: { binary?: string; deadlineMs?: number } = {}): Promise<AccelChoice> {
  const binary = opts.binary ?? DEFAULT_BINARY;
  if (binary !== DEFAULT_BINARY) checkDiskPath('QEMU binary', binary);
  switch (wanted) {
    case 'tcg':
      return { accel: 'tcg', reason: 'TCG was asked for' };
    case 'kvm': {
      const problem = await kvmDeviceProblem();
      if (problem !== undefined) throw new VirtError(`KVM was asked for, but ${problem}`);
      return { accel: 'kvm', reason: `KVM was asked for and ${KVM_DEVICE} opens read-write` };
    }
    case 'auto': {
      let answer = autoAnswers.get(binary);
      if (!answer) {
        answer = probeAuto(binary, opts.deadlineMs ?? DEFAULT_DEADLINE_MS);
        autoAnswers.set(binary, answer);
      }
      return answer;
    }
    default:
      throw new VirtError(`accelerator ${JSON.stringify(wanted)} is not auto, kvm or tcg`);
  }
}

/** An answer known now, or the KVM probe still running (stop it with `abort`). */
export type AccelResolution = { known: AccelChoice } | { probing: Promise<AccelChoice>; abort(): void };

/** What a cached answer holds for: the running kernel, the QEMU binary's version and the /dev/kvm device node. */
export interface AccelCacheKey {
  kernel: string;
  qemu: string;
  kvm: string;
}

export async function accelCacheKey(binary: string = DEFAULT_BINARY): Promise<AccelCacheKey> {
  let qemu: string;
  try {
    qemu = (await runCommand([binary, '--version'], { timeoutMs: 10_000 })).split('\n')[0]?.trim() ?? '';
  } catch (error) {
    qemu = `unknown: ${(error as Error).message}`;
  }
  let kvm = 'absent';
  try {
    // A node made anew (a reboot, the module reloaded) has another inode or change time.
    const node = await stat(KVM_DEVICE);
    kvm = `${node.rdev}:${node.ino}:${Math.trunc(node.ctimeMs)}`;
  } catch {
    // absent
  }
  return { kernel: release(), qemu, kvm };
}

interface CachedAnswer {
  key: AccelCacheKey;
  choice: AccelChoice;
  probedAt: string;
}

async function readCachedAnswer(file: string, key: AccelCacheKey): Promise<AccelChoice | undefined> {
  let cached: CachedAnswer;
  try {
    cached = JSON.parse(await readFile(file, 'utf8')) as CachedAnswer;
  } catch {
    return undefined;
  }
  const same = cached.key?.kernel === key.kernel && cached.key.qemu === key.qemu && cached.key.kvm === key.kvm;
  const accel = cached.choice?.accel;
  if (!same || (accel !== 'kvm' && accel !== 'tcg') || typeof cached.choice.reason !== 'string') return undefined;
  return { accel, reason: `${cached.choice.reason} (probed ${cached.probedAt}, answer kept in ${file})` };
}

async function writeCachedAnswer(file: string, key: AccelCacheKey, choice: AccelChoice): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  const answer: CachedAnswer = { key, choice, probedAt: new Date().toISOString() };
  await writeFile(partial, `${JSON.stringify(answer, null, 2)}\n`);
  await rename(partial, file);
}

/**
 * `chooseAccel` for a starting cloud: `kvm` and `tcg` as there; `auto` answers at once when
 * /dev/kvm cannot be used or an answer for this kernel, QEMU and device is cached in
 * `cacheFile`, and otherwise starts the probe in the background (at a low CPU priority, so the
 * cloud starting beside it keeps the CPU) and caches its answer once it has one.
 */
export async function resolveAccel(
  wanted: 'auto' | 'kvm' | 'tcg',
  opts: {
    binary?: string;
    deadlineMs?: number;
    cacheFile: string;
    /** The probe's QEMU starts once this settles (a cloud starts first), or at once. */
    probeAfter?: Promise<unknown>;
  },
): Promise<AccelResolution> {
  if (wanted !== 'auto') return { known: await chooseAccel(wanted, opts) };
  const binary = opts.binary ?? DEFAULT_BINARY;
  if (binary !== DEFAULT_BINARY) checkDiskPath('QEMU binary', binary);
  checkDiskPath('accelerator cache', opts.cacheFile);
  const problem = await kvmDeviceProblem();
  if (problem !== undefined) return { known: { accel: 'tcg', reason: `${problem}, so TCG` } };
  const key = await accelCacheKey(binary);
  const cached = await readCachedAnswer(opts.cacheFile, key);
  if (cached) return { known: cached };
  const controller = new AbortController();
  const stopped = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  const probing = Promise.race([(opts.probeAfter ?? Promise.resolve()).catch(() => undefined), stopped]).then(async () => {
    if (controller.signal.aborted) return { accel: 'tcg' as const, reason: 'the KVM probe was stopped before it ran, so TCG' };
    return probeAuto(binary, opts.deadlineMs ?? DEFAULT_DEADLINE_MS, { signal: controller.signal, lowPriority: true });
  }).then(async (choice) => {
    // An answer cut short by a stop says nothing about the host: it is not kept.
    if (!controller.signal.aborted) await writeCachedAnswer(opts.cacheFile, key, choice).catch(() => undefined);
    return choice;
  });
  return { probing, abort: () => controller.abort() };
}

async function probeAuto(binary: string, deadlineMs: number, background: { signal?: AbortSignal; lowPriority?: boolean } = {}): Promise<AccelChoice> {
  const problem = await kvmDeviceProblem();
  if (problem !== undefined) return { accel: 'tcg', reason: `${problem}, so TCG` };
  const kernel = await newestKernel();
  if (kernel === undefined) {
    return { accel: 'tcg', reason: `no kernel under ${BOOT_DIR} to prove KVM with (apt: linux-image-amd64), so TCG` };
  }
  let probe: BootProbe;
  try {
    probe = await probeKernelBoot({ accel: 'kvm', kernel, binary, deadlineMs, ...background });
  } catch (error) {
    // The answer is kept for the process: a probe that could not run must still give one.
    return { accel: 'tcg', reason: `the KVM probe could not run, so TCG: ${(error as Error).message}` };
  }
  if (probe.booted) return { accel: 'kvm', reason: `KVM booted ${kernel} to its root-fs panic in ${probe.ms} ms` };
  return { accel: 'tcg', reason: `KVM did not prove itself, so TCG: ${probe.detail}` };
}

/** Why /dev/kvm cannot be used, or undefined when it opens read-write. */
async function kvmDeviceProblem(): Promise<string | undefined> {
  try {
    const handle = await open(KVM_DEVICE, constants.O_RDWR);
    await handle.close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return code === 'ENOENT' ? `${KVM_DEVICE} does not exist` : `${KVM_DEVICE} does not open read-write (${code})`;
  }
}

/** The newest /boot/vmlinuz-<version>, by version order. */
export async function newestKernel(bootDir = BOOT_DIR): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(bootDir);
  } catch {
    return undefined;
  }
  const versions = names
    .map((name) => /^vmlinuz-([A-Za-z0-9._+-]+)$/.exec(name)?.[1])
    .filter((version): version is string => version !== undefined)
    .sort(compareVersions);
  const newest = versions.at(-1);
  return newest === undefined ? undefined : join(bootDir, `vmlinuz-${newest}`);
}

/** Orders "6.1.0-56-amd64" before "6.1.0-9999-amd64" before "6.10.0-1-amd64". */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

export interface BootProbe {
  /** The kernel printed its banner and reached its root-fs panic before the deadline. */
  booted: boolean;
  ms: number;
  detail: string;
  /** The probe QEMU's pid (ended before the probe returns). */
  pid: number | undefined;
}

/**
 * Boots `kernel` with no root fs under `accel` and watches its serial console until it
 * panics, QEMU exits, or the deadline passes (then QEMU is killed by its pid).
 */
export async function probeKernelBoot(opts: {
  accel: Accel;
  kernel: string;
  binary?: string;
  deadlineMs: number;
  /** Ends the probe early (its QEMU is killed); the answer is then "did not boot". */
  signal?: AbortSignal;
  /** Runs QEMU at the lowest CPU priority (nice 19): a probe in the background of a start. */
  lowPriority?: boolean;
}): Promise<BootProbe> {
  const binary = opts.binary ?? DEFAULT_BINARY;
  if (binary !== DEFAULT_BINARY) checkDiskPath('QEMU binary', binary);
  checkDiskPath('kernel', opts.kernel);
  if (!Number.isInteger(opts.deadlineMs) || opts.deadlineMs < 1 || opts.deadlineMs > 600_000) {
    throw new VirtError(`probe deadline must be 1 to 600000 ms, not ${opts.deadlineMs}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'kumo-accel-probe-'));
  try {
    const serial = join(dir, 'serial.log');
    checkDiskPath('probe serial log', serial);
    const args = [
      '-accel', opts.accel,
      '-machine', 'pc',
      '-m', '128',
      '-nodefaults',
      '-display', 'none',
      '-serial', `file:${serial}`,
      '-kernel', opts.kernel,
      // panic=-1 reboots at once on the panic; -no-reboot turns that into QEMU exiting.
      '-append', 'console=ttyS0 panic=-1',
      '-no-reboot',
    ];
    return await watchBoot(binary, args, serial, opts);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function watchBoot(
  binary: string,
  args: string[],
  serial: string,
  opts: { deadlineMs: number; accel: Accel; signal?: AbortSignal; lowPriority?: boolean },
): Promise<BootProbe> {
  const { deadlineMs, accel, signal } = opts;
  const started = Date.now();
  const child = startProcess([binary, ...args], opts.lowPriority ? { niceness: 19 } : {});
  const exit = child.exited;
  const pid = child.pid;
  const elapsed = () => Date.now() - started;
  const readConsole = async () => readFile(serial, 'utf8').catch(() => '');
  try {
    let output = '';
    while (!child.hasExited && elapsed() < deadlineMs && signal?.aborted !== true) {
      output = await readConsole();
      if (output.includes(BANNER) && REACHED_ROOT_MOUNT.test(output)) {
        return { booted: true, ms: elapsed(), detail: 'the kernel reached its root-fs panic', pid };
      }
      await Promise.race([exit, sleep(POLL_MS)]);
    }
    output = await readConsole();
    const ms = elapsed();
    if (output.includes(BANNER) && REACHED_ROOT_MOUNT.test(output)) {
      return { booted: true, ms, detail: 'the kernel reached its root-fs panic', pid };
    }
    const startError = child.hasExited ? (await exit).error : undefined;
    if (startError) return { booted: false, ms, detail: `${binary} did not start: ${startError.message}`, pid };
    if (signal?.aborted === true && !child.hasExited) return { booted: false, ms, detail: `the probe was stopped after ${ms} ms`, pid };
    if (child.hasExited) {
      const why = child.stderrTail().trim().split('\n').slice(-2).join(' ') || `no kernel banner on the console`;
      return { booted: false, ms, detail: `QEMU (-accel ${accel}) exited after ${ms} ms: ${why}`, pid };
    }
    const seen = output.includes(BANNER) ? 'the kernel started but did not reach its root-fs panic' : 'the kernel printed nothing';
    return { booted: false, ms, detail: `${seen} within ${deadlineMs} ms (a nested PVM /dev/kvm behaves like this)`, pid };
  } finally {
    child.kill('SIGKILL');
    await exit;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** QEMU's version in Nova's form (nova.virt.libvirt: major * 1000000 + minor * 1000 + micro). */
export async function qemuVersion(binary: string = DEFAULT_BINARY): Promise<number> {
  if (binary !== DEFAULT_BINARY) checkDiskPath('QEMU binary', binary);
  let stdout: string;
  try {
    stdout = await runCommand([binary, '--version'], { timeoutMs: 10_000 });
  } catch (error) {
    throw new VirtError(`${binary} --version failed: ${(error as Error).message}`);
  }
  const match = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(stdout);
  if (!match) throw new VirtError(`${binary} --version printed no version: ${stdout.slice(0, 120)}`);
  return Number(match[1]) * 1_000_000 + Number(match[2]) * 1_000 + Number(match[3] ?? 0);
}
