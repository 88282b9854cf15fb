import { randomBytes } from 'node:crypto';
import type { Bus, ListenHandle } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import {
  METADATA_LOOKUP,
  NETWORK_AGENT_TOPIC,
  NETWORK_SERVER_TOPIC,
  REPORT_STATE,
  type DhcpState,
  type HostState,
  type HostStateRequest,
  type RouterState,
  type SecurityGroupState,
  type SubnetState,
} from '../../contracts/network-agent.js';
import type { NetworkContext } from './context.js';
import { parseAgentReport, recordAgentReport } from './agents.js';
import { metadataLookup, parseMetadataLookup } from './metadata-lookup.js';
import { VIF_TYPE_BINDING_FAILED } from './ml2/binding.js';
import { DEVICE_OWNER_DHCP, DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE, type Port } from './model.js';

/**
 * `state_changed` on NETWORK_SERVER_TOPIC: a control-plane process that is not the network
 * node's (the conductor, which binds a boot's ports) tells the one that is to push. Only that
 * process knows which host runs DHCP and routers: a state computed elsewhere would leave them out.
 */
export const STATE_CHANGED = 'state_changed';

/** What a conductor does with its network changes: hands them to the API process's publisher, at once. */
export function forwardChanges(bus: Bus, log: Logger): () => void {
  return () => {
    void bus.cast({ topic: NETWORK_SERVER_TOPIC }, STATE_CHANGED, {}).catch((err: unknown) => log.warn({ err }, 'could not pass a network change on to the API process'));
  };
}

/**
 * Computes each host's desired dataplane state from the database and sends it to the
 * host's network agent over the bus. Agents make themselves known by asking for their
 * state; from then on every change is pushed to them, coalesced over a short window.
 * Being the control plane's one server on the topic, it also answers the metadata relays'
 * `metadata_lookup` (see metadata-lookup.ts).
 */
/** A port's IPv4 extra DHCP options, as the DHCP agent tags them on its host entries (dnsmasq serves IPv4 here). */
function portOptions(port: Port): { portId?: string; options?: Array<{ name: string; value: string }> } {
  const options = port.extraDhcpOpts.filter((o) => o.ipVersion === 4).map((o) => ({ name: o.optName, value: o.optValue }));
  return options.length > 0 ? { portId: port.id, options } : {};
}

export class DesiredStatePublisher {
  private readonly hosts = new Set<string>();
  private listener: ListenHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastGeneration = 0;
  /** A publish runs; a change meanwhile is published after it (`changedWhilePublishing`). */
  private publishing = false;
  private changedWhilePublishing = false;

  constructor(
    private readonly ctx: NetworkContext,
    private readonly bus: Bus,
    /** The host that runs DHCP servers and routers (the network node). */
    private readonly networkNode: string,
    private readonly log: Logger,
    private readonly delayMs = 50,
  ) {}

  async start(): Promise<void> {
    // One listener serves every method of the topic: a call to the topic goes to any one of its
    // servers, so a second listener with other methods would get requests it cannot answer.
    this.listener = await this.bus.listen(NETWORK_SERVER_TOPIC, `server-${process.pid}-${randomBytes(4).toString('hex')}`, async (method, args) => {
      if (method === METADATA_LOOKUP) return metadataLookup(this.ctx, parseMetadataLookup(args));
      if (method === STATE_CHANGED) {
        this.changed();
        return;
      }
      if (method === REPORT_STATE) {
        // A new or moved tunnel endpoint changes the other hosts' flooding lists.
        if (await recordAgentReport(this.ctx, parseAgentReport(args))) this.changed();
        return;
      }
      if (method !== 'host_state') throw new Error(`unknown method ${method}`);
      const request = hostStateRequest(args);
      this.hosts.add(request.host);
      return this.compute(request.host);
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.listener?.close();
  }

  /**
   * Something changed: push fresh state to every known host after a short quiet period. Known
   * hosts are those that asked this process and those whose agents reported: a port the
   * conductor made (it says so with `state_changed`) reaches every host.
   */
  changed(): void {
    // One publish at a time: two at once could finish out of order, and the agent would keep
    // the one that read the database first.
    if (this.publishing) {
      this.changedWhilePublishing = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publishing = true;
      void this.publish()
        .catch((err: unknown) => this.log.warn({ err }, 'could not publish network state'))
        .finally(() => {
          this.publishing = false;
          if (this.changedWhilePublishing) {
            this.changedWhilePublishing = false;
            this.changed();
          }
        });
    }, this.delayMs);
  }

  /**
   * Orders states by when their reads began: an agent keeps the highest, so a state computed
   * from older rows must never outrank one computed from newer. Milliseconds keep generations
   * increasing across control-plane restarts too.
   */
  private nextGeneration(): number {
    this.lastGeneration = Math.max(this.lastGeneration + 1, Date.now() * 1000);
    return this.lastGeneration;
  }

  private async publish(): Promise<void> {
    const reported = await this.ctx.records.db.selectFrom('network_agent').select('host').execute();
    for (const host of new Set([...this.hosts, ...reported.map((r) => r.host)])) {
      const state = await this.compute(host);
      // A host whose agent is gone must not keep the others from their state.
      await this.bus.cast({ topic: NETWORK_AGENT_TOPIC, server: host }, 'reconcile', state).catch((err: unknown) => this.log.debug({ err, host }, 'no network agent took the state'));
    }
  }

  /** The whole desired state of one host. */
  async compute(host: string): Promise<HostState> {
    const generation = this.nextGeneration();
    const { records, groups } = this.ctx;
    const isNetworkNode = host === this.networkNode;
    const allPorts = await records.listPorts();
    // A port whose binding failed is not the host's to wire (Neutron sends it no agent either).
    const hostsPort = (p: Port) =>
      (p.bindingHostId === host && p.bindingVifType !== VIF_TYPE_BINDING_FAILED) || (isNetworkNode && p.deviceOwner.startsWith('network:') && !p.bindingHostId);
    const ports = allPorts.filter(hostsPort);
    const networkIds = new Set(ports.map((p) => p.networkId));
    const networks = await records.listNetworks({ ids: [...networkIds] });
    const subnets = await records.listSubnets({ networkIds: [...networkIds] });
    const peersOf = await this.tunnelPeers(host, allPorts);
    const routerSubnets = new Set(allPorts.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE).flatMap((p) => p.fixedIps.map((f) => f.subnetId)));

    const subnetState = (id: string): SubnetState | undefined => {
      const s = subnets.find((x) => x.id === id);
      return s && {
        id: s.id,
        cidr: s.cidr,
        ipVersion: s.ipVersion,
        gatewayIp: s.gatewayIp,
        dnsNameservers: s.dnsNameservers,
        hostRoutes: s.hostRoutes,
        isolated: !routerSubnets.has(s.id),
      };
    };

    const dhcp: DhcpState[] = [];
    if (isNetworkNode) {
      for (const port of ports.filter((p) => p.deviceOwner === DEVICE_OWNER_DHCP)) {
        const netSubnets = subnets.filter((s) => s.networkId === port.networkId && s.enableDhcp);
        dhcp.push({
          networkId: port.networkId,
          portMac: port.macAddress,
          portIps: port.fixedIps.map((f) => f.ipAddress),
          subnets: netSubnets.map((s) => subnetState(s.id)).filter((s): s is SubnetState => s !== undefined),
          hosts: allPorts
            .filter((p) => p.networkId === port.networkId && !p.deviceOwner.startsWith('network:'))
            .flatMap((p) => p.fixedIps.map((f) => ({ macAddress: p.macAddress, ipAddress: f.ipAddress, hostname: `host-${f.ipAddress.replaceAll(/[.:]/g, '-')}`, ...portOptions(p) }))),
        });
      }
    }

    const routers: RouterState[] = isNetworkNode ? await this.routers(allPorts) : [];
    const portGroupIds = [...new Set(ports.flatMap((p) => p.securityGroups))];
    // A rule's remote group may have no port on this host; the firewall still needs its members.
    const remoteGroupIds = (await groups.rules({ groupIds: portGroupIds })).map((r) => r.remote_group_id).filter((id): id is string => id !== null);
    const groupIds = [...new Set([...portGroupIds, ...remoteGroupIds])];
    const groupRows = await groups.list({ ids: groupIds });
    const rules = await groups.rules({ groupIds });
    const securityGroups: SecurityGroupState[] = groupRows.map((g) => ({
      id: g.id,
      stateful: g.stateful === 1,
      rules: rules
        .filter((r) => r.security_group_id === g.id)
        .map((r) => ({
          direction: r.direction as 'ingress' | 'egress',
          ethertype: r.ethertype as 'IPv4' | 'IPv6',
          protocol: r.protocol,
          portRangeMin: r.port_range_min,
          portRangeMax: r.port_range_max,
          remoteIpPrefix: r.remote_ip_prefix,
          remoteGroupId: r.remote_group_id,
        })),
      memberIps: allPorts.filter((p) => p.securityGroups.includes(g.id)).flatMap((p) => p.fixedIps.map((f) => f.ipAddress)),
    }));

    return {
      host,
      generation,
      networks: networks.map((n) => ({
        id: n.id,
        networkType: n.segment.networkType,
        physicalNetwork: n.segment.physicalNetwork,
        segmentationId: n.segment.segmentationId,
        mtu: n.mtu,
        peers: n.segment.networkType === 'vxlan' || n.segment.networkType === 'gre' ? peersOf(n.id) : [],
      })),
      ports: ports.map((p) => ({
        id: p.id,
        networkId: p.networkId,
        macAddress: p.macAddress,
        fixedIps: p.fixedIps,
        deviceOwner: p.deviceOwner,
        deviceId: p.deviceId,
        adminStateUp: p.adminStateUp,
        portSecurityEnabled: p.portSecurityEnabled,
        securityGroupIds: p.securityGroups,
        allowedAddressPairs: p.allowedAddressPairs,
      })),
      dhcp,
      routers,
      securityGroups,
    };
  }

  /**
   * l2population: for each network, the tunnel addresses of the other hosts that have a port
   * on it (the network node counts for its DHCP and router ports).
   */
  private async tunnelPeers(host: string, allPorts: Port[]): Promise<(networkId: string) => string[]> {
    const agents = await this.ctx.records.db.selectFrom('network_agent').selectAll().where('tunnel_ip', 'is not', null).execute();
    const tunnelIp = new Map(agents.map((a) => [a.host, a.tunnel_ip as string]));
    const hostsOn = new Map<string, Set<string>>();
    for (const port of allPorts) {
      const portHost = port.bindingHostId || (port.deviceOwner.startsWith('network:') ? this.networkNode : '');
      if (!portHost || portHost === host) continue;
      let set = hostsOn.get(port.networkId);
      if (!set) hostsOn.set(port.networkId, (set = new Set()));
      set.add(portHost);
    }
    const own = tunnelIp.get(host);
    return (networkId) =>
      [...new Set([...(hostsOn.get(networkId) ?? [])].map((h) => tunnelIp.get(h)).filter((ip): ip is string => ip !== undefined && ip !== own))].sort();
  }

  private async routers(allPorts: Port[]): Promise<RouterState[]> {
    const db = this.ctx.records.db;
    const rows = await db.selectFrom('network_router').selectAll().execute();
    const fips = await db.selectFrom('network_floatingip').selectAll().where('port_id', 'is not', null).execute();
    const subnets = await this.ctx.records.listSubnets();
    const cidrOf = (id: string) => subnets.find((s) => s.id === id);
    return rows.map((r) => {
      const gatewayPort = allPorts.find((p) => p.id === r.gw_port_id && p.deviceOwner === DEVICE_OWNER_ROUTER_GATEWAY);
      const interfaces = allPorts.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE && p.deviceId === r.id);
      return {
        id: r.id,
        adminStateUp: r.admin_state_up === 1,
        gateway: gatewayPort
          ? {
              networkId: gatewayPort.networkId,
              portMac: gatewayPort.macAddress,
              ips: gatewayPort.fixedIps.map((f) => ({ ipAddress: f.ipAddress, cidr: cidrOf(f.subnetId)?.cidr ?? '', gatewayIp: cidrOf(f.subnetId)?.gatewayIp ?? null })),
              enableSnat: r.enable_snat === 1,
            }
          : null,
        interfaces: interfaces.flatMap((p) =>
          p.fixedIps.map((f) => ({ portId: p.id, portMac: p.macAddress, subnetId: f.subnetId, ipAddress: f.ipAddress, cidr: cidrOf(f.subnetId)?.cidr ?? '' })),
        ),
        routes: JSON.parse(r.routes) as Array<{ destination: string; nexthop: string }>,
        floatingIps: fips
          .filter((f) => f.router_id === r.id && f.fixed_ip_address)
          .map((f) => ({ id: f.id, floatingIp: f.floating_ip_address, fixedIp: f.fixed_ip_address as string, portId: f.port_id as string })),
      };
    });
  }
}

function hostStateRequest(args: unknown): HostStateRequest {
  const { host } = (args ?? {}) as { host?: unknown };
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) throw new Error('host_state needs a host name');
  return { host };
}
