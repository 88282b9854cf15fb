import type { NetworkState } from '../../../../contracts/network-agent.js';
import { CommandError, type CommandRunner } from '../../../../core/host/commands.js';
import { addMarkedLink, isOtherClouds, isOurs, kindOf, isUp, listLinks, markLink, type Link } from './links.js';
import { bridgeName, tapName } from '../../../../contracts/host-devices.js';
import { greName, PREFIX, vlanName, vxlanName } from './names.js';
import type { DataplaneUnit, ReconcileContext } from './unit.js';

const VXLAN_PORT = '4789';
const FLOOD_MAC = '00:00:00:00:00:00';

/**
 * Layer 2, as Neutron's linuxbridge agent builds it: a bridge per network on each host that
 * has a port on it, joined to the network's segment (the mapped interface for flat, an
 * 802.1Q sub-interface for vlan, a VXLAN device with unicast head-end replication toward the
 * other hosts' tunnel addresses for vxlan, gretap devices toward them for gre, nothing for
 * local), and every port's tap plugged into its network's bridge.
 */
export class L2Unit implements DataplaneUnit {
  readonly name = 'l2';

  async reconcile(ctx: ReconcileContext): Promise<void> {
    const { desired, run, report } = ctx;
    const links = ctx.links;
    const wanted = new Set<string>();
    for (const network of desired.networks) {
      const bridge = bridgeName(network.id);
      wanted.add(bridge);
      await ensureBridge(ctx, links, bridge, network.mtu);
      for (const device of await this.ensureSegment(ctx, network, bridge)) wanted.add(device);
    }
    // Taps are the many: their plugs go in one `ip -batch` instead of a command each.
    const plugs: string[] = [];
    for (const port of desired.ports) {
      const tap = tapName(port.id);
      const link = links.get(tap);
      if (!link) continue; // not there yet: the virt driver (or the DHCP/L3 units) create taps
      const bridge = bridgeName(port.networkId);
      if (link.master !== bridge) {
        plugs.push(`link set dev ${tap} master ${bridge}`);
        report.applied.push(`plug ${tap} -> ${bridge}`);
      }
      if (!isUp(link)) plugs.push(`link set dev ${tap} up`);
    }
    if (plugs.length > 0) await run.run(['ip', '-batch', '-'], { input: plugs.join('\n') + '\n' });
    await this.removeOrphans(ctx, wanted, new Set(desired.ports.map((p) => tapName(p.id))));
  }

  /** Everything of this cloud's: its bridges and segments, and every other device it marked (taps). */
  async teardown(ctx: ReconcileContext): Promise<void> {
    await this.removeOrphans(ctx, new Set(), new Set(), true);
  }

  /** Joins the network's segment to its bridge; returns the devices that make it. */
  private async ensureSegment(ctx: ReconcileContext, network: NetworkState, bridge: string): Promise<string[]> {
    const { run, links, config, report } = ctx;
    const physical = network.physicalNetwork ? config.physicalInterfaceMappings[network.physicalNetwork] : undefined;
    switch (network.networkType) {
      case 'local':
        return [];
      case 'flat': {
        if (!physical) return this.unmapped(ctx, network);
        const link = links.get(physical);
        if (!link) throw new Error(`physical interface ${physical} of ${network.physicalNetwork} is missing`);
        const master = link.master === undefined ? undefined : links.get(link.master);
        if (link.master !== undefined && link.master !== bridge && !isOurs(master, config.cloudId)) {
          // Another cloud's bridge, or the operator's: a device has one master, and it is theirs.
          throw new Error(`physical interface ${physical} of ${network.physicalNetwork} is on ${link.master}, which is not this cloud's: not moving it`);
        }
        await plugIntoBridge(run, link, bridge, report.applied);
        return [];
      }
      case 'vlan': {
        if (!physical) return this.unmapped(ctx, network);
        const vid = segmentId(network);
        const name = vlanName(physical, vid);
        const existing = links.get(name);
        refuseOtherClouds(ctx, existing, `VLAN ${vid} on ${physical}`, 'KUMO_NETWORK_VLAN_RANGES');
        if (kindOf(existing) !== 'vlan') {
          await addSegmentDevice(ctx, name, ['link', physical, 'name', name, 'type', 'vlan', 'id', String(vid)], `VLAN ${vid} on ${physical}`, 'KUMO_NETWORK_VLAN_RANGES');
          report.applied.push(`vlan ${name}`);
        } else await adopt(ctx, existing, name);
        await plugIntoBridge(run, links.get(name) ?? (await reread(run, name)), bridge, report.applied);
        return [name];
      }
      case 'vxlan': {
        const local = requireTunnelIp(ctx);
        const vni = segmentId(network);
        const name = vxlanName(vni);
        const existing = links.get(name);
        refuseOtherClouds(ctx, existing, `VXLAN VNI ${vni}`, 'KUMO_NETWORK_VNI_RANGES');
        if (kindOf(existing) !== 'vxlan' || existing?.linkinfo?.info_data?.local !== local) {
          if (existing) await run.run(['ip', 'link', 'del', name]);
          const args = [name, 'mtu', String(network.mtu), 'type', 'vxlan', 'id', String(vni), 'local', local, 'dstport', VXLAN_PORT, 'nolearning'];
          await addSegmentDevice(ctx, name, args, `VXLAN VNI ${vni}`, 'KUMO_NETWORK_VNI_RANGES');
          report.applied.push(`vxlan ${name}`);
        } else await adopt(ctx, existing, name);
        await plugIntoBridge(run, links.get(name) ?? (await reread(run, name)), bridge, report.applied);
        await syncFloodEntries(run, name, network.peers, report.applied);
        return [name];
      }
      case 'gre': {
        const local = requireTunnelIp(ctx);
        const key = segmentId(network);
        const names: string[] = [];
        for (const peer of network.peers) {
          const name = greName(key, peer);
          names.push(name);
          const existing = links.get(name);
          refuseOtherClouds(ctx, existing, `GRE key ${key} toward ${peer}`, 'KUMO_NETWORK_GRE_RANGES');
          if (kindOf(existing) !== 'gretap') {
            const args = [name, 'mtu', String(network.mtu), 'type', 'gretap', 'local', local, 'remote', peer, 'key', String(key)];
            await addSegmentDevice(ctx, name, args, `GRE key ${key} toward ${peer}`, 'KUMO_NETWORK_GRE_RANGES');
            report.applied.push(`gretap ${name}`);
          } else await adopt(ctx, existing, name);
          await plugIntoBridge(run, links.get(name) ?? (await reread(run, name)), bridge, report.applied);
        }
        return names;
      }
      default:
        throw new Error(`network type ${network.networkType} is not supported by linuxbridge`);
    }
  }

  private unmapped(ctx: ReconcileContext, network: NetworkState): [] {
    ctx.log.warn({ network: network.id, physicalNetwork: network.physicalNetwork }, 'no interface mapped for this physical network (--physnet); its bridge stays local');
    // Instance ports never bind here; the network node's own DHCP and router ports still come, and the agent list says so.
    (ctx.report.warnings ??= []).push(`network ${network.id}: physical network ${network.physicalNetwork ?? '(none)'} has no interface on this host (--physnet); its bridge stays local`);
    return [];
  }

  /**
   * Removes bridges and segment devices of networks this host no longer has, and unplugs
   * taps of ports that are gone, so a stale tap never stays on a live network. Only what
   * carries this cloud's mark *and* is of a kind the unit creates is touched (with
   * `everything`, for a teardown, every device carrying the mark: taps and veths too).
   */
  private async removeOrphans(ctx: ReconcileContext, wanted: Set<string>, wantedTaps: Set<string>, everything = false): Promise<void> {
    const { run, report } = ctx;
    const cloudId = ctx.config.cloudId;
    const links = await listLinks(run);
    // The host bridge for `public` is the public-bridge unit's, which runs before this one.
    const hostBridge = everything ? undefined : ctx.config.publicBridge?.bridge;
    for (const link of links.values()) {
      const name = link.ifname;
      if (name === hostBridge) continue;
      const kind = kindOf(link);
      const ours = isOurs(link, cloudId);
      const segment = kind === 'bridge' || kind === 'vxlan' || kind === 'gretap' || kind === 'vlan';
      if (ours && (segment || everything) && !wanted.has(name)) {
        await run.tryRun(['ip', 'link', 'del', name]);
        report.removed.push(`${kind ?? 'device'} ${name}`);
      } else if (name.startsWith(PREFIX.tap) && link.master !== undefined && isOurs(links.get(link.master), cloudId) && !wantedTaps.has(name)) {
        await run.tryRun(['ip', 'link', 'set', name, 'nomaster']);
        report.removed.push(`plug ${name}`);
      }
    }
  }
}

function segmentId(network: NetworkState): number {
  if (network.segmentationId === null) throw new Error(`${network.networkType} network ${network.id} has no segmentation id`);
  return network.segmentationId;
}

/** A device of this name that is another cloud's means the two ask for one segment: say which setting parts them. */
function refuseOtherClouds(ctx: ReconcileContext, existing: Link | undefined, segment: string, setting: string): void {
  if (!isOtherClouds(existing, ctx.config.cloudId)) return;
  throw new Error(`${segment} is another cloud's on this host (${existing?.ifname}, ${existing?.ifalias}): give each cloud sharing a host its own ${setting}`);
}

/** Creates a marked segment device; the kernel refuses a VNI or VLAN another device has, whatever its name. */
async function addSegmentDevice(ctx: ReconcileContext, name: string, args: string[], segment: string, setting: string): Promise<void> {
  try {
    await addMarkedLink(ctx.run, ctx.config.cloudId, name, args);
  } catch (error) {
    if (error instanceof CommandError && /exists|in use/i.test(error.stderr)) {
      throw new Error(`${segment} is taken on this host by a device not of this cloud (another cloud's?): give each cloud sharing a host its own ${setting} (${error.message})`);
    }
    throw error;
  }
}

/** A wanted device left unmarked (by an older Kumo, or made by hand under our name) becomes ours. */
async function adopt(ctx: ReconcileContext, link: Link | undefined, name: string): Promise<void> {
  if (link === undefined || isOurs(link, ctx.config.cloudId)) return;
  await markLink(ctx.run, ctx.config.cloudId, name);
  ctx.report.applied.push(`mark ${name}`);
}

function requireTunnelIp(ctx: ReconcileContext): string {
  if (!ctx.config.tunnelIp) throw new Error('overlay networks need this host\'s tunnel address (--tunnel-ip)');
  return ctx.config.tunnelIp;
}

async function reread(run: CommandRunner, name: string): Promise<Link> {
  const link = (await listLinks(run)).get(name);
  if (!link) throw new Error(`interface ${name} vanished`);
  return link;
}

export async function ensureBridge(ctx: Pick<ReconcileContext, 'run' | 'config' | 'report'>, links: Map<string, Link>, bridge: string, mtu: number): Promise<void> {
  const { run, config, report } = ctx;
  const link = links.get(bridge);
  if (isOtherClouds(link, config.cloudId)) throw new Error(`${bridge} is another cloud's (${link?.ifalias}): not touching it`);
  if (kindOf(link) !== 'bridge') {
    // Forward delay 0: a port is forwarding as soon as it is plugged, as in Neutron.
    await addMarkedLink(run, config.cloudId, bridge, [bridge, 'mtu', String(mtu), 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    report.applied.push(`bridge ${bridge}`);
  } else if (!isOurs(link, config.cloudId)) {
    await markLink(run, config.cloudId, bridge);
    report.applied.push(`mark ${bridge}`);
  }
  if (!isUp(link)) await run.run(['ip', 'link', 'set', bridge, 'up']);
}

/** Enslaves a device to a bridge (moving it if it sits on another) and brings it up. */
export async function plugIntoBridge(run: CommandRunner, link: Link, bridge: string, applied: string[]): Promise<void> {
  if (link.master !== bridge) {
    await run.run(['ip', 'link', 'set', link.ifname, 'master', bridge]);
    applied.push(`plug ${link.ifname} -> ${bridge}`);
  }
  if (!isUp(link)) await run.run(['ip', 'link', 'set', link.ifname, 'up']);
}

/** Head-end replication: one all-zero FDB entry per peer, so BUM traffic reaches each. */
async function syncFloodEntries(run: CommandRunner, device: string, peers: string[], applied: string[]): Promise<void> {
  const entries = JSON.parse((await run.run(['bridge', '-j', 'fdb', 'show', 'dev', device])) || '[]') as Array<{ mac: string; dst?: string }>;
  const have = new Set(entries.filter((e) => e.mac === FLOOD_MAC && e.dst).map((e) => e.dst as string));
  for (const peer of peers) {
    if (have.has(peer)) continue;
    await run.run(['bridge', 'fdb', 'append', FLOOD_MAC, 'dev', device, 'dst', peer]);
    applied.push(`flood ${device} -> ${peer}`);
  }
  for (const stale of have) {
    if (peers.includes(stale)) continue;
    await run.tryRun(['bridge', 'fdb', 'del', FLOOD_MAC, 'dev', device, 'dst', stale]);
    applied.push(`unflood ${device} -> ${stale}`);
  }
}
