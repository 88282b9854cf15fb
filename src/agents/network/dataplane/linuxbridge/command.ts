import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim() || `exit ${String(code)}`}`);
  }
}

export interface RunOptions {
  /** Run inside this named network namespace (`ip netns exec NAME ...`); '' is the machine itself, whatever the host namespace. */
  netns?: string;
  /** Written to the command's standard input. */
  input?: string;
}

/**
 * Runs the host's networking tools (ip, bridge, iptables, dnsmasq, haproxy) with argument
 * arrays, never a shell. Every argument is checked for NUL bytes; names that reach the
 * tools are validated by `names.ts` before they get here.
 *
 * `hostNamespace` makes "the host" itself a named namespace: tests stand in for several
 * hosts on one machine by giving each agent one, and nothing then touches the real host.
 */
export class CommandRunner {
  /** Every command run, for tests and the bench (bounded). */
  count = 0;

  constructor(readonly hostNamespace?: string) {}

  /** Runs a command on the host (or in the namespace given), resolving with its stdout. */
  run(argv: string[], options: RunOptions = {}): Promise<string> {
    const netns = options.netns ?? this.hostNamespace;
    const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    for (const arg of full) {
      if (arg.includes('\0')) throw new Error(`argument with a NUL byte: ${JSON.stringify(arg)}`);
    }
    const [file, ...args] = full as [string, ...string[]];
    this.count += 1;
    return new Promise((resolve, reject) => {
      const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new CommandError(full, error.code ?? null, stderr));
        else resolve(stdout);
      });
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  }

  /** As `run`, but a failure resolves to undefined (for "delete if present" steps). */
  async tryRun(argv: string[], options: RunOptions = {}): Promise<string | undefined> {
    try {
      return await this.run(argv, options);
    } catch (error) {
      if (error instanceof CommandError) return undefined;
      throw error;
    }
  }

  /** `ip` with JSON output, parsed. */
  async ipJson<T>(args: string[], options: RunOptions = {}): Promise<T[]> {
    const out = await this.run(['ip', '-j', ...args], options);
    const text = out.trim();
    return text === '' ? [] : (JSON.parse(text) as T[]);
  }
}
