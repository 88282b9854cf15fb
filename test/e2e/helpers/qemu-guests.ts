// What the real-QEMU suite (test/e2e/qemu-guests.test.ts) and bench (bench/qemu.bench.ts)
// share: their prerequisites, the kumo-tiny image file, a network lab for `kumo up` with the
// qemu driver, a small REST client for polling (a CLI call costs a second of Python on a CPU
// the TCG guests need), and where the driver keeps an instance's files and process.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { guestBootFileCachePaths, guestImageCachePath, guestImageTools } from '../../../src/cli/guest-image.js';
import { onPath } from '../../../src/agents/network/start.js';
import { NetLab } from '../../helpers/netlab.js';
import { OPENSTACK } from './openstack-cli.js';

const run = promisify(execFile);

export const QEMU = 'qemu-system-x86_64';
export const QEMU_IMG = 'qemu-img';

/** `kumo-tiny ready <ip> <instance-id>`, once per boot (tools/guest-image/README.md). */
export const READY_LINE = /^kumo-tiny ready (\S+) (\S+)\r?$/gm;
export const POWER_BUTTON_LINE = /^kumo-tiny power-button: powering off/m;

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

export interface Prerequisites {
  /** Each missing piece, with the package that brings it. */
  missing: string[];
  qemuPresent: boolean;
}

const errorText = (error: unknown): string => {
  const e = error as { code?: unknown; stderr?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return 'not installed';
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  return stderr || String(e.message ?? error);
};

/** What a real-QEMU run needs here: root, QEMU, the openstack CLI, the lab's tools and kumo-tiny's build tools. */
export async function qemuPrerequisites(options: { cli: boolean } = { cli: true }): Promise<Prerequisites> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces, taps)');
  let qemuPresent = true;
  for (const binary of [QEMU, QEMU_IMG]) {
    if (!onPath(binary)) {
      qemuPresent = false;
      missing.push(`${binary} (apt-get install qemu-system-x86 qemu-utils)`);
    }
  }
  if (options.cli && !existsSync(OPENSTACK)) missing.push(`${OPENSTACK} (apt-get install python3-openstackclient)`);
  const tools = ['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox', 'haproxy'].filter((t) => !onPath(t));
  if (tools.length > 0) missing.push(`${tools.join(', ')} (apt-get install iproute2 dnsmasq-base iptables busybox-static haproxy)`);
  const guestTools = guestImageTools();
  if (!guestTools) {
    missing.push('tools/guest-image is not beside this checkout');
  } else {
    try {
      await run(join(guestTools, 'build.sh'), ['--check']);
    } catch (error) {
      missing.push(`kumo-tiny cannot be built: ${errorText(error)}`);
    }
  }
  return { missing, qemuPresent };
}

/**
 * node:test's `skip` for a suite: skipped (saying why) when something is missing, except in
 * CI with QEMU present, where the suite runs and its before() fails on what is missing.
 */
export function skipUnless(prerequisites: Prerequisites, what: string): string | false {
  if (prerequisites.missing.length === 0) return false;
  if (inCi && prerequisites.qemuPresent) return false;
  return `${what} needs: ${prerequisites.missing.join('; ')}`;
}

/**
 * kumo-tiny's qcow2 where `kumo up` looks for it first (guestImageCachePath), built now if it
 * is not there, so that Kumo imports it without building it again.
 */
export async function kumoTinyFile(): Promise<string> {
  return (await kumoTinyFiles()).disk;
}

/**
 * kumo-tiny's disk, and its kernel and initramfs for the AMI-style form (kernel_id,
 * ramdisk_id), built together when one is missing (`kumo up` builds only the disk).
 */
export async function kumoTinyFiles(): Promise<{ disk: string; kernel: string; ramdisk: string }> {
  const tools = guestImageTools();
  if (!tools) throw new Error('tools/guest-image is not beside this checkout');
  const disk = guestImageCachePath(tools);
  const { kernel, ramdisk } = guestBootFileCachePaths(tools);
  if (![disk, kernel, ramdisk].every((file) => existsSync(file))) {
    mkdirSync(dirname(disk), { recursive: true });
    // build.sh writes beside each output and renames: a concurrent build elsewhere is harmless.
    await run(join(tools, 'build.sh'), ['--kernel-out', kernel, '--ramdisk-out', ramdisk, disk], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  }
  return { disk, kernel, ramdisk };
}

/**
 * The lab `kumo up` runs in: a "host" namespace (the dataplane's and QEMU's), and an "external"
 * namespace holding 203.0.113.254/24 behind the host's ext0, which is physnet1.
 */
export class QemuLab {
  readonly lab = new NetLab();
  host = '';
  ext = '';
  /** The dataplane's state dir, short: QEMU's unix sockets live under it (108-byte sun_path). */
  stateDir = '';

  static async create(): Promise<QemuLab> {
    const q = new QemuLab();
    try {
      q.host = await q.lab.namespace('host');
      q.ext = await q.lab.namespace('ext');
      await q.lab.run(['ip', '-n', q.host, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', q.ext]);
      await q.lab.run(['ip', '-n', q.ext, 'addr', 'add', '203.0.113.254/24', 'dev', 'eth0']);
      await q.lab.run(['ip', '-n', q.ext, 'link', 'set', 'eth0', 'up']);
      await q.lab.run(['ip', '-n', q.host, 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
      q.stateDir = mkdtempSync('/tmp/kq-');
      // dnsmasq reads its files here after dropping to nobody.
      chmodSync(q.stateDir, 0o755);
    } catch (error) {
      await q.cleanup();
      throw error;
    }
    return q;
  }

  /** The environment of a `kumo up` with the qemu driver (TCG) and linuxbridge in this lab. */
  kumoEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KUMO_COMPUTE_DRIVER: 'qemu',
      KUMO_ACCEL: 'tcg',
      KUMO_QEMU_STOP_TIMEOUT: '30',
      KUMO_DATAPLANE: 'linuxbridge',
      KUMO_DATAPLANE_HOST_NAMESPACE: this.host,
      KUMO_DATAPLANE_NAMESPACE_PREFIX: this.lab.prefix,
      KUMO_DATAPLANE_STATE_DIR: this.stateDir,
      KUMO_PHYSNETS: 'physnet1:ext0',
      KUMO_TUNNEL_IP: '10.250.0.1',
      KUMO_HOST_NAME: `${this.lab.prefix}node`,
      // Anything but `skip`: kumo up imports kumo-tiny in the background, as a user's first start does.
      KUMO_GUEST_IMAGE: 'import',
      ...extra,
    };
  }

  /** Links named like Neutron taps in the host namespace: instances', and the DHCP and router ports' veths. */
  async taps(): Promise<string[]> {
    const out = await this.lab.run(['ip', '-j', 'link', 'show'], this.host);
    return (JSON.parse(out) as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => /^tap[0-9a-f-]{11}$/.test(n));
  }

  /** Removes the namespaces (killing what still runs in them, QEMU included) and the state dir. */
  async cleanup(): Promise<void> {
    await this.lab.cleanup();
    if (this.stateDir) rmSync(this.stateDir, { recursive: true, force: true });
  }
}

/** Where the qemu driver keeps an instance's disk, console.log and disk.config. */
export const instanceDir = (dataDir: string, id: string): string => join(dataDir, 'instances', id);
/** Where it keeps the running QEMU's qmp.sock, vnc.sock and qemu.pid. */
export const runtimeDir = (stateDir: string, id: string): string => join(stateDir, 'qemu', id);

/** The pid in a pid file, or undefined. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Pids of the QEMU processes whose command line mentions `text` (an instance's UUID is in its socket paths). */
export function qemuProcessesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.includes('qemu-system')) continue;
    if (argv.some((arg) => arg.includes(text))) found.push(Number(entry));
  }
  return found;
}

/** VmRSS of a process in KiB, from /proc. */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

export const countReadyLines = (text: string): number => text.match(READY_LINE)?.length ?? 0;

/** The `n`th ready line (1-based) of a console log, as [ip, instance-id]. */
export function readyLine(text: string, n: number): [string, string] | undefined {
  const all = [...text.matchAll(READY_LINE)];
  const match = all[n - 1];
  return match ? [match[1] as string, match[2] as string] : undefined;
}

/** Nova's EC2 id as Kumo shows it: `i-` and the first 8 hex digits of the UUID. */
export const ec2Id = (uuid: string): string => `i-${uuid.replaceAll('-', '').slice(0, 8)}`;

export type Json = Record<string, any>;

/** Keystone tokens and Nova/Glance calls against a `kumo up` for polling, as the demo or admin user. */
export class KumoRest {
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly url: string,
    private readonly dataDir: string,
  ) {}

  async token(user: 'admin' | 'demo' = 'demo'): Promise<string> {
    const cached = this.tokens.get(user);
    if (cached) return cached;
    const credentials = JSON.parse(readFileSync(join(this.dataDir, 'bootstrap-credentials.json'), 'utf8')) as Record<string, string>;
    const password = credentials[`${user}Password`];
    const response = await fetch(`${this.url}/identity/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          scope: { project: { name: user, domain: { id: 'default' } } },
        },
      }),
    });
    const token = response.headers.get('x-subject-token');
    if (response.status !== 201 || !token) throw new Error(`${user} token: HTTP ${response.status} ${await response.text()}`);
    this.tokens.set(user, token);
    return token;
  }

  /** Forgets the tokens (a restarted Kumo keeps its Fernet keys, but a test need not rely on it). */
  reset(url?: string): KumoRest {
    return new KumoRest(url ?? this.url, this.dataDir);
  }

  async call(method: string, path: string, body?: unknown, options: { user?: 'admin' | 'demo'; microversion?: string } = {}): Promise<{ status: number; json: Json; text: string }> {
    const headers: Record<string, string> = { 'x-auth-token': await this.token(options.user ?? 'demo') };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.microversion) headers['openstack-api-version'] = `compute ${options.microversion}`;
    const response = await fetch(`${this.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      // not JSON: the text says what happened
    }
    return { status: response.status, json, text };
  }

  async server(id: string, user: 'admin' | 'demo' = 'demo'): Promise<Json | undefined> {
    const r = await this.call('GET', `/compute/v2.1/servers/${id}`, undefined, { user, microversion: '2.15' });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET server ${id}: HTTP ${r.status} ${r.text}`);
    return r.json.server as Json;
  }

  /** Polls until the server has `status` and no task; fails at once on an unexpected ERROR. */
  async waitStatus(id: string, status: string, timeoutMs = 120_000, pollMs = 250): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    let last: Json | undefined;
    for (;;) {
      last = await this.server(id);
      if (status === 'DELETED' && last === undefined) return {};
      if (last && last.status === status && !last['OS-EXT-STS:task_state']) return last;
      if (last?.status === 'ERROR' && status !== 'ERROR') throw new Error(`server ${id} went to ERROR: ${JSON.stringify(last.fault)}`);
      if (Date.now() > deadline) throw new Error(`server ${id} is not ${status} after ${timeoutMs / 1000} s: ${JSON.stringify(last)}`);
      await sleep(pollMs);
    }
  }

  async consoleOutput(id: string): Promise<string> {
    const r = await this.call('POST', `/compute/v2.1/servers/${id}/action`, { 'os-getConsoleOutput': {} });
    if (r.status !== 200) throw new Error(`console output of ${id}: HTTP ${r.status} ${r.text}`);
    return String(r.json.output ?? '');
  }

  /** Polls the console output until `probe` accepts it; fails with the console's end. */
  async waitConsole(id: string, what: string, probe: (text: string) => boolean, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = await this.consoleOutput(id).catch((error: unknown) => `(no console: ${String(error)})`);
      if (probe(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} on ${id}; console ends:\n${text.split('\n').slice(-30).join('\n')}`);
      await sleep(500);
    }
  }

  /** Waits until the image `name` is active (kumo up imports kumo-tiny in the background). */
  async waitImage(name: string, timeoutMs = 300_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call('GET', `/image/v2/images?name=${encodeURIComponent(name)}`);
      const image = (r.json.images as Json[] | undefined)?.[0];
      if (image?.status === 'active') return image;
      if (Date.now() > deadline) throw new Error(`image ${name} is not active after ${timeoutMs / 1000} s: ${r.text}`);
      await sleep(500);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined/false. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(pollMs);
  }
}
