import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath } from '../../src/agents/network/start.js';

const exec = promisify(execFile);

/** Why a dataplane suite cannot run here, or undefined when it can (root and the tools). */
export function netlabSkipReason(tools: string[] = ['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox']): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  const missing = tools.filter((t) => !onPath(t));
  return missing.length > 0 ? `needs ${missing.join(', ')} (apt: iproute2 dnsmasq-base iptables busybox-static)` : undefined;
}

/**
 * A throw-away network lab: every namespace it makes (and every one the agents under test
 * make, since they get `prefix` as their namespace prefix) starts with a random prefix, so
 * `cleanup` removes exactly those and the processes inside them, and nothing else.
 */
export class NetLab {
  /** A cloud id of the lab's own, for the dataplanes it runs (their devices carry it as a mark). */
  readonly cloudId = randomBytes(3).toString('hex');
  readonly prefix = `kt${this.cloudId}-`;
  private readonly made: string[] = [];

  /** Runs a command on the machine, or inside a namespace. */
  async run(argv: string[], netns?: string): Promise<string> {
    const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
    const { stdout } = await exec(full[0] as string, full.slice(1), { encoding: 'utf8' });
    return stdout;
  }

  async tryRun(argv: string[], netns?: string): Promise<{ ok: boolean; out: string }> {
    try {
      return { ok: true, out: await this.run(argv, netns) };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  /** A new namespace named prefix+name, with lo up. */
  async namespace(name: string): Promise<string> {
    const ns = `${this.prefix}${name}`;
    await this.run(['ip', 'netns', 'add', ns]);
    this.made.push(ns);
    await this.run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A namespace standing in for a host on a network: its `iface` has `${net}.2/24` and the
   * default route via `${net}.1`, which an "upstream" namespace holds on the other end of a veth.
   */
  async hostWithDefaultRoute(name: string, iface: string, net: string): Promise<{ host: string; upstream: string }> {
    const host = await this.namespace(name);
    const upstream = await this.namespace(`${name}-up`);
    await this.run(['ip', '-n', host, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', upstream]);
    await this.run(['ip', '-n', host, 'addr', 'add', `${net}.2/24`, 'dev', iface]);
    await this.run(['ip', '-n', upstream, 'addr', 'add', `${net}.1/24`, 'dev', 'uplink']);
    await this.run(['ip', '-n', host, 'link', 'set', iface, 'up']);
    await this.run(['ip', '-n', upstream, 'link', 'set', 'uplink', 'up']);
    await this.run(['ip', '-n', host, 'route', 'add', 'default', 'via', `${net}.1`]);
    return { host, upstream };
  }

  /**
   * A guest standing in for an instance: a namespace whose eth0 has the port's MAC, its
   * other end named as the instance's tap (`tap` + 11 characters of the port id) in the host.
   */
  async guest(name: string, hostNs: string, port: { id: string; macAddress: string }, mtu = 1450): Promise<string> {
    const ns = await this.namespace(name);
    const tap = `tap${port.id.slice(0, 11)}`;
    await this.run(['ip', '-n', hostNs, 'link', 'add', tap, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await this.run(['ip', '-n', ns, 'link', 'set', 'eth0', 'address', port.macAddress, 'mtu', String(mtu)]);
    await this.run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    return ns;
  }

  /** Runs busybox udhcpc once in a guest; resolves with the address it got. */
  async dhcp(guestNs: string): Promise<string> {
    await this.run(['busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '8', '-T', '1', '-O', 'staticroutes', '-s', this.udhcpcScript()], guestNs);
    const out = await this.run(['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0'], guestNs);
    const rows = JSON.parse(out) as Array<{ addr_info: Array<{ local: string }> }>;
    return rows[0]?.addr_info[0]?.local ?? '';
  }

  /** Runs udhcpc once and resolves with what its lease handler was given (ip, router, domain, ...). */
  async dhcpLease(guestNs: string): Promise<Record<string, string>> {
    const out = await this.run(['busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '8', '-T', '1', '-s', this.leaseEnvScript()], guestNs);
    const lease: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const match = /^LEASE ([a-z0-9_]+)=(.*)$/.exec(line);
      if (match) lease[match[1] as string] = match[2] as string;
    }
    return lease;
  }

  private leaseScript: string | undefined;

  private leaseEnvScript(): string {
    if (this.leaseScript) return this.leaseScript;
    this.leaseScript = join(this.tempDir(), 'udhcpc-env.sh');
    writeFileSync(this.leaseScript, UDHCPC_ENV_SCRIPT, { mode: 0o755 });
    return this.leaseScript;
  }

  async ping(fromNs: string, to: string, count = 2): Promise<boolean> {
    return (await this.tryRun(['busybox', 'ping', '-c', String(count), '-W', '2', to], fromNs)).ok;
  }

  private script: string | undefined;

  /** The lease handler udhcpc runs: sets the address, the router and option 121 routes. */
  private udhcpcScript(): string {
    if (this.script) return this.script;
    this.script = join(this.tempDir(), 'udhcpc.sh');
    writeFileSync(this.script, UDHCPC_SCRIPT, { mode: 0o755 });
    return this.script;
  }

  /** A directory of the lab's own (state dirs for agents, scripts), removed by cleanup. */
  tempDir(): string {
    if (!this.dir) {
      this.dir = mkdtempSync(join(tmpdir(), 'kumo-netlab-'));
      // Searchable by others: dnsmasq drops to nobody before it reads its hosts file.
      chmodSync(this.dir, 0o755);
    }
    return this.dir;
  }

  private dir: string | undefined;

  /** Deletes every namespace with the lab's prefix, after killing what runs inside them. */
  async cleanup(): Promise<void> {
    const { out } = await this.tryRun(['ip', '-j', 'netns', 'list']);
    const names = (out.trim() ? (JSON.parse(out) as Array<{ name: string }>) : []).map((r) => r.name).filter((n) => n.startsWith(this.prefix));
    for (const ns of names) {
      const pids = (await this.tryRun(['ip', 'netns', 'pids', ns])).out.split('\n').filter((p) => /^\d+$/.test(p));
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await this.tryRun(['ip', 'netns', 'del', ns]);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A lease handler that prints the options udhcpc received, one `LEASE name=value` line each. */
const UDHCPC_ENV_SCRIPT = `#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
for name in ip subnet router dns domain hostname mtu; do
  eval "value=\\$$name"
  [ -n "$value" ] && echo "LEASE $name=$value"
done
exit 0
`;

const UDHCPC_SCRIPT = `#!/bin/sh
# busybox udhcpc lease handler for test guests
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr flush dev "$interface"
ip addr add "$ip/$mask" dev "$interface"
[ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
set -- $staticroutes
while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
exit 0
`;
