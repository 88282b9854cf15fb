/**
 * Identity side by side with the real Keystone (Debian's `keystone` package, uwsgi on loopback,
 * SQLite, Fernet, bcrypt cost 12) on the same machine in the same run: token issue, token
 * validation and project listing under the same load, each side's memory (the Kumo process; the
 * uwsgi master and its workers) and the time from launch to the first token. Prints one table
 * per system and one comparison table with ratios; asserts nothing.
 *
 * The load generator is wrk for both sides, not autocannon: uwsgi's http-socket closes the
 * connection after every response without saying so, and autocannon then writes its next request
 * into the closing socket, reconnects and times the retried request from the lost one's start
 * (measured here: p50 twice the mean that Little's law allows). wrk retries on a fresh
 * connection and times the retry itself, so its figures are honest for both servers.
 *
 * When keystone, uwsgi or wrk is missing this prints what to install and exits 0.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KUMO_MAIN, freePort, startKumo } from './lib/kumo-process.js';
import {
  KEYSTONE_INSTALL_HINT,
  missingPeerTools,
  processSetCpuMs,
  processSetMemory,
  setUpKeystone,
  type KeystonePeer,
  type KeystoneServer,
  type KeystoneSetupTimes,
  type ProcessSetMemory,
} from './lib/keystone.js';
import { table } from './lib/load.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** How many launches each start-up figure is the median of. */
const LAUNCHES = Math.max(1, Number(process.env.BENCH_LAUNCHES ?? 3));
const BCRYPT_COST = 12;
const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Load generation (wrk)

interface LoadSpec {
  name: string;
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
}

interface LoadFigures {
  spec: LoadSpec;
  seconds: number;
  /** Responses with a 2xx status, and everything else that came back. */
  ok: number;
  non2xx: number;
  okPerSecond: number;
  /** wrk's latency percentiles over all responses (non2xx says whether any failed), in ms. */
  p50: number;
  p99: number;
  /** Socket errors; `read` counts the server closing a connection wrk meant to reuse. */
  errors: { connect: number; read: number; write: number; timeout: number };
  /** Server CPU (user + system, all its processes) per 2xx response, in ms. */
  cpuMsPerOk: number;
  /**
   * Cores' worth of CPU that processes other than the server, wrk and this script used during
   * the row: the machine is shared, and this says how much the figures were squeezed.
   */
  otherCores: number;
}

interface WrkReport {
  requests: number;
  durationUs: number;
  ok: number;
  bad: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

/** Lua long-bracket string: no escaping needed as long as the text has no `]==]`. */
function luaString(text: string): string {
  if (text.includes(']==]')) throw new Error(`cannot quote for Lua: ${text}`);
  return `[==[${text}]==]`;
}

/**
 * The wrk script: request shape, plus a response hook that splits 2xx from the rest per thread
 * (wrk itself only counts >= 400 as failures) and a done hook that prints one JSON line.
 */
function wrkScript(spec: LoadSpec): string {
  const lines = [`wrk.method = ${luaString(spec.method)}`];
  if (spec.body !== undefined) lines.push(`wrk.body = ${luaString(spec.body)}`);
  for (const [name, value] of Object.entries(spec.headers)) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`); // spaces: `[[` opens a Lua string
  lines.push(
    'local threads = {}',
    'function setup(thread) table.insert(threads, thread) end',
    'function init(args) ok = 0; bad = 0 end',
    'function response(status, headers, body)',
    '  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end',
    'end',
    'function done(summary, latency, requests)',
    '  local o, b = 0, 0',
    '  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end',
    '  io.write(string.format(\'WRKJSON {"requests":%d,"durationUs":%d,"ok":%d,"bad":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n\',',
    '    summary.requests, summary.duration, o, b, summary.errors.connect, summary.errors.read,',
    '    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
  );
  return lines.join('\n') + '\n';
}

async function wrk(spec: LoadSpec, seconds: number, workDir: string): Promise<WrkReport> {
  const script = join(workDir, 'load.lua');
  writeFileSync(script, wrkScript(spec));
  const args = [
    '--threads', String(Math.min(2, spec.connections)),
    '--connections', String(spec.connections),
    '--duration', `${seconds}s`,
    // wrk's default of 2 s would drop Keystone's slowest issues from the latency figures.
    '--timeout', '60s',
    '--script', script,
    spec.url,
  ];
  const { stdout, stderr } = await run('wrk', args, { maxBuffer: 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  // wrk runs on with default requests when the script does not load: never report those.
  if (!line || stderr.trim() !== '') throw new Error(`wrk printed no result:\n${stdout}\n${stderr}`);
  return JSON.parse(line.slice('WRKJSON '.length)) as WrkReport;
}

/** USER_HZ: /proc counts CPU time in ticks of 10 ms on every Linux this runs on. */
const TICK_MS = 10;

/** CPU time the whole machine spent busy so far (user, nice, system, irq, softirq), in ms. */
function machineBusyMs(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) * TICK_MS;
}

/** CPU time of this process plus its finished children (wrk, once reaped), in ms. */
function selfAndChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // utime, stime, cutime, cstime: fields 14-17 of the full line, 12-15 after the name.
  return ((fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0)) * TICK_MS;
}

/**
 * Waits until the server has finished what the previous load left in flight (a c4 issue run
 * leaves up to four bcrypt checks behind), so that work is neither timed nor counted in the next
 * row. Idle means under 20 ms of CPU in each of two consecutive 250 ms windows.
 */
async function quiesce(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let previous = processSetCpuMs(pid);
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = processSetCpuMs(pid);
    quiet = now - previous <= 20 ? quiet + 1 : 0;
    previous = now;
  }
}

/**
 * Runs one load against a server whose process set starts at `pid`, counting its CPU too, once
 * every server in `quiet` (this one and the other side) has gone idle.
 */
async function measure(spec: LoadSpec, pid: number, quiet: number[], workDir: string): Promise<LoadFigures> {
  for (const server of quiet) await quiesce(server);
  const before = { server: processSetCpuMs(pid), machine: machineBusyMs(), self: selfAndChildrenCpuMs(), at: performance.now() };
  const report = await wrk(spec, SECONDS, workDir);
  const server = processSetCpuMs(pid) - before.server;
  const machine = machineBusyMs() - before.machine;
  const self = selfAndChildrenCpuMs() - before.self;
  const wallMs = performance.now() - before.at;
  const seconds = report.durationUs / 1e6;
  return {
    spec,
    seconds,
    ok: report.ok,
    non2xx: report.bad,
    okPerSecond: report.ok / seconds,
    p50: report.p50Us / 1000,
    p99: report.p99Us / 1000,
    errors: { connect: report.connect, read: report.read, write: report.write, timeout: report.timeout },
    cpuMsPerOk: report.ok > 0 ? server / report.ok : NaN,
    otherCores: Math.max(0, machine - server - self) / wallMs,
  };
}

// ---------------------------------------------------------------------------------------------
// The identity calls both sides answer

function authBody(password: string): string {
  return JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    },
  });
}

/** One password login; null while the server is not (yet) answering with 201. */
async function tryIssue(v3: string, password: string): Promise<string | null> {
  try {
    const response = await fetch(`${v3}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: authBody(password),
    });
    await response.arrayBuffer();
    return response.status === 201 ? response.headers.get('x-subject-token') : null;
  } catch {
    return null; // Not listening yet, or uwsgi closed the connection under us.
  }
}

/** Polls until a token is issued; returns it and the time from `startedAt`. */
async function firstToken(v3: string, password: () => string | null, startedAt: number, isAlive: () => boolean): Promise<{ token: string; ms: number }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const pw = password();
    const token = pw === null ? null : await tryIssue(v3, pw);
    if (token) return { token, ms: performance.now() - startedAt };
    if (!isAlive()) throw new Error('the server exited before issuing a token');
    if (Date.now() > deadline) throw new Error('no token within 120 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function loadSpecs(v3: string, password: string, token: string): LoadSpec[] {
  const validate = { 'x-auth-token': token, 'x-subject-token': token };
  return [
    {
      name: 'POST /v3/auth/tokens (password, project scope)',
      url: `${v3}/auth/tokens`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: authBody(password),
      connections: 4,
    },
    { name: 'GET /v3/auth/tokens (validate)', url: `${v3}/auth/tokens`, method: 'GET', headers: validate, connections: 4 },
    { name: 'GET /v3/auth/tokens (validate)', url: `${v3}/auth/tokens`, method: 'GET', headers: validate, connections: 16 },
    { name: 'GET /v3/projects', url: `${v3}/projects`, method: 'GET', headers: { 'x-auth-token': token }, connections: 4 },
  ];
}

/** A few serial requests per endpoint so neither side is measured on its cold path. */
async function warmUp(specs: LoadSpec[]): Promise<void> {
  for (const spec of specs) {
    for (let i = 0; i < 3; i++) {
      try {
        const response = await fetch(spec.url, { method: spec.method, headers: spec.headers, ...(spec.body !== undefined ? { body: spec.body } : {}) });
        await response.arrayBuffer();
      } catch {
        // uwsgi may close a reused connection; the next attempt opens a new one.
      }
    }
  }
}

interface SystemRun {
  loads: LoadFigures[];
  idle: ProcessSetMemory;
  loaded: ProcessSetMemory;
  firstTokenMs: number;
}

/** A running server under test. */
interface Target {
  v3: string;
  password: string;
  pid: number;
  startedAt: number;
  isAlive: () => boolean;
}

/**
 * Both servers run at the same time and their rows alternate (Kumo, Keystone, Kumo, ...), so
 * whatever else the machine is doing during the run falls on both sides alike instead of on
 * whichever happened to run second. Each server is started only once the previous one has issued
 * its first token, so the start-up figures do not compete; every row starts once both are idle.
 */
async function runSideBySide(kumo: Target, keystone: () => Promise<Target>, workDir: string): Promise<[SystemRun, SystemRun]> {
  const kumoFirst = await firstToken(kumo.v3, () => kumo.password, kumo.startedAt, kumo.isAlive);
  const ks = await keystone();
  const ksFirst = await firstToken(ks.v3, () => ks.password, ks.startedAt, ks.isAlive);
  // Let start-up work (lazy imports, JIT, GC) settle before calling the memory idle.
  await new Promise((r) => setTimeout(r, 2000));
  const kumoIdle = processSetMemory(kumo.pid);
  const ksIdle = processSetMemory(ks.pid);
  const kumoSpecs = loadSpecs(kumo.v3, kumo.password, kumoFirst.token);
  const ksSpecs = loadSpecs(ks.v3, ks.password, ksFirst.token);
  await warmUp(kumoSpecs);
  await warmUp(ksSpecs);
  const quiet = [kumo.pid, ks.pid];
  const kumoLoads: LoadFigures[] = [];
  const ksLoads: LoadFigures[] = [];
  for (const [i, spec] of kumoSpecs.entries()) {
    kumoLoads.push(await measure(spec, kumo.pid, quiet, workDir));
    ksLoads.push(await measure(ksSpecs[i] as LoadSpec, ks.pid, quiet, workDir));
  }
  return [
    { loads: kumoLoads, idle: kumoIdle, loaded: processSetMemory(kumo.pid), firstTokenMs: kumoFirst.ms },
    { loads: ksLoads, idle: ksIdle, loaded: processSetMemory(ks.pid), firstTokenMs: ksFirst.ms },
  ];
}

// ---------------------------------------------------------------------------------------------
// Kumo launches (own spawn, so a restart on the same data directory can be timed too)

interface KumoLaunch {
  ms: number;
  stop(): Promise<void>;
}

async function launchKumo(dataDir: string): Promise<KumoLaunch> {
  const port = await freePort();
  const logFd = openSync(join(dataDir, 'kumo.log'), 'a');
  const startedAt = performance.now();
  // Same command and environment as startKumo (bench/lib/kumo-process.ts).
  const child: ChildProcess = spawn(process.execPath, [KUMO_MAIN, 'up', '--data-dir', dataDir, '--port', String(port)], {
    env: { ...process.env, KUMO_GUEST_IMAGE: 'skip', KUMO_DATAPLANE: 'noop', KUMO_COMPUTE_DRIVER: 'fake', KUMO_METADATA_PORT: '0', KUMO_PASSWORD_HASH_ROUNDS: String(BCRYPT_COST) },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  // The bootstrap credentials appear during the first start; on a restart they are already there.
  const password = (): string | null => {
    try {
      return (JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { adminPassword: string }).adminPassword;
    } catch {
      return null;
    }
  };
  try {
    const { ms } = await firstToken(`http://127.0.0.1:${port}/identity/v3`, password, startedAt, () => child.exitCode === null);
    return { ms, stop };
  } catch (error) {
    await stop();
    throw new Error(`kumo up: ${(error as Error).message}\n${readFileSync(join(dataDir, 'kumo.log'), 'utf8').slice(-2000)}`);
  }
}

interface Launches {
  fresh: number[];
  again: number[];
}

async function kumoLaunches(): Promise<Launches> {
  const fresh: number[] = [];
  const again: number[] = [];
  let kept: string | null = null;
  try {
    for (let i = 0; i < LAUNCHES; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'kumo-peer-bench-'));
      const launch = await launchKumo(dir);
      fresh.push(launch.ms);
      await launch.stop();
      if (kept === null) kept = dir;
      else rmSync(dir, { recursive: true, force: true });
    }
    for (let i = 0; i < LAUNCHES; i++) {
      const launch = await launchKumo(kept as string);
      again.push(launch.ms);
      await launch.stop();
    }
  } finally {
    if (kept !== null) rmSync(kept, { recursive: true, force: true });
  }
  return { fresh, again };
}

async function keystoneLaunches(peer: KeystonePeer): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < LAUNCHES; i++) {
    const server = await peer.launch();
    try {
      const { ms } = await firstToken(`${peer.url}/v3`, () => peer.adminPassword, server.startedAt, () => server.child.exitCode === null);
      times.push(ms);
    } finally {
      await server.stop();
    }
  }
  return times;
}

// ---------------------------------------------------------------------------------------------
// Reporting

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function fmtRatio(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return `${n >= 10 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)}×`;
}

function launchCell(values: number[]): string {
  return `${fmt(median(values))} ms (${values.map((v) => Math.round(v)).join(', ')})`;
}

function memoryCell(m: ProcessSetMemory): string {
  return `${m.rssMiB.toFixed(1)} MiB (PSS ${m.pssMiB.toFixed(1)}, ${m.processes} process${m.processes === 1 ? '' : 'es'})`;
}

function loadTable(loads: LoadFigures[]): string {
  return table(
    ['request', 'conns', '2xx/s', 'p50 ms', 'p99 ms', '2xx', 'non-2xx', 'socket errors connect/read/write/timeout', 'server CPU ms per 2xx', 'other processes, cores'],
    loads.map((l) => [
      l.spec.name,
      l.spec.connections,
      fmt(l.okPerSecond),
      fmt(l.p50),
      fmt(l.p99),
      l.ok,
      l.non2xx,
      `${l.errors.connect}/${l.errors.read}/${l.errors.write}/${l.errors.timeout}`,
      fmt(l.cpuMsPerOk),
      l.otherCores.toFixed(2),
    ]),
  );
}

async function versionOf(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args);
    return stdout.trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

function setupTotal(setup: KeystoneSetupTimes): number {
  return setup.dbSyncMs + setup.fernetSetupMs + setup.credentialSetupMs + setup.bootstrapMs;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const missing = missingPeerTools();
  if (missing.length > 0) {
    process.stdout.write(
      `\n## Identity vs the real Keystone: skipped\n\nMissing: ${missing.join(', ')}. Install with:\n\n` +
        `    ${KEYSTONE_INSTALL_HINT}\n`,
    );
    return;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'kumo-peer-wrk-'));
  try {
    const keystoneVersion = await versionOf('dpkg-query', ['-W', '-f=${Version}', 'keystone']);
    const uwsgiVersion = await versionOf('uwsgi', ['--version']);
    const wrkVersion = (await versionOf('dpkg-query', ['-W', '-f=${Version}', 'wrk'])) || '?';

    // Start-up figures first, one server at a time, so the launches do not compete.
    const kumoStarts = await kumoLaunches();
    const peer = await setUpKeystone();
    let kumoRun: SystemRun;
    let keystoneRun: SystemRun;
    let keystoneStarts: number[];
    try {
      keystoneStarts = await keystoneLaunches(peer);
      const kumo = await startKumo({ KUMO_PASSWORD_HASH_ROUNDS: String(BCRYPT_COST) });
      let server: KeystoneServer | null = null;
      try {
        [kumoRun, keystoneRun] = await runSideBySide(
          { v3: `${kumo.url}/identity/v3`, password: kumo.adminPassword, pid: kumo.child.pid as number, startedAt: kumo.startedAt, isAlive: () => kumo.child.exitCode === null },
          async () => {
            const started = await peer.launch();
            server = started;
            return { v3: `${peer.url}/v3`, password: peer.adminPassword, pid: started.pid, startedAt: started.startedAt, isAlive: () => started.child.exitCode === null };
          },
          workDir,
        );
      } finally {
        await kumo.stop();
        // The cast: TypeScript does not see the assignment inside the callback above.
        await (server as KeystoneServer | null)?.stop();
      }
    } finally {
      await peer.cleanup();
    }

    const settings = `wrk ${wrkVersion}, ${SECONDS} s per row, 2 wrk threads, same warm-up (3 serial requests per endpoint) on both sides; both servers up at once and their rows alternating (Kumo, Keystone, Kumo, ...) so other work on the machine falls on both alike`;
    process.stdout.write('\n## Identity vs the real Keystone (same machine, same run)\n\n');
    process.stdout.write(
      `Load: ${settings}. Both hash passwords with bcrypt cost ${BCRYPT_COST}, so token issue is bound by the hash on both. ` +
        'Throughput counts 2xx responses only; latency percentiles are over all responses (non-2xx shows whether there were others). ' +
        "uwsgi's http-socket closes the connection after every response: for Keystone, wrk's read errors are those reconnects, not failures. " +
        'Before each row the server is left to finish what the previous row left in flight. ' +
        '"Server CPU" is user + system time of the server\'s processes over the row; "other processes" is the CPU, in cores, that everything else on the machine ' +
        '(not the server, wrk or this script) used meanwhile: the machine may be shared, and that column says how much. ' +
        'RSS is summed over the process set (Kumo: the node process; Keystone: uwsgi master and workers); PSS splits shared pages. ' +
        `Start-up figures are medians of ${LAUNCHES} launches (all values in brackets).\n\n`,
    );

    process.stdout.write(`### Kumo (kumo up, SQLite, in-process bus, one Node ${process.version} process, info-level JSON logs to a file)\n\n`);
    process.stdout.write(loadTable(kumoRun.loads) + '\n\n');
    process.stdout.write(
      table(
        ['figure', 'value'],
        [
          ['launch to first token, fresh data directory (incl. migrations and bootstrap)', launchCell(kumoStarts.fresh)],
          ['launch to first token, existing data directory', launchCell(kumoStarts.again)],
          ['launch to first token, the measured instance', `${fmt(kumoRun.firstTokenMs)} ms`],
          ['memory idle (both servers\' first tokens + 2 s)', memoryCell(kumoRun.idle)],
          ['memory after the load', memoryCell(kumoRun.loaded)],
        ],
      ) + '\n\n',
    );

    const setup = peer.setup;
    process.stdout.write(
      `### Keystone (Debian keystone ${keystoneVersion}, uwsgi ${uwsgiVersion}, ` +
        'http-socket, 2 processes × 1 thread, SQLite, Fernet, INFO logs to a file)\n\n',
    );
    process.stdout.write(loadTable(keystoneRun.loads) + '\n\n');
    process.stdout.write(
      table(
        ['figure', 'value'],
        [
          [
            'keystone-manage db_sync + fernet_setup + credential_setup + bootstrap (one run)',
            `${fmt(setupTotal(setup))} ms (${[setup.dbSyncMs, setup.fernetSetupMs, setup.credentialSetupMs, setup.bootstrapMs].map((v) => Math.round(v)).join(' + ')})`,
          ],
          ['uwsgi launch to first token, existing database', launchCell(keystoneStarts)],
          ['uwsgi launch to first token, the measured instance', `${fmt(keystoneRun.firstTokenMs)} ms`],
          ['memory idle (both servers\' first tokens + 2 s)', memoryCell(keystoneRun.idle)],
          ['memory after the load', memoryCell(keystoneRun.loaded)],
        ],
      ) + '\n\n',
    );

    // Ratios are oriented so that > 1 always means Kumo is better.
    const rows: Array<[string, string, string, string]> = [];
    kumoRun.loads.forEach((k, i) => {
      const ks = keystoneRun.loads[i] as LoadFigures;
      const label = `${k.spec.name} c${k.spec.connections}`;
      rows.push([`${label}: 2xx/s`, fmt(k.okPerSecond), fmt(ks.okPerSecond), fmtRatio(k.okPerSecond / ks.okPerSecond)]);
      rows.push([`${label}: p50 ms`, fmt(k.p50), fmt(ks.p50), fmtRatio(ks.p50 / k.p50)]);
      rows.push([`${label}: p99 ms`, fmt(k.p99), fmt(ks.p99), fmtRatio(ks.p99 / k.p99)]);
      rows.push([`${label}: server CPU ms per 2xx`, fmt(k.cpuMsPerOk), fmt(ks.cpuMsPerOk), fmtRatio(ks.cpuMsPerOk / k.cpuMsPerOk)]);
    });
    rows.push(['RSS idle, MiB', fmt(kumoRun.idle.rssMiB), fmt(keystoneRun.idle.rssMiB), fmtRatio(keystoneRun.idle.rssMiB / kumoRun.idle.rssMiB)]);
    rows.push(['RSS after the load, MiB', fmt(kumoRun.loaded.rssMiB), fmt(keystoneRun.loaded.rssMiB), fmtRatio(keystoneRun.loaded.rssMiB / kumoRun.loaded.rssMiB)]);
    const kumoAgain = median(kumoStarts.again);
    const keystoneAgain = median(keystoneStarts);
    rows.push(['launch to first token, existing data, ms (median)', fmt(kumoAgain), fmt(keystoneAgain), fmtRatio(keystoneAgain / kumoAgain)]);
    const kumoFresh = median(kumoStarts.fresh);
    const keystoneFresh = setupTotal(setup) + keystoneAgain;
    rows.push([
      'nothing to first token, ms (Kumo: fresh start; Keystone: keystone-manage steps + uwsgi launch)',
      fmt(kumoFresh),
      fmt(keystoneFresh),
      fmtRatio(keystoneFresh / kumoFresh),
    ]);
    process.stdout.write(`### Kumo vs Keystone (both bcrypt cost ${BCRYPT_COST})\n\n`);
    process.stdout.write(
      table(['figure', 'Kumo', 'Keystone', 'ratio, > 1 = Kumo better (throughput Kumo/Keystone; latency, CPU, memory, time Keystone/Kumo)'], rows) + '\n',
    );
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
