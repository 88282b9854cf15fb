import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Logger } from '../log.js';

/**
 * The one place Kumo starts host processes (ip, bridge, iptables, ipset, sysctl, conntrack,
 * dnsmasq, haproxy, qemu, qemu-img, genisoimage, ...):
 * - `runCommand` / `CommandRunner.run`: a command that runs to its end (daemons that fork
 *   themselves, such as QEMU with -daemonize or dnsmasq, count: they are adopted afterwards by
 *   their pid files, daemons.ts);
 * - `startProcess`: a process that keeps running beside Kumo, watched by its pid.
 *
 * Commands are argument arrays handed to execve, never a shell string: nothing in an argument
 * is interpreted, and a NUL byte (which would cut it short) is refused. Names that reach the
 * tools (devices, namespaces, paths inside option strings) are still the caller's to validate.
 * Every command is logged at debug, and a failure is a CommandError that says which command,
 * how it ended and the end of what it wrote to stderr.
 */

export interface CommandOptions {
  /**
   * Run inside this named network namespace (`ip netns exec NAME ...`). On a CommandRunner,
   * undefined means the runner's host namespace and '' the machine itself.
   */
  netns?: string;
  /** Written to the command's standard input (otherwise stdin is /dev/null). */
  input?: string | Buffer;
  /** The command is killed (SIGKILL) after this long; 0 means no limit. Default 120 s. */
  timeoutMs?: number;
  /** stdout beyond this many bytes kills the command (a runaway tool must not fill memory). Default 64 MiB. */
  maxOutputBytes?: number;
  cwd?: string;
  /** Where the command is logged (debug); otherwise the runner's log, or the process default (setHostCommandLog). */
  log?: Logger;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** How much of stderr an error keeps: the end, where tools say what went wrong. */
export const STDERR_TAIL_BYTES = 4096;

/** What `ip netns` takes as a name: no path, and nothing it could read as an option. */
const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/** How a failed command ended. */
export type CommandFailure =
  /** It ran and exited with a non-zero status. */
  | 'exit'
  /** A signal ended it (not one of ours). */
  | 'signal'
  /** It ran past its timeout and was killed. */
  | 'timeout'
  /** It wrote more than maxOutputBytes to stdout and was killed. */
  | 'output-limit'
  /** The program does not exist (ENOENT). */
  | 'not-found'
  /** It could not be started for another reason (EACCES, ...). */
  | 'spawn';

export class CommandError extends Error {
  constructor(
    /** The whole argument array as executed (with `ip netns exec NS` in front when in a namespace). */
    readonly argv: readonly string[],
    readonly failure: CommandFailure,
    /** The exit status, when it exited. */
    readonly exitCode: number | null,
    /** The signal that ended it, when one did (SIGKILL after a timeout or the output limit). */
    readonly signal: NodeJS.Signals | null,
    /** The last STDERR_TAIL_BYTES of its stderr. */
    readonly stderr: string,
    detail: string,
  ) {
    super(`${argv.join(' ')}: ${detail}`);
    this.name = 'CommandError';
  }
}

let defaultLog: Logger | undefined;

/** The log host commands go to when neither the call nor its runner names one (a process sets it once at start). */
export function setHostCommandLog(log: Logger | undefined): void {
  defaultLog = log;
}

/** Checks an argument array and puts `ip netns exec NS` in front when a namespace is named. */
export function commandLine(argv: readonly string[], netns?: string): string[] {
  if (argv.length === 0 || argv[0] === '') throw new Error('a command needs a program');
  if (netns !== undefined && netns !== '' && !NAMESPACE.test(netns)) {
    throw new Error(`not a namespace name: ${JSON.stringify(netns)}`);
  }
  const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
  for (const arg of full) {
    if (typeof arg !== 'string') throw new Error(`argument is not a string: ${JSON.stringify(arg)}`);
    if (arg.includes('\0')) throw new Error(`argument with a NUL byte: ${JSON.stringify(arg)}`);
  }
  return full;
}

/** Keeps the last `limit` bytes written to a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/**
 * Runs a command to its end and resolves with its stdout; anything but exit status 0 rejects
 * with a CommandError. The promise settles once the process has ended (after a timeout, once
 * it is dead).
 */
export function runCommand(argv: readonly string[], options: CommandOptions = {}): Promise<string> {
  let full: string[];
  try {
    full = commandLine(argv, options.netns);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const log = options.log ?? defaultLog;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const stderr = new Tail(STDERR_TAIL_BYTES);
    let ourKill: 'timeout' | 'output-limit' | undefined;
    let spawnError: NodeJS.ErrnoException | undefined;
    const kill = (why: 'timeout' | 'output-limit') => {
      if (ourKill !== undefined) return;
      ourKill = why;
      child.kill('SIGKILL');
    };
    const timer = timeoutMs > 0 ? setTimeout(() => kill('timeout'), timeoutMs) : undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutput) kill('output-limit');
      else stdout.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    if (options.input !== undefined) {
      // A command may exit without reading its input: EPIPE then is its exit status's business.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(options.input);
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError ??= error;
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      const tail = stderr.text();
      let error: CommandError | undefined;
      if (spawnError !== undefined && child.pid === undefined) {
        const failure = spawnError.code === 'ENOENT' ? 'not-found' : 'spawn';
        error = new CommandError(full, failure, null, null, '', failure === 'not-found' ? `${full[0]} not found` : spawnError.message);
      } else if (ourKill === 'timeout') {
        error = new CommandError(full, 'timeout', code, signal, tail, `timed out after ${timeoutMs} ms${tail.trim() ? `: ${tail.trim()}` : ''}`);
      } else if (ourKill === 'output-limit') {
        error = new CommandError(full, 'output-limit', code, signal, tail, `wrote more than ${maxOutput} bytes to stdout`);
      } else if (signal !== null) {
        error = new CommandError(full, 'signal', null, signal, tail, tail.trim() || `killed by ${signal}`);
      } else if (code !== 0) {
        error = new CommandError(full, 'exit', code, null, tail, tail.trim() || `exit ${String(code)}`);
      }
      if (log?.isLevelEnabled('debug')) {
        log.debug(
          { command: full, ms, ...(options.input !== undefined ? { inputBytes: Buffer.byteLength(options.input) } : {}), ...(error ? { failure: error.failure, exitCode: error.exitCode, signal: error.signal } : {}) },
          'host command',
        );
      }
      if (error) reject(error);
      else resolve(Buffer.concat(stdout).toString('utf8'));
    });
  });
}

/**
 * Runs host commands with what they share: the namespace that stands for "the host" (tests
 * stand in for several hosts on one machine by giving each agent one, and nothing then
 * touches the real host), the log, and a count of the commands run (for tests and benches).
 */
export class CommandRunner {
  /** Every command run. */
  count = 0;
  readonly hostNamespace: string | undefined;
  private readonly log: Logger | undefined;

  constructor(options: { hostNamespace?: string; log?: Logger } = {}) {
    if (options.hostNamespace !== undefined) commandLine(['true'], options.hostNamespace);
    this.hostNamespace = options.hostNamespace;
    this.log = options.log;
  }

  /** Runs a command on the host (or in the namespace given), resolving with its stdout. */
  async run(argv: readonly string[], options: CommandOptions = {}): Promise<string> {
    const netns = options.netns ?? this.hostNamespace;
    const log = options.log ?? this.log;
    commandLine(argv, netns);
    this.count += 1;
    return runCommand(argv, { ...options, netns, ...(log ? { log } : {}) });
  }

  /** As `run`, but a command that fails resolves to undefined (for "delete if present" steps). */
  async tryRun(argv: readonly string[], options: CommandOptions = {}): Promise<string | undefined> {
    try {
      return await this.run(argv, options);
    } catch (error) {
      if (error instanceof CommandError) return undefined;
      throw error;
    }
  }

  /** `ip -j ...`, parsed. */
  async ipJson<T>(args: readonly string[], options: CommandOptions = {}): Promise<T[]> {
    const text = (await this.run(['ip', '-j', ...args], options)).trim();
    return text === '' ? [] : (JSON.parse(text) as T[]);
  }
}

/** How a started process ended. */
export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when it never started (the program is missing, ...). */
  error?: Error;
}

export interface StartedProcess {
  readonly argv: readonly string[];
  /** Undefined when it could not be started (`exited` then says why). */
  readonly pid: number | undefined;
  /** Settles (never rejects) once the process has ended and its stderr is closed. */
  readonly exited: Promise<ProcessExit>;
  /** Whether `exited` has settled. */
  readonly hasExited: boolean;
  /** The last bytes it wrote to stderr. */
  stderrTail(): string;
  /** Sends a signal (SIGKILL unless told); one that has ended already is left alone. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts a process that runs on beside Kumo (stdin and stdout /dev/null, stderr kept), for
 * what is watched while it runs, such as the KVM probe's QEMU. `niceness` lowers its CPU
 * priority (19 is the lowest), for work in the background of a start.
 */
export function startProcess(
  argv: readonly string[],
  options: { netns?: string; log?: Logger; niceness?: number; cwd?: string } = {},
): StartedProcess {
  const full = commandLine(argv, options.netns);
  const log = options.log ?? defaultLog;
  const child: ChildProcess = spawn(full[0]!, full.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  if (options.niceness !== undefined && child.pid !== undefined) {
    try {
      setPriority(child.pid, options.niceness);
    } catch {
      // it ended at once; `exited` says why
    }
  }
  const stderr = new Tail(STDERR_TAIL_BYTES);
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  let hasExited = false;
  let startError: Error | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      startError ??= error;
    });
    // 'close' follows a failure to start too (with a negative errno as its code).
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      hasExited = true;
      const exit: ProcessExit = startError && child.pid === undefined ? { exitCode: null, signal: null, error: startError } : { exitCode: code, signal };
      log?.debug({ command: full, pid: child.pid, exitCode: exit.exitCode, signal, ...(exit.error ? { error: exit.error.message } : {}) }, 'host process ended');
      resolve(exit);
    });
  });
  log?.debug({ command: full, pid: child.pid }, 'host process started');
  return {
    argv: full,
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    stderrTail: () => stderr.text(),
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (hasExited || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // it ended meanwhile
      }
    },
  };
}
