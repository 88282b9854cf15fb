import ipaddr from 'ipaddr.js';
import type { HostState } from '../../../../contracts/network-agent.js';
import type { CommandRunner } from '../../../../core/host/commands.js';
import { ensureBridge, plugIntoBridge } from './l2.js';
import { addMarkedLink, isUp, kindOf, listAddresses, listLinks, type Link } from './links.js';
import { assertDeviceName, bridgeName } from '../../../../contracts/host-devices.js';
import type { DataplaneUnit, PublicBridgeConfig, ReconcileContext } from './unit.js';

/**
 * The all-in-one's host bridge for its external physnet, as DevStack's br-ex: while an external
 * network on that physnet has ports here, the bridge exists, a veth pair joins it to the
 * network's bridge (the L2 unit plugs the pair's network side in, as any mapped interface), and
 * it holds the gateway address of each subnet a router's gateway is on, so the host itself
 * reaches routers and floating IPs. An address another interface already holds (another cloud
 * beside this one) is left off and reported. With an uplink named, traffic from those subnets
 * leaves the host through it, masqueraded to the host's address; without one it stays here.
 * Nothing is left on the host once no network on the physnet has ports here.
 */
export class PublicBridgeUnit implements DataplaneUnit {
  readonly name = 'public-bridge';
  /** Whether the host may hold our bridge and chains: unknown until the first pass looked. */
  private maybePresent = true;
  /** No uplink configured and its chains known to be gone: nothing to check per pass. */
  private uplinkClean = false;

  async reconcile(ctx: ReconcileContext): Promise<void> {
    const config = ctx.config.publicBridge;
    if (!config) return;
    const inUse = ctx.desired.networks.some((n) => n.physicalNetwork === config.physnet);
    if (!inUse) {
      // Looked once (this process may inherit a previous one's), then nothing to do until used.
      if (this.maybePresent) await this.remove(ctx, config);
      this.maybePresent = false;
      return;
    }
    this.maybePresent = true;
    const { run, report } = ctx;
    await ensureBridge(ctx, ctx.links, config.bridge, 1500);
    await ensurePatch(run, ctx.config.cloudId, ctx.links, config, report.applied);
    const subnets = gatewaySubnets(ctx.desired, config.physnet);
    await this.ensureAddresses(ctx, config, subnets);
    const bridges = ctx.desired.networks.filter((n) => n.physicalNetwork === config.physnet).map((n) => bridgeName(n.id));
    if (config.uplink || !this.uplinkClean) await ensureUplink(ctx, config, subnets.filter((s) => s.family === 4).map((s) => s.cidr), bridges);
    this.uplinkClean = !config.uplink;
  }

  async teardown(ctx: ReconcileContext): Promise<void> {
    if (ctx.config.publicBridge) await this.remove(ctx, ctx.config.publicBridge);
    this.maybePresent = false;
  }

  /** The bridge holds exactly the wanted gateway addresses, except those another interface holds. */
  private async ensureAddresses(ctx: ReconcileContext, config: PublicBridgeConfig, subnets: GatewaySubnet[]): Promise<void> {
    const { run, report } = ctx;
    const held = await listAddresses(run, {});
    const own = new Set(held.get(config.bridge) ?? []);
    const wanted = new Set(subnets.map((s) => s.address));
    for (const subnet of subnets) {
      if (own.has(subnet.address)) continue;
      const holder = [...held].find(([iface, addresses]) => iface !== config.bridge && addresses.some((a) => sameAddress(a, subnet.address)))?.[0];
      if (holder) {
        (report.warnings ??= []).push(
          `${subnet.address} is already on ${holder} (another cloud on this host?): left off ${config.bridge}, so this host does not reach ${subnet.cidr} through it`,
        );
        continue;
      }
      await run.run(['ip', 'addr', 'add', subnet.address, 'dev', config.bridge]);
      report.applied.push(`address ${subnet.address} on ${config.bridge}`);
    }
    for (const address of own) {
      if (wanted.has(address)) continue;
      await run.tryRun(['ip', 'addr', 'del', address, 'dev', config.bridge]);
      report.removed.push(`address ${address} on ${config.bridge}`);
    }
  }

  private async remove(ctx: ReconcileContext, config: PublicBridgeConfig): Promise<void> {
    const { run, report } = ctx;
    const links = await listLinks(run);
    for (const name of [config.bridgeSide, config.bridge]) {
      const link = links.get(name);
      if (!link || (name === config.bridge && kindOf(link) !== 'bridge')) continue;
      await run.tryRun(['ip', 'link', 'del', name]);
      report.removed.push(`${kindOf(link) ?? 'link'} ${name}`);
    }
    await ensureUplink(ctx, { ...config, uplink: undefined }, [], []);
    this.uplinkClean = true;
  }
}

interface GatewaySubnet {
  family: 4 | 6;
  cidr: string;
  /** The gateway address with the subnet's prefix length, as `ip addr` takes it. */
  address: string;
}

/** The subnets on the physnet's networks that a router's gateway is on, with their gateway addresses. */
function gatewaySubnets(desired: HostState, physnet: string): GatewaySubnet[] {
  const networks = new Set(desired.networks.filter((n) => n.physicalNetwork === physnet).map((n) => n.id));
  const found = new Map<string, GatewaySubnet>();
  for (const router of desired.routers) {
    if (!router.gateway || !networks.has(router.gateway.networkId)) continue;
    for (const ip of router.gateway.ips) {
      if (!ip.gatewayIp || !ip.cidr) continue;
      const [network, bits] = ipaddr.parseCIDR(ip.cidr);
      const gateway = ipaddr.parse(ip.gatewayIp);
      if (gateway.kind() !== network.kind()) continue;
      const family = gateway.kind() === 'ipv4' ? 4 : 6;
      found.set(ip.cidr, { family, cidr: ip.cidr, address: `${gateway.toString()}/${bits}` });
    }
  }
  return [...found.values()];
}

function sameAddress(a: string, b: string): boolean {
  return ipaddr.parse(a.split('/')[0] as string).toString() === ipaddr.parse(b.split('/')[0] as string).toString();
}

/** The veth pair, whole: a half left by an interrupted run is removed and the pair made again. */
async function ensurePatch(run: CommandRunner, cloudId: string, links: Map<string, Link>, config: PublicBridgeConfig, applied: string[]): Promise<void> {
  let bridgeSide = links.get(config.bridgeSide);
  let networkSide = links.get(config.networkSide);
  if (kindOf(bridgeSide) !== 'veth' || kindOf(networkSide) !== 'veth') {
    for (const half of [bridgeSide, networkSide]) if (half) await run.tryRun(['ip', 'link', 'del', half.ifname]);
    // Marked as this cloud's, so `kumo down` finds it (deleting one end takes the pair).
    await addMarkedLink(run, cloudId, config.bridgeSide, [config.bridgeSide, 'type', 'veth', 'peer', 'name', config.networkSide]);
    applied.push(`veth ${config.bridgeSide} <-> ${config.networkSide}`);
    const fresh = await listLinks(run);
    bridgeSide = fresh.get(config.bridgeSide);
    networkSide = fresh.get(config.networkSide);
    if (!bridgeSide || !networkSide) throw new Error(`veth pair ${config.bridgeSide}/${config.networkSide} vanished`);
  }
  await plugIntoBridge(run, bridgeSide as Link, config.bridge, applied);
  if (!isUp(networkSide)) await run.run(['ip', 'link', 'set', config.networkSide, 'up']);
}

/** The conntrack zone of frames bridged on the external networks' bridges (any zone but the host's 0). */
const BRIDGED_ZONE = '4242';

/**
 * NAT and forwarding toward the uplink: the subnets' traffic leaving by it is masqueraded, and
 * allowed through (and its replies back) whatever the FORWARD policy. A router's packet crosses
 * this host's netfilter twice, bridged on the external network's bridge (br_netfilter) and then
 * routed from the host bridge; in one conntrack zone the first pass would settle the
 * connection's NAT (none) before the second could masquerade it, so frames arriving on the
 * external networks' bridges get a zone of their own, as Neutron's firewall gives bridged
 * ports theirs (`--physdev-is-bridged` cannot tell in PREROUTING; the bridge as `-i` can).
 * Each chain is compared with what is wanted and rewritten only when it differs; with no uplink
 * (or no subnet) the chains and their jumps go.
 */
async function ensureUplink(ctx: ReconcileContext, config: PublicBridgeConfig, cidrs: string[], bridges: string[]): Promise<void> {
  const { run, report } = ctx;
  const uplink = config.uplink ? assertDeviceName(config.uplink) : undefined;
  const active = uplink !== undefined && cidrs.length > 0;
  if (active && !(await listLinks(run)).has(uplink)) {
    (report.warnings ??= []).push(`uplink ${uplink} is not on this host: guests' traffic stays here`);
  }
  const nat = active ? cidrs.map((cidr) => `-s ${cidr} -o ${uplink} -j MASQUERADE`) : undefined;
  const forward = active
    ? [`-i ${config.bridge} -o ${uplink} -j ACCEPT`, `-i ${uplink} -o ${config.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`]
    : undefined;
  const zones = active ? bridges.map((bridge) => `-i ${bridge} -j CT --zone ${BRIDGED_ZONE}`) : undefined;
  await ensureChain(run, report, 'raw', 'PREROUTING', config.zoneChain, zones);
  await ensureChain(run, report, 'nat', 'POSTROUTING', config.natChain, nat);
  await ensureChain(run, report, 'filter', 'FORWARD', config.forwardChain, forward);
  if (active && (await run.run(['sysctl', '-n', 'net.ipv4.ip_forward'])).trim() !== '1') {
    await run.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    report.applied.push('net.ipv4.ip_forward=1');
  }
}

/** One chain of ours with exactly `rules` (iptables -S spelling) and one jump from `hook`; undefined removes both. */
async function ensureChain(
  run: CommandRunner,
  report: ReconcileContext['report'],
  table: 'raw' | 'nat' | 'filter',
  hook: string,
  chain: string,
  rules: string[] | undefined,
): Promise<void> {
  const iptables = (...args: string[]) => ['iptables', '-w', '-t', table, ...args];
  const current = await run.tryRun(iptables('-S', chain));
  const jumped = (await run.tryRun(iptables('-C', hook, '-j', chain))) !== undefined;
  if (rules === undefined) {
    if (jumped) await run.tryRun(iptables('-D', hook, '-j', chain));
    if (current !== undefined) {
      await run.tryRun(iptables('-F', chain));
      await run.tryRun(iptables('-X', chain));
      report.removed.push(`${table} chain ${chain}`);
    }
    return;
  }
  const have = (current ?? '')
    .split('\n')
    .filter((line) => line.startsWith(`-A ${chain} `))
    .map((line) => line.slice(`-A ${chain} `.length));
  if (current === undefined) await run.run(iptables('-N', chain));
  if (current === undefined || have.join('\n') !== rules.join('\n')) {
    await run.run(iptables('-F', chain));
    for (const rule of rules) await run.run(iptables('-A', chain, ...rule.split(' ')));
    report.applied.push(`${table} chain ${chain}`);
  }
  // Zones and NAT first, before others' rules; forwarding last, after others' drops of their own traffic.
  if (!jumped) await run.run(table === 'filter' ? iptables('-A', hook, '-j', chain) : iptables('-I', hook, '1', '-j', chain));
}
