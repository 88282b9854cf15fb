import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * dist/kumo.mjs (what `npm start` and the `kumo` command run: the bundle of dist/src/cli/main.js),
 * found from this compiled file (dist/test/e2e/helpers/), never from the cwd.
 */
export const KUMO_MAIN = fileURLToPath(new URL('../../../kumo.mjs', import.meta.url));

const BANNER = /Kumo is up at (http:\/\/\S+)/;

/** Children still running: if the test process ends without its after() hooks, they must not outlive it. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A port nobody listens on right now: the kernel picks it, we release it at once. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}

/**
 * The environment of a child we start: ours without anything that would point it elsewhere
 * (OS_* for the CLI, KUMO_* for Kumo: a developer's KUMO_DATABASE_URL must not reach a test cloud).
 * Kumo children get the noop dataplane and the fake compute driver unless a test asks
 * otherwise: tests run as root in CI, and only a suite with namespaces of its own may build
 * bridges or start QEMU guests.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { KUMO_DATAPLANE: 'noop', KUMO_COMPUTE_DRIVER: 'fake' };
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(OS_|KUMO_)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Ours without OS_* and KUMO_* (nor cleanEnv's test defaults), plus `extra`. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv();
  for (const name of Object.keys(env)) if (name.startsWith('KUMO_')) delete env[name];
  return { ...env, ...extra };
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal to the exit of the process. */
  ms: number;
}

export interface KumoProcess {
  pid: number;
  /** The base URL from the banner, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  dataDir: string;
  /** Everything the process printed so far (stdout and stderr), for assertions and failure messages. */
  output(): string;
  /** Sends `signal` and waits for the exit; kills with SIGKILL after `timeoutMs` and rejects. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<StopResult>;
  /** Best-effort cleanup for after(): SIGKILL if it still runs. */
  kill(): void;
}

export interface StartOptions {
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /** How long to wait for the banner. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /**
   * Run inside this named network namespace, standing in for a host. Entered with `nsenter
   * --net` rather than `ip netns exec`, which would also give Kumo a mount namespace of its own:
   * the qdhcp-/qrouter- namespaces it makes would then be mounted where no one else (the lab's
   * cleanup included) can see them, as on no real host.
   */
  netns?: string;
  /**
   * Start as a user would, with none of the test defaults (noop dataplane, fake driver, no guest
   * image, no default networks, cheap bcrypt, metadata port 0): only `env` is added to a
   * cleaned environment.
   */
  asUser?: boolean;
  /** Default `warn`; `info` adds one access-log line (method, url, status) per request. */
  logLevel?: 'warn' | 'info' | 'debug';
}

/**
 * Runs `node dist/kumo.mjs up` as a real child process and resolves once it printed
 * "Kumo is up at". Bcrypt runs at cost 4 so that password checks stay cheap.
 */
export async function startKumo(options: StartOptions): Promise<KumoProcess> {
  const explicitPort = options.port !== undefined;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await startOnce(options, port);
    } catch (error) {
      // The port was free a moment ago; another process may have taken it since. Try another one.
      if (!explicitPort && attempt < 3 && error instanceof Error && /EADDRINUSE/.test(error.message)) continue;
      throw error;
    }
  }
}

function startOnce(options: StartOptions, port: number): Promise<KumoProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const argv = [KUMO_MAIN, 'up', '--data-dir', options.dataDir, '--port', String(port), ...(options.asUser ? [] : ['--log-level', options.logLevel ?? 'warn'])];
  // No kumo-tiny build in the background: test/cli/guest-image-import.test.ts covers it.
  const testDefaults = { KUMO_PASSWORD_HASH_ROUNDS: '4', KUMO_GUEST_IMAGE: 'skip', KUMO_DATAPLANE: 'noop', KUMO_COMPUTE_DRIVER: 'fake', KUMO_METADATA_PORT: '0', KUMO_DEFAULT_NETWORKS: '0' };
  const env = options.asUser ? userEnv(options.env) : cleanEnv({ ...testDefaults, ...options.env });
  const child = options.netns
    ? spawn('nsenter', [`--net=/run/netns/${options.netns}`, process.execPath, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  return new Promise<KumoProcess>((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new Error(`kumo up (port ${port}) ${why}; its output:\n${output}`));
    };
    const timer = setTimeout(() => fail(`printed no "Kumo is up at" banner within ${timeoutMs} ms`), timeoutMs);
    const onData = () => {
      const match = BANNER.exec(output);
      if (!match?.[1]) return;
      cleanup();
      resolve(handle(child, match[1], port, options.dataDir, () => output, exited));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      // Let the last output arrive before quoting it.
      setImmediate(() => fail(`exited (code ${code}, signal ${signal}) before it was up`));
    };
    const onError = (error: Error) => fail(`could not be started: ${error.message}`);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function handle(
  child: ChildProcess,
  url: string,
  port: number,
  dataDir: string,
  output: () => string,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): KumoProcess {
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid as number,
    url,
    port,
    dataDir,
    output,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (!running()) throw new Error(`kumo (pid ${child.pid}) is not running; its output:\n${output()}`);
      const started = Date.now();
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`kumo (pid ${child.pid}) did not exit within ${timeoutMs} ms of ${signal}; its output:\n${output()}`));
        }, timeoutMs);
      });
      try {
        const { code, signal: exitSignal } = await Promise.race([exited, timedOut]);
        return { code, signal: exitSignal, ms: Date.now() - started };
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (running()) child.kill('SIGKILL');
    },
  };
}
