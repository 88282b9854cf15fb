import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cleanEnv } from './kumo-process.js';

/**
 * The Debian python3-openstackclient. It runs on /usr/bin/python3: the `python3` on PATH may be
 * another interpreter that cannot import it, so the CLI is always called by this full path.
 */
export const OPENSTACK = '/usr/bin/openstack';

/** `false` when the CLI is installed, otherwise why the CLI tests cannot run (for node:test `skip`). */
export const cliSkip: false | string = existsSync(OPENSTACK)
  ? false
  : `${OPENSTACK} is not installed (apt-get install python3-openstackclient)`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Use this clouds.yaml (OS_CLIENT_CONFIG_FILE); `null` for a call with no clouds.yaml at all. */
  configFile?: string | null;
  timeoutMs?: number;
}

/**
 * Runs the real `openstack` CLI with an argument array (no shell). Its environment has no OS_*
 * variable of ours, no proxy, no PYTHONPATH, and a HOME of its own so that no ~/.config/openstack
 * of the developer is read.
 */
export class OpenStackCli {
  /** Calls still running, so that a cancelled test leaves no CLI behind (writing into a removed HOME). */
  private readonly running = new Set<ChildProcess>();
  private closed = false;

  constructor(
    private readonly home: string,
    private readonly configFile: string,
    /** Run the CLI inside this network namespace (the host a cloud in a lab runs on). */
    private readonly netns?: string,
  ) {
    mkdirSync(home, { recursive: true });
  }

  /** Runs and reports; never throws for a non-zero exit. */
  run(args: string[], options: CliOptions = {}): Promise<CliResult> {
    if (this.closed) return Promise.reject(new Error(`openstack ${args.join(' ')}: the CLI harness was shut down`));
    const configFile = options.configFile === undefined ? this.configFile : options.configFile;
    const env = cleanEnv({ HOME: this.home, no_proxy: '*', NO_PROXY: '*' });
    for (const name of Object.keys(env)) {
      if (/^(PYTHON(PATH|HOME|STARTUP)|XDG_CONFIG_HOME|XDG_CONFIG_DIRS|https?_proxy|HTTPS?_PROXY|all_proxy|ALL_PROXY)$/.test(name)) {
        delete env[name];
      }
    }
    if (configFile !== null) env.OS_CLIENT_CONFIG_FILE = configFile;
    return new Promise((resolve, reject) => {
      const [file, argv] = this.netns ? ['ip', ['netns', 'exec', this.netns, OPENSTACK, ...args]] : [OPENSTACK, args];
      const child = execFile(
        file,
        argv,
        { env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          this.running.delete(child);
          if (error && typeof error.code !== 'number') {
            reject(new Error(`openstack ${args.join(' ')}: ${error.message}\n${stderr}`));
            return;
          }
          resolve({ code: error ? (error.code as unknown as number) : 0, stdout, stderr });
        },
      );
      this.running.add(child);
    });
  }

  /** Kills the calls still running (only ours, by their process), waits until they are gone, and starts no more. */
  async killAll(): Promise<void> {
    this.closed = true;
    const exits = [...this.running].map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      return exited;
    });
    await Promise.all(exits);
  }

  /** Runs and insists on success; returns stdout. */
  async ok(args: string[], options: CliOptions = {}): Promise<string> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(`openstack ${args.join(' ')} exited with ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    }
    return result.stdout;
  }

  /** Runs with `-f json` and parses what it printed. */
  async json<T = any>(args: string[], options: CliOptions = {}): Promise<T> {
    const stdout = await this.ok([...args, '-f', 'json'], options);
    try {
      return JSON.parse(stdout) as T;
    } catch {
      throw new Error(`openstack ${args.join(' ')} -f json printed no JSON:\n${stdout}`);
    }
  }

  /** Runs with `-f value -c <column>` and returns the value, trimmed. */
  async value(args: string[], column: string, options: CliOptions = {}): Promise<string> {
    return (await this.ok([...args, '-f', 'value', '-c', column], options)).trim();
  }

  /** Runs expecting a failure; returns what it printed so the caller can check the HTTP status. */
  async fails(args: string[], options: CliOptions = {}): Promise<CliResult> {
    const result = await this.run(args, options);
    if (result.code === 0) {
      throw new Error(`openstack ${args.join(' ')} succeeded but should have failed\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    }
    return result;
  }
}
