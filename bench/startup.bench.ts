/**
 * `kumo up` to its first token, with the qemu driver and `--accel auto` on this host, whose
 * /dev/kvm may not boot a kernel (the probe then takes its whole 15 s deadline): on a fresh
 * data directory and on a warm one (second start), with the KVM probe's answer cached in the
 * state directory and not. Each start is a real child process; the clock runs from its spawn to
 * the first answer of the API (GET /identity/v3), to the first 201 of POST /v3/auth/tokens for
 * admin (polled every 10 ms; a bcrypt check at cost 12 each) and, on a fresh directory, to the
 * compute service being listed (the host registers once the accelerator is known). The dataplane is noop, so nothing is made on the host beyond the
 * probe's QEMU. BENCH_STARTUP_RUNS (default 3) starts per case; prints medians. Asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveAccel } from '../src/agents/compute/virt/qemu/accel.js';
import { freePort, KUMO_MAIN } from './lib/kumo-process.js';
import { table } from './lib/load.js';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);
const PASSWORD = 'bench-admin-secret';
const REGISTER_CAP_MS = 40_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tokenOnce(url: string): Promise<{ status: number; token?: string }> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: PASSWORD } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  await response.arrayBuffer();
  const token = response.headers.get('x-subject-token');
  return token ? { status: response.status, token } : { status: response.status };
}

/** CPU time a process has used so far (all its threads: bcrypt runs in the libuv pool), from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime (fields 14 and 15) in clock ticks, 100 a second on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Start {
  answerMs: number;
  tokenMs: number;
  /** CPU time `kumo up` had used when the token came: what the start costs, whatever else runs. */
  tokenCpuMs: number;
  bannerMs: number;
  registeredMs: number | undefined;
  accel: string;
}

async function startOnce(dataDir: string, stateDir: string): Promise<Start> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = join(dataDir, `..`, `${port}.log`);
  const fd = openSync(log, 'a');
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [KUMO_MAIN, 'up', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], {
    env: {
      ...process.env,
      KUMO_COMPUTE_DRIVER: 'qemu',
      KUMO_ACCEL: 'auto',
      KUMO_DATAPLANE: 'noop',
      KUMO_DATAPLANE_STATE_DIR: stateDir,
      KUMO_GUEST_IMAGE: 'skip',
      KUMO_METADATA_PORT: '0',
      KUMO_ADMIN_PASSWORD: PASSWORD,
    },
    stdio: ['ignore', fd, fd],
  });
  const elapsed = () => performance.now() - started;
  try {
    const gone = () => new Error(`kumo up gave no token:\n${readFileSync(log, 'utf8').slice(-2000)}`);
    const deadline = Date.now() + 30_000;
    let answerMs = NaN;
    // First any answer at all (the version document: no bcrypt), then the first token.
    while (Number.isNaN(answerMs)) {
      if (child.exitCode !== null || Date.now() > deadline) throw gone();
      try {
        const r = await fetch(`${url}/identity/v3`);
        await r.arrayBuffer();
        answerMs = elapsed();
      } catch {
        await sleep(10); // not listening yet
      }
    }
    let token: string | undefined;
    let tokenMs = NaN;
    let tokenCpuMs = NaN;
    while (token === undefined) {
      if (child.exitCode !== null || Date.now() > deadline) throw gone();
      const r = await tokenOnce(url);
      if (r.status === 201) {
        token = r.token;
        tokenMs = elapsed();
        tokenCpuMs = cpuMs(child.pid as number);
      } else await sleep(10); // the bootstrap users are still being made
    }
    let registeredMs: number | undefined;
    for (const deadline = Date.now() + REGISTER_CAP_MS; registeredMs === undefined && Date.now() < deadline; ) {
      const r = await fetch(`${url}/compute/v2.1/os-services?binary=nova-compute`, { headers: { 'x-auth-token': token as string } });
      const body = (await r.json()) as { services?: unknown[] };
      if ((body.services?.length ?? 0) > 0) registeredMs = elapsed();
      else await sleep(100);
    }
    // The banner comes once the start is over, which may be after the host registered.
    let text = readFileSync(log, 'utf8');
    for (const deadline = Date.now() + 10_000; !/started in \d+ ms/.test(text) && Date.now() < deadline; text = readFileSync(log, 'utf8')) await sleep(50);
    const bannerMs = Number(/started in (\d+) ms/.exec(text)?.[1] ?? NaN);
    const accel = /accel (pending|kvm|tcg)/.exec(text)?.[1] ?? '?';
    return { answerMs, tokenMs, tokenCpuMs, bannerMs, registeredMs, accel };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(log, { force: true });
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kumo-bench-startup-'));
  try {
    const probeState = join(work, 'probe-state');
    const here = await resolveAccel('auto', { cacheFile: join(probeState, 'accel.json') });
    let kvm = 'known at once';
    if ('probing' in here) {
      const started = Date.now();
      const answer = await here.probing;
      kvm = `${answer.accel} after a ${((Date.now() - started) / 1000).toFixed(1)} s probe: ${answer.reason}`;
    } else kvm = `${here.known.accel}: ${here.known.reason}`;
    const cases: Array<{ name: string; warm: boolean; cached: boolean }> = [
      { name: 'fresh data dir, probe not cached', warm: false, cached: false },
      { name: 'fresh data dir, probe cached', warm: false, cached: true },
      { name: 'warm data dir, probe not cached', warm: true, cached: false },
      { name: 'warm data dir, probe cached', warm: true, cached: true },
    ];
    const rows: Array<Array<string | number>> = [];
    for (const c of cases) {
      const samples: Start[] = [];
      for (let i = 0; i < RUNS; i += 1) {
        const dir = mkdtempSync(join(work, 'run-'));
        const dataDir = join(dir, 'data');
        const stateDir = join(dir, 'state');
        if (c.warm) await startOnce(dataDir, stateDir); // the first start, not measured
        rmSync(join(stateDir, 'accel.json'), { force: true });
        if (c.cached) {
          // The answer this host's probe gave, kept where the start looks for it.
          mkdirSync(stateDir, { recursive: true });
          if (existsSync(join(probeState, 'accel.json'))) cpSync(join(probeState, 'accel.json'), join(stateDir, 'accel.json'));
        }
        samples.push(await startOnce(dataDir, stateDir));
        rmSync(dir, { recursive: true, force: true });
      }
      // A warm start finds the earlier start's service record: only a fresh one shows registering.
      const registered = samples.map((s) => s.registeredMs ?? Infinity);
      rows.push([
        c.name,
        median(samples.map((s) => s.answerMs)),
        median(samples.map((s) => s.tokenMs)),
        median(samples.map((s) => s.tokenCpuMs)),
        median(samples.map((s) => s.bannerMs)),
        c.warm ? '(listed from the earlier start)' : median(registered) === Infinity ? `> ${REGISTER_CAP_MS / 1000} s` : median(registered),
        [...new Set(samples.map((s) => s.accel))].join(', '),
        loadavg()[0]?.toFixed(2) ?? '?',
      ]);
    }
    process.stdout.write(`### kumo up to the first token, qemu driver, --accel auto (median of ${RUNS})\n\n`);
    process.stdout.write(`/dev/kvm here: ${kvm}\n\n`);
    process.stdout.write(
      `${table(['start', 'API answers ms', 'first token ms', 'kumo CPU ms to the token', 'banner "started in" ms', 'compute host registered ms', 'accel in the banner', 'load average'], rows)}\n\n`,
    );
    process.stdout.write(
      'The clock starts at the spawn of `node dist/kumo.mjs up` (the bundle `npm start` runs) (Node\'s own start included). Target: first token under 1 s in every case. ' +
        'The CPU column is user+system time of the kumo process (every thread) when the token came: on a machine that other work keeps busy (the load average, 1 min, after the case) it is the figure that does not move.\n',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
