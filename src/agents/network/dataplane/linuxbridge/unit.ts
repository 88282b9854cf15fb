import type { HostState } from '../../../../contracts/network-agent.js';
import type { Logger } from '../../../../core/log.js';
import type { ReconcileReport } from '../driver.js';
import type { CommandRunner } from '../../../../core/host/commands.js';
import type { Link } from './links.js';
import type { MetadataProxies } from './metadata-proxy.js';
import type { Namespaces, PublicBridgeNames } from './names.js';

export interface LinuxBridgeConfig {
  /** The cloud's id (`KumoConfig.cloudId`): its mark on devices, in namespace, chain and set names. */
  cloudId: string;
  /** physnet -> host interface, as Neutron's `physical_interface_mappings`. */
  physicalInterfaceMappings: Record<string, string>;
  /** This host's address for VXLAN and GRE tunnels (Neutron's `local_ip`). */
  tunnelIp?: string;
  /** Run "the host" inside this named namespace (tests stand in for hosts this way). */
  hostNamespace?: string;
  /** Prefix of the qdhcp-/qrouter- namespaces this host owns (default `kumo-<cloud id>-`; see `Namespaces`). */
  namespacePrefix?: string;
  /** Where dnsmasq and haproxy files live (hosts files, pid files, configs). */
  stateDir: string;
  /** The metadata relay's unix socket, which the namespaces' proxies forward to. */
  metadataSocket?: string;
  /** The all-in-one's host bridge for its external physnet (DevStack's br-ex; see public-bridge.ts). */
  publicBridge?: PublicBridgeConfig;
}

export interface PublicBridgeConfig extends PublicBridgeNames {
  /** The physnet it serves; `physicalInterfaceMappings` maps it to `networkSide`. */
  physnet: string;
  /** The host interface guests' outbound traffic leaves by, NATed to the host's address; none: it stays on the host. */
  uplink?: string;
}

/** What one reconcile pass hands each unit. */
export interface ReconcileContext {
  desired: HostState;
  run: CommandRunner;
  namespaces: Namespaces;
  config: LinuxBridgeConfig;
  /** The host's interfaces when the pass began; units that change them re-read. */
  links: Map<string, Link>;
  /** Named namespaces on the machine when the pass began. */
  existingNamespaces: Set<string>;
  /** haproxy metadata proxies (disabled when no relay socket is configured). */
  proxies: MetadataProxies;
  report: ReconcileReport;
  log: Logger;
}

/**
 * One concern of the dataplane (L2, DHCP, L3, security groups), a file you can read alone.
 * `reconcile` creates or mends what `desired` wants and removes the orphans this unit owns.
 */
export interface DataplaneUnit {
  readonly name: string;
  reconcile(ctx: ReconcileContext): Promise<void>;
  /** Removes everything this unit created on the host. */
  teardown(ctx: ReconcileContext): Promise<void>;
}
