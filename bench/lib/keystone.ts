/**
 * The real Keystone (Debian's `keystone` package) as a benchmark peer: a throw-away deployment in
 * its own temporary directory (keystone.conf, SQLite file, Fernet and credential key
 * repositories, logs), served by uwsgi on a free loopback port, stopped by PID and removed
 * afterwards. Nothing under /etc/keystone, /var/lib/keystone or /var/log/keystone is touched:
 * keystone-manage gets `--config-file`, and the WSGI script reads OS_KEYSTONE_CONFIG_DIR
 * (keystone.server.flask.core._get_config_files), so neither falls back to /etc/keystone.
 * Commands run with argument arrays; nothing goes through a shell.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { freePort } from './kumo-process.js';

const run = promisify(execFile);

const KEYSTONE_MANAGE = '/usr/bin/keystone-manage';
const KEYSTONE_WSGI = '/usr/bin/keystone-wsgi-public';
const UWSGI = '/usr/bin/uwsgi';
const UWSGI_PYTHON3 = '/usr/lib/uwsgi/plugins/python3_plugin.so';
/** Debian's packaged policy (read only), so the peer enforces what a Debian install enforces. */
const DEBIAN_POLICY_DIR = '/etc/keystone/policy.d';

/** What to run to get the peer; the bench prints it instead of installing anything itself. */
export const KEYSTONE_INSTALL_HINT = [
  'echo "keystone keystone/configure_db boolean false" | debconf-set-selections',
  'echo "keystone keystone/register-endpoint boolean false" | debconf-set-selections',
  'DEBIAN_FRONTEND=noninteractive apt-get install -y keystone uwsgi-plugin-python3 wrk',
].join(' && ');

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** The programs the peer run needs that are not installed (empty when all are there). */
export function missingPeerTools(): string[] {
  const missing: string[] = [];
  if (!existsSync(KEYSTONE_MANAGE) || !existsSync(KEYSTONE_WSGI)) missing.push('keystone');
  if (!existsSync(UWSGI) || !existsSync(UWSGI_PYTHON3)) missing.push('uwsgi-plugin-python3');
  // wrk is the load generator for both sides: autocannon mis-times requests on a server that
  // closes the connection after every response (see keystone-peer.bench.ts).
  if (!onPath('wrk')) missing.push('wrk');
  return missing;
}

export interface KeystoneSetupTimes {
  dbSyncMs: number;
  fernetSetupMs: number;
  credentialSetupMs: number;
  bootstrapMs: number;
}

export interface KeystoneServer {
  /** The uwsgi master; its workers are found from /proc. */
  child: ChildProcess;
  pid: number;
  startedAt: number;
  stop(): Promise<void>;
}

export interface KeystonePeer {
  dir: string;
  port: number;
  /** Base URL without the /v3 suffix. */
  url: string;
  adminPassword: string;
  setup: KeystoneSetupTimes;
  /** Starts uwsgi (2 processes x 1 thread) on the prepared deployment; resolves once it is spawned. */
  launch(): Promise<KeystoneServer>;
  /** Stops any server still running and removes the temporary directory. */
  cleanup(): Promise<void>;
}

/** PIDs (and directories) to clean up if the bench dies before cleanup() runs. */
const emergency = { pids: new Set<number>(), dirs: new Set<string>() };
let emergencyHooked = false;

function hookEmergencyCleanup(): void {
  if (emergencyHooked) return;
  emergencyHooked = true;
  // 'exit' handlers must be synchronous: SIGKILL whatever is left and remove the directories.
  process.once('exit', () => {
    for (const pid of emergency.pids) killQuietly(pid, 'SIGKILL');
    for (const dir of emergency.dirs) rmSync(dir, { recursive: true, force: true });
  });
  // Without these, Ctrl-C would end Node without running the 'exit' handler above.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function keystoneConf(dir: string): string {
  // Debian defaults otherwise (Fernet is Zed's default provider; bcrypt cost 12 is its default
  // too, spelled out so the comparison with Kumo's cost 12 is visible in the config).
  return [
    '[DEFAULT]',
    `log_file = ${join(dir, 'keystone.log')}`,
    '[database]',
    `connection = sqlite:///${join(dir, 'keystone.db')}`,
    '[token]',
    'provider = fernet',
    '[fernet_tokens]',
    `key_repository = ${join(dir, 'fernet-keys')}`,
    '[credential]',
    `key_repository = ${join(dir, 'credential-keys')}`,
    '[identity]',
    'password_hash_algorithm = bcrypt',
    'password_hash_rounds = 12',
    '[oslo_policy]',
    `policy_dirs = ${DEBIAN_POLICY_DIR}`,
    '',
  ].join('\n');
}

function uwsgiIni(dir: string, port: number): string {
  // The shape from shared/notes/keystone-peer.uwsgi.ini. threads = 1: with SQLite, several
  // threads per process fail ("SQLite objects created in a thread can only be used in that same
  // thread"). chdir into our own directory, not /var/lib/keystone.
  return [
    '[uwsgi]',
    `http-socket = 127.0.0.1:${port}`,
    'plugins = python3',
    'master = true',
    'lazy-apps = true',
    'processes = 2',
    'threads = 1',
    'die-on-term = true',
    'no-orphans = true',
    'buffer-size = 65535',
    `chdir = ${dir}`,
    `wsgi-file = ${KEYSTONE_WSGI}`,
    '',
  ].join('\n');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Prepares a fresh Keystone deployment in a temporary directory: config, db_sync, Fernet and
 * credential keys, bootstrap (admin user, admin project, RegionOne identity endpoints on the
 * chosen loopback port). Throws (after removing the directory) when a step fails.
 */
export async function setUpKeystone(): Promise<KeystonePeer> {
  hookEmergencyCleanup();
  const dir = mkdtempSync(join(tmpdir(), 'keystone-peer-'));
  emergency.dirs.add(dir);
  const servers = new Set<KeystoneServer>();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Hex keeps it well under bcrypt's 72 bytes and free of quoting concerns.
  const adminPassword = randomBytes(12).toString('hex');
  const confPath = join(dir, 'keystone.conf');
  const iniPath = join(dir, 'uwsgi.ini');

  const cleanup = async (): Promise<void> => {
    for (const server of servers) await server.stop();
    rmSync(dir, { recursive: true, force: true });
    emergency.dirs.delete(dir);
  };

  const manage = async (...args: string[]): Promise<void> => {
    try {
      await run(KEYSTONE_MANAGE, ['--config-file', confPath, ...args], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`keystone-manage ${args[0]} failed: ${(error as Error).message}\n${stderr.slice(-2000)}\n${logTail(dir)}`);
    }
  };

  try {
    mkdirSync(join(dir, 'fernet-keys'), { mode: 0o700 });
    mkdirSync(join(dir, 'credential-keys'), { mode: 0o700 });
    writeFileSync(confPath, keystoneConf(dir));
    writeFileSync(iniPath, uwsgiIni(dir, port));
    // keystone-manage insists on an owner for the key repositories; we run as whoever we are.
    const owner = ownerArgs();
    const setup: KeystoneSetupTimes = {
      dbSyncMs: await timed(() => manage('db_sync')),
      fernetSetupMs: await timed(() => manage('fernet_setup', ...owner)),
      credentialSetupMs: await timed(() => manage('credential_setup', ...owner)),
      bootstrapMs: await timed(() =>
        manage(
          'bootstrap',
          '--bootstrap-password', adminPassword,
          '--bootstrap-region-id', 'RegionOne',
          '--bootstrap-admin-url', `${url}/v3/`,
          '--bootstrap-internal-url', `${url}/v3/`,
          '--bootstrap-public-url', `${url}/v3/`,
        ),
      ),
    };
    return {
      dir,
      port,
      url,
      adminPassword,
      setup,
      async launch() {
        const server = launchUwsgi(dir, iniPath);
        servers.add(server);
        const stop = server.stop;
        server.stop = async () => {
          await stop();
          servers.delete(server);
        };
        return server;
      },
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function ownerArgs(): string[] {
  const user = process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'root');
  const group = process.getgid?.() === 0 ? 'root' : user;
  return ['--keystone-user', user, '--keystone-group', group];
}

function logTail(dir: string): string {
  const parts: string[] = [];
  for (const name of ['uwsgi.log', 'keystone.log']) {
    const path = join(dir, name);
    if (existsSync(path)) parts.push(`--- ${name} ---\n${readFileSync(path, 'utf8').slice(-1500)}`);
  }
  return parts.join('\n');
}

function launchUwsgi(dir: string, iniPath: string): KeystoneServer {
  // uwsgi's own log (start-up, worker deaths) goes to a file: piping it here would cost CPU
  // during the measurement. Keystone's log goes to keystone.log through keystone.conf.
  const logFd = openSync(join(dir, 'uwsgi.log'), 'a');
  const startedAt = performance.now();
  const child = spawn(UWSGI, ['--ini', iniPath], {
    cwd: dir,
    env: { ...process.env, OS_KEYSTONE_CONFIG_DIR: dir },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error('uwsgi did not start');
  emergency.pids.add(pid);
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      exited = true;
      resolveExit();
    });
  });
  return {
    child,
    pid,
    startedAt,
    async stop() {
      if (exited) {
        emergency.pids.delete(pid);
        return;
      }
      // Remember the workers now: once the master is gone they are reparented and unfindable.
      const workers = descendants(pid);
      child.kill('SIGTERM');
      // die-on-term makes the master stop its workers and exit; the workers may segfault on
      // the way out (harmless, logged to uwsgi.log).
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
      if ((await Promise.race([exitedPromise, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exitedPromise;
      }
      for (const worker of workers) {
        if (isUwsgi(worker)) killQuietly(worker, 'SIGKILL');
      }
      emergency.pids.delete(pid);
    },
  };
}

function isUwsgi(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('uwsgi');
  } catch {
    return false;
  }
}

/** Parent PID of every process, from /proc/<pid>/stat (field 4, after the parenthesised name). */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we were reading.
    }
  }
  return parents;
}

/** All descendants of a process (uwsgi's workers), found by walking parent PIDs. */
export function descendants(root: number): number[] {
  const parents = parentPids();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

export interface ProcessSetMemory {
  processes: number;
  /** Summed resident set sizes (counts pages shared between processes once per process). */
  rssMiB: number;
  /** Summed proportional set sizes (shared pages split between the processes sharing them). */
  pssMiB: number;
}

/** RSS and PSS of a process and all its descendants, from /proc (Linux). */
export function processSetMemory(root: number): ProcessSetMemory {
  const pids = [root, ...descendants(root)];
  let rssKiB = 0;
  let pssKiB = 0;
  let processes = 0;
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKiB += Number(/^Rss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? NaN);
      pssKiB += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? NaN);
      processes++;
    } catch {
      // The process ended while we were reading.
    }
  }
  return { processes, rssMiB: rssKiB / 1024, pssMiB: pssKiB / 1024 };
}

/** CPU time (user + system) consumed so far by a process and its descendants, in ms. */
export function processSetCpuMs(root: number): number {
  // /proc/<pid>/stat counts in clock ticks; USER_HZ is 100 on every Linux this runs on.
  const TICK_MS = 10;
  let ticks = 0;
  for (const pid of [root, ...descendants(root)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of the full line, 12 and 13 after the name.
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we were reading.
    }
  }
  return ticks * TICK_MS;
}
