import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DhcpState } from '../../../../contracts/network-agent.js';
import { canonicalIp, dhcpStateRoot, dnsmasqConfig, dnsmasqFiles, type DnsmasqConfig, type DnsmasqFiles } from './dhcp-config.js';
import { plugIntoBridge } from './l2.js';
import { addMarkedLink, isUp, kindOf, type Link } from './links.js';
import { METADATA_ADDRESS, type ProxyIdentity } from './metadata-proxy.js';
import { bridgeName, tapName } from '../../../../contracts/host-devices.js';
import { dhcpLegName, PREFIX } from './names.js';
import { runningPid, stopDaemon } from '../../../../core/host/daemons.js';
import { mkdirReachable } from '../../../../core/reachable-dir.js';
import type { DataplaneUnit, ReconcileContext } from './unit.js';

const DEVICE_OWNER_DHCP = 'network:dhcp';
const NETWORK_ID = /^[A-Za-z0-9-]{1,64}$/;
const READ_CONCURRENCY = 8;

/** One interface inside a namespace with its addresses (`ip -j -d addr show`). */
type NsLink = Link & { addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> };

/**
 * DHCP, as Neutron's DHCP agent serves it: per network a qdhcp namespace whose `ns-` leg (a
 * veth whose host side is the DHCP port's tap, on the network's bridge) carries the port's
 * MAC and addresses, and one dnsmasq inside handing out exactly the ports' fixed addresses.
 *
 * Host changes reach dnsmasq by rewriting its hosts and options files and a SIGHUP, so leases
 * in progress and other networks are never disturbed; only a changed command line (subnets,
 * MTU, the leg) restarts it. A running dnsmasq is found again by its pid file, so an agent
 * restart adopts it. A network whose IPv4 subnet has no router gets Neutron's isolated
 * metadata: 169.254.169.254 on the leg, a route to it via DHCP, and a proxy in the namespace.
 */
export class DhcpUnit implements DataplaneUnit {
  readonly name = 'dhcp';

  async reconcile(ctx: ReconcileContext): Promise<void> {
    const failures: unknown[] = [];
    const wanted = new Set<string>();
    const inside = await readNamespaces(ctx);
    for (const entry of ctx.desired.dhcp) {
      if (wanted.has(entry.networkId)) {
        // One namespace and one dnsmasq per network: a second DHCP port here would take turns
        // with the first at every pass. The first one listed serves.
        ctx.log.warn({ network: entry.networkId, mac: entry.portMac }, 'a second DHCP port for this network on this host is ignored');
        continue;
      }
      wanted.add(entry.networkId);
      // One network's bad state must not keep the others from being served.
      try {
        await this.ensure(ctx, entry, inside.get(entry.networkId));
      } catch (err) {
        failures.push(err);
        ctx.log.error({ err, network: entry.networkId }, 'could not set up DHCP for this network');
      }
    }
    await this.removeOrphans(ctx, wanted);
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `DHCP failed on ${failures.length} networks`);
  }

  async teardown(ctx: ReconcileContext): Promise<void> {
    await this.removeOrphans(ctx, new Set());
  }

  /** `existing`: the namespace's interfaces read at the start of the pass, if it existed. */
  private async ensure(ctx: ReconcileContext, entry: DhcpState, existing: NsLink[] | undefined): Promise<void> {
    const { desired, run, report, config: dpConfig } = ctx;
    const id = entry.networkId;
    const network = desired.networks.find((n) => n.id === id);
    if (!network) throw new Error(`DHCP for network ${id}, which is not in this host's state`);
    const mac = entry.portMac.toLowerCase();
    const port = desired.ports.find((p) => p.deviceOwner === DEVICE_OWNER_DHCP && p.networkId === id && p.macAddress.toLowerCase() === mac);
    if (!port) throw new Error(`network ${id}: no DHCP port with MAC ${JSON.stringify(entry.portMac)} in this host's state`);
    const tap = tapName(port.id);
    const leg = dhcpLegName(port.id);
    const files = dnsmasqFiles(dpConfig.stateDir, id);
    // Everything is validated here, before the first command.
    const config = dnsmasqConfig(entry, leg, network.mtu, files);
    const ns = ctx.namespaces.dhcp(id);

    let fresh = false;
    if (!existing) {
      // Namespaces are machine-wide, not inside the host namespace.
      await run.run(['ip', 'netns', 'add', ns], { netns: '' });
      await run.run(['ip', 'link', 'set', 'lo', 'up'], { netns: ns });
      report.applied.push(`namespace ${ns}`);
      fresh = true;
    }
    const inside = new Map((existing ?? []).map((l) => [l.ifname, l]));
    const batch: string[] = [];

    // Legs of an earlier DHCP port of this network (the port was replaced): remove the pair.
    for (const link of inside.values()) {
      if (link.ifname.startsWith(PREFIX.dhcpLeg) && link.ifname !== leg) {
        batch.push(`link del ${link.ifname}`);
        report.removed.push(`dhcp leg ${link.ifname}`);
      }
    }

    let hostSide = ctx.links.get(tap);
    let nsSide = inside.get(leg);
    if (!nsSide || !hostSide || kindOf(nsSide) !== 'veth' || kindOf(hostSide) !== 'veth') {
      if (hostSide) await run.run(['ip', 'link', 'del', tap]);
      if (nsSide) await run.tryRun(['ip', 'link', 'del', leg], { netns: ns });
      const mtu = String(network.mtu);
      await addMarkedLink(run, dpConfig.cloudId, tap, [tap, 'mtu', mtu, 'type', 'veth', 'peer', 'name', leg, 'address', mac, 'mtu', mtu, 'netns', ns]);
      report.applied.push(`dhcp leg ${tap} <-> ${ns}/${leg}`);
      hostSide = (await run.ipJson<Link>(['-d', 'link', 'show', 'dev', tap]))[0];
      batch.push(`link set ${leg} up`);
      nsSide = undefined;
      fresh = true;
    } else {
      const before = batch.length;
      if (nsSide.address !== mac) batch.push(`link set ${leg} address ${mac}`);
      if (nsSide.mtu !== network.mtu) batch.push(`link set ${leg} mtu ${network.mtu}`);
      if (!isUp(nsSide)) batch.push(`link set ${leg} up`);
      if (batch.length > before) report.applied.push(`dhcp leg ${leg}`);
      if (hostSide.mtu !== network.mtu) {
        await run.run(['ip', 'link', 'set', tap, 'mtu', String(network.mtu)]);
        report.applied.push(`mtu ${tap} ${network.mtu}`);
      }
    }
    if (!hostSide) throw new Error(`${tap} is missing`);
    await plugIntoBridge(run, hostSide, bridgeName(id), report.applied);

    // The leg's addresses: exactly the DHCP port's (and the metadata address when isolated).
    const have = new Set((nsSide?.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${canonicalIp(a.local)}/${a.prefixlen}`));
    const want = new Set(config.legAddresses);
    for (const cidr of want) {
      if (have.has(cidr)) continue;
      batch.push(`addr add ${cidr} dev ${leg}`);
      report.applied.push(`address ${cidr} on ${leg}`);
    }
    for (const cidr of have) {
      if (want.has(cidr)) continue;
      batch.push(`addr del ${cidr} dev ${leg}`);
      report.removed.push(`address ${cidr} on ${leg}`);
    }
    if (batch.length > 0) await run.run(['ip', '-batch', '-'], { netns: ns, input: batch.map((l) => `${l}\n`).join('') });

    await this.ensureDnsmasq(ctx, id, ns, files, config, fresh);
    await this.ensureMetadataProxy(ctx, id, ns, config.isolated, fresh);
  }

  /**
   * Writes the hosts and options files when their content changed, then: starts dnsmasq if
   * none runs, restarts it when its command line must change (or its namespace or leg was
   * made anew, since it binds to the interface it found at start), and otherwise sends it a
   * SIGHUP, on which it rereads both files without dropping anything else. Except with
   * tagged host lines (a port's extra_dhcp_opts): dnsmasq 2.90 frees such a tag on reload
   * while a lease still points at it, and dies on the next packet or reload (seen here;
   * the upstream bug is in dhcp_netid_free), so those files changing mean a restart, which
   * the lease file and --dhcp-authoritative make seamless for clients.
   */
  private async ensureDnsmasq(ctx: ReconcileContext, id: string, ns: string, files: DnsmasqFiles, config: DnsmasqConfig, fresh: boolean): Promise<void> {
    const { report } = ctx;
    ensureDir(dirname(files.dir));
    ensureDir(files.dir);
    const tagged = hasTaggedHosts(readOr(files.hosts, '')) || hasTaggedHosts(config.hosts);
    const hostsChanged = writeIfChanged(files.hosts, config.hosts);
    const optsChanged = writeIfChanged(files.opts, config.opts);
    const pid = runningPid(files.pid, files.hosts);
    if (!config.argv) {
      if (await stopDaemon(files.pid, files.hosts)) report.removed.push(`dnsmasq ${id} (no IPv4 subnet to serve)`);
      return;
    }
    const reloadUnsafe = tagged && (hostsChanged || optsChanged);
    if (pid !== undefined && !fresh && !reloadUnsafe && sameCommandLine(pid, config.argv)) {
      if (hostsChanged || optsChanged) {
        process.kill(pid, 'SIGHUP');
        report.applied.push(`dnsmasq ${id} reloaded`);
      }
      return;
    }
    if (pid !== undefined) await stopDaemon(files.pid, files.hosts);
    assertReadableByNobody(files.hosts);
    await ctx.run.run(config.argv, { netns: ns });
    report.applied.push(`dnsmasq ${id} ${pid === undefined ? 'started' : 'restarted'}`);
  }

  private async ensureMetadataProxy(ctx: ReconcileContext, id: string, ns: string, isolated: boolean, fresh: boolean): Promise<void> {
    const key = `network-${id}`;
    if (!isolated) {
      if (await ctx.proxies.stop(key)) ctx.report.removed.push(`metadata proxy ${key}`);
      return;
    }
    // A proxy still running in a namespace that was since replaced serves no one.
    if (fresh) await ctx.proxies.stop(key);
    const identity: ProxyIdentity = { header: 'X-Neutron-Network-ID', value: id };
    if (await ctx.proxies.ensure(key, ns, { address: METADATA_ADDRESS, port: 80 }, identity)) ctx.report.applied.push(`metadata proxy ${key}`);
  }

  /**
   * Removes what networks no longer served here left: their namespace (after ending the
   * dnsmasq and proxy inside), the veth pair, the state directory. Only namespaces with this
   * host's qdhcp- prefix and state directories under its own stateDir are considered.
   */
  private async removeOrphans(ctx: ReconcileContext, wanted: Set<string>): Promise<void> {
    const { run, report } = ctx;
    const gone = new Set<string>();
    for (const name of ctx.existingNamespaces) {
      const owned = ctx.namespaces.owned(name);
      if (owned?.kind !== 'dhcp' || !NETWORK_ID.test(owned.id) || wanted.has(owned.id)) continue;
      await this.stopNetwork(ctx, owned.id);
      // Deleting the legs first frees the host-side taps at once (namespace cleanup is lazy).
      const inside = await run.ipJson<Link>(['link', 'show'], { netns: name }).catch(() => [] as Link[]);
      const legs = inside.filter((l) => l.ifname.startsWith(PREFIX.dhcpLeg)).map((l) => `link del ${l.ifname}\n`);
      if (legs.length > 0) await run.tryRun(['ip', '-batch', '-'], { netns: name, input: legs.join('') });
      await run.tryRun(['ip', 'netns', 'del', name], { netns: '' });
      report.removed.push(`namespace ${name}`);
      gone.add(owned.id);
    }
    // State left without a namespace (it was deleted under us): end its daemons, drop the files.
    const root = dhcpStateRoot(ctx.config.stateDir);
    const dirs = existsSync(root) ? readdirSync(root).filter((d) => NETWORK_ID.test(d)) : [];
    for (const id of dirs) {
      if (wanted.has(id) || gone.has(id)) continue;
      if (await this.stopNetwork(ctx, id)) report.removed.push(`dhcp ${id}`);
    }
    for (const key of ctx.proxies.keys()) {
      if (!key.startsWith('network-') || wanted.has(key.slice('network-'.length))) continue;
      if (await ctx.proxies.stop(key)) report.removed.push(`metadata proxy ${key}`);
    }
  }

  /** Ends the network's dnsmasq and proxy and removes its files; true when something ran. */
  private async stopNetwork(ctx: ReconcileContext, id: string): Promise<boolean> {
    const files = dnsmasqFiles(ctx.config.stateDir, id);
    const dnsmasq = await stopDaemon(files.pid, files.hosts);
    const proxy = await ctx.proxies.stop(`network-${id}`);
    rmSync(files.dir, { recursive: true, force: true });
    return dnsmasq || proxy;
  }
}

/**
 * The interfaces and addresses of every served network's namespace that exists, read in
 * parallel (one `ip` each): the only per-network reads of a pass that finds nothing to do.
 */
async function readNamespaces(ctx: ReconcileContext): Promise<Map<string, NsLink[]>> {
  const result = new Map<string, NsLink[]>();
  const todo = ctx.desired.dhcp
    .map((e) => e.networkId)
    .filter((id) => NETWORK_ID.test(id) && ctx.existingNamespaces.has(ctx.namespaces.dhcp(id)));
  const worker = async () => {
    for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
      // `ip -n` enters the namespace without the mount namespace `ip netns exec` sets up.
      // A namespace that cannot be read is left out: that network alone then fails to set up.
      const links = await ctx.run.ipJson<NsLink>(['-n', ctx.namespaces.dhcp(id), '-d', 'addr', 'show'], { netns: '' }).catch(() => undefined);
      if (links) result.set(id, links);
    }
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return result;
}

function sameCommandLine(pid: number, argv: string[]): boolean {
  try {
    const running = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    running.pop(); // the trailing NUL
    return running.length === argv.length && running.every((a, i) => a === argv[i]);
  } catch {
    return false;
  }
}

/** A directory dnsmasq (running as nobody) can enter, whatever the umask. */
function ensureDir(dir: string): void {
  mkdirReachable(dir);
  chmodSync(dir, 0o755);
}

/** Replaces the file atomically (dnsmasq never reads half of it) when the text differs. */
const hasTaggedHosts = (hosts: string) => /,set:/.test(hosts);

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function writeIfChanged(path: string, text: string): boolean {
  try {
    if (readFileSync(path, 'utf8') === text) return false;
  } catch {
    // not there yet
  }
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  chmodSync(tmp, 0o644);
  renameSync(tmp, path);
  return true;
}

/**
 * dnsmasq drops to `nobody` before it reads the hosts and options files (at start and on each
 * SIGHUP) and only logs when it cannot: it would run and answer no one. Say so instead.
 */
function assertReadableByNobody(path: string): void {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(`dnsmasq runs as nobody and cannot reach ${path}: ${dir} is not searchable by others (chmod o+x ${dir}, or choose another data directory)`);
    }
    if (dir === dirname(dir)) return;
  }
}
