import type { HostState } from '../../../../contracts/network-agent.js';
import type { Logger } from '../../../../core/log.js';
import type { Dataplane, DataplaneDescription, ReconcileReport } from '../driver.js';
import { CommandRunner } from '../../../../core/host/commands.js';
import { listLinks, listNamespaces } from './links.js';
import { assertCloudId, bridgeName, cloudPrefix, tapName } from '../../../../contracts/host-devices.js';
import { Namespaces } from './names.js';
import type { DataplaneUnit, LinuxBridgeConfig, ReconcileContext } from './unit.js';
import { L2Unit } from './l2.js';
import { DhcpUnit } from './dhcp.js';
import { L3Unit } from './l3.js';
import { FirewallUnit } from './firewall.js';
import { MetadataProxies } from './metadata-proxy.js';
import { mkdirReachable } from '../../../../core/reachable-dir.js';
import { PublicBridgeUnit } from './public-bridge.js';

const EMPTY_STATE = (host: string): HostState => ({ host, generation: 0, networks: [], ports: [], dhcp: [], routers: [], securityGroups: [] });

/**
 * The real dataplane: Linux bridges, VXLAN/VLAN/GRE segments, DHCP in qdhcp namespaces,
 * routers in qrouter namespaces, security groups in iptables. Each concern is a unit of its
 * own; a reconcile runs them in dependency order (a DHCP leg needs its bridge, a router leg
 * too, and filtering needs the taps in place).
 */
export class LinuxBridgeDataplane implements Dataplane {
  readonly name = 'linuxbridge';
  readonly run: CommandRunner;
  readonly namespaces: Namespaces;
  private readonly units: DataplaneUnit[];
  private readonly proxies: MetadataProxies;

  constructor(
    readonly config: LinuxBridgeConfig,
    private readonly log: Logger,
    units?: DataplaneUnit[],
  ) {
    assertCloudId(config.cloudId);
    this.run = new CommandRunner({ hostNamespace: config.hostNamespace, log });
    this.namespaces = new Namespaces(config.namespacePrefix ?? cloudPrefix(config.cloudId));
    // The host bridge first: its veth is the interface L2 plugs the external network into.
    this.units = units ?? [new PublicBridgeUnit(), new L2Unit(), new DhcpUnit(), new L3Unit(), new FirewallUnit()];
    mkdirReachable(config.stateDir);
    this.proxies = new MetadataProxies(this.run, config.stateDir, config.metadataSocket);
  }

  describe(): DataplaneDescription {
    const bridge = this.config.publicBridge;
    return {
      agentType: 'Linux bridge agent',
      interfaceMappings: { ...this.config.physicalInterfaceMappings },
      // Overlays need this host's tunnel endpoint; flat and vlan need their physnet mapped.
      networkTypes: ['local', 'flat', 'vlan', ...(this.config.tunnelIp ? ['vxlan', 'gre'] : [])],
      ...(bridge
        ? { details: { public_bridge: { physical_network: bridge.physnet, bridge: bridge.bridge, uplink: bridge.uplink ?? null } } }
        : {}),
    };
  }

  async reconcile(desired: HostState): Promise<ReconcileReport> {
    const report: ReconcileReport = { applied: [], removed: [] };
    const ctx = await this.context(desired, report);
    const failures: unknown[] = [];
    for (const [i, unit] of this.units.entries()) {
      // One unit's failure (a missing tool, a bad mapping) must not stop the others mending.
      try {
        // The first unit sees the read the context made; later ones see what earlier ones changed.
        await unit.reconcile(i === 0 ? ctx : { ...ctx, links: await listLinks(this.run) });
      } catch (err) {
        failures.push(err);
        this.log.error({ err, unit: unit.name }, 'dataplane unit failed to reconcile');
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} dataplane unit(s) failed`);
    return report;
  }

  /** One `ip link` read: a port's tap present but not on its network's bridge. */
  async pending(desired: HostState): Promise<boolean> {
    const links = await listLinks(this.run);
    return desired.ports.some((p) => {
      const tap = links.get(tapName(p.id));
      return tap !== undefined && tap.master !== bridgeName(p.networkId);
    });
  }

  async teardown(): Promise<void> {
    await this.removeAll();
  }

  /** Removes everything of this cloud's on the host (`kumo down`); says what went. */
  async removeAll(): Promise<string[]> {
    const report: ReconcileReport = { applied: [], removed: [] };
    const ctx = await this.context(EMPTY_STATE(''), report);
    for (const unit of [...this.units].reverse()) await unit.teardown(ctx);
    return report.removed;
  }

  private async context(desired: HostState, report: ReconcileReport): Promise<ReconcileContext> {
    return {
      desired,
      run: this.run,
      namespaces: this.namespaces,
      config: this.config,
      links: await listLinks(this.run),
      existingNamespaces: await listNamespaces(this.run),
      proxies: this.proxies,
      report,
      log: this.log,
    };
  }
}
