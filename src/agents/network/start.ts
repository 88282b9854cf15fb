import { join } from 'node:path';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { chooseDataplane, onPath, type DataplaneChoice } from '../../core/host/dataplane-choice.js';
import { NetworkAgent } from './agent.js';
import { MetadataRelay } from './metadata-relay.js';
import type { Dataplane } from './dataplane/driver.js';
import { LinuxBridgeDataplane } from './dataplane/linuxbridge/linuxbridge.js';
import { mkdirReachable } from '../../core/reachable-dir.js';
import { publicBridgeNames } from './dataplane/linuxbridge/names.js';
import type { PublicBridgeConfig } from './dataplane/linuxbridge/unit.js';
import { AgentReporter } from './reporter.js';
import { CommandRunner } from '../../core/host/commands.js';
import { pickTunnelIp } from './host-network.js';
import { NoopDataplane } from './dataplane/noop/noop.js';

export { chooseDataplane, linuxBridgeBlockers, onPath, type DataplaneChoice } from '../../core/host/dataplane-choice.js';

const METADATA_TOOL = 'haproxy';

/** Can the namespaces' metadata proxies run here? */
export function metadataProxyBlocker(): string | undefined {
  return onPath(METADATA_TOOL) ? undefined : 'haproxy is not installed: guests get no metadata (apt install haproxy)';
}

/** The physnet of the all-in-one's external network, DevStack's `public`. */
export const PUBLIC_PHYSNET = 'public';

/**
 * The all-in-one's host bridge for `public` (DevStack's br-ex), unless the operator mapped that
 * physnet to an interface of their own; with it, the physnet maps to the bridge's veth.
 */
export function publicBridgeFor(config: KumoConfig): PublicBridgeConfig | undefined {
  if (config.dataplane.physicalInterfaceMappings[PUBLIC_PHYSNET]) return undefined;
  return {
    physnet: PUBLIC_PHYSNET,
    ...publicBridgeNames(config.cloudId),
    ...(config.dataplane.publicInterface ? { uplink: config.dataplane.publicInterface } : {}),
  };
}

export function createDataplane(config: KumoConfig, choice: DataplaneChoice, log: Logger, metadataSocket?: string, publicBridge?: PublicBridgeConfig): Dataplane {
  const d = config.dataplane;
  const mappings = { ...d.physicalInterfaceMappings, ...(publicBridge ? { [publicBridge.physnet]: publicBridge.networkSide } : {}) };
  if (choice.name === 'noop') return new NoopDataplane(mappings);
  return new LinuxBridgeDataplane(
    {
      cloudId: config.cloudId,
      physicalInterfaceMappings: mappings,
      ...(publicBridge ? { publicBridge } : {}),
      stateDir: d.stateDir,
      ...(metadataSocket ? { metadataSocket } : {}),
      ...(d.tunnelIp ? { tunnelIp: d.tunnelIp } : {}),
      ...(d.hostNamespace ? { hostNamespace: d.hostNamespace } : {}),
      ...(d.namespacePrefix ? { namespacePrefix: d.namespacePrefix } : {}),
    },
    log,
  );
}

/**
 * Starts this host's network agent with the chosen dataplane. With linuxbridge and a metadata
 * service to reach, it also runs the metadata relay (Neutron's metadata agent) that the
 * namespaces' proxies forward guests' requests to.
 */
export async function startNetworkAgent(
  config: KumoConfig,
  bus: Bus,
  log: Logger,
  choice = chooseDataplane(config),
  metadata?: { url: string; sharedSecret: string },
  /** The all-in-one's host bridge for its external physnet (publicBridgeFor). */
  publicBridge?: PublicBridgeConfig,
): Promise<NetworkAgent> {
  let relay: MetadataRelay | undefined;
  const socketPath = join(config.dataplane.stateDir, 'metadata.sock');
  const noProxy = metadataProxyBlocker();
  if (choice.name === 'linuxbridge' && metadata && noProxy) log.warn(noProxy);
  if (choice.name === 'linuxbridge' && metadata && !noProxy) {
    mkdirReachable(config.dataplane.stateDir);
    relay = new MetadataRelay({ socketPath, bus, metadataUrl: metadata.url, sharedSecret: metadata.sharedSecret, log });
    await relay.start();
  }
  const agent = new NetworkAgent(config.hostName, bus, createDataplane(config, choice, log, relay ? socketPath : undefined, publicBridge), log, {
    ...(config.dataplane.tunnelIp ? { tunnelIp: config.dataplane.tunnelIp } : {}),
    resyncIntervalMs: config.dataplane.resyncIntervalSeconds * 1000,
    reportIntervalMs: config.dataplane.reportIntervalSeconds * 1000,
    ...(relay ? { companions: [relay] } : {}),
  });
  try {
    await agent.start();
  } catch (error) {
    await relay?.stop();
    throw error;
  }
  return agent;
}

/** A simulated host applies nothing, so it has nothing applied and nothing failed. */
const SIMULATED_HEALTH = { devices: 0, dhcp_networks: 0, routers: 0, floating_ips: 0, last_error: null, last_error_at: null, last_reconcile_at: null, warnings: [] };

/**
 * The network agents of hosts the fake driver simulates (all but this host's own): each reports
 * what this host's noop agent would, so ports bind on them as on a real host with the same
 * mappings. They carry nothing, so they take no desired state either.
 */
export async function startSimulatedNetworkAgents(config: KumoConfig, bus: Bus, log: Logger, hosts: string[], like: NetworkAgent): Promise<Array<{ stop(): Promise<void> }>> {
  const reporters: AgentReporter[] = [];
  try {
    for (const host of hosts) {
      const reporter = new AgentReporter(bus, host, () => like.dataplane.describe().agentType, () => ({ ...like.configurations(), ...SIMULATED_HEALTH }), log, config.dataplane.reportIntervalSeconds * 1000);
      await reporter.start();
      reporters.push(reporter);
    }
  } catch (error) {
    for (const reporter of reporters) await reporter.stop();
    throw error;
  }
  return reporters;
}

/**
 * The all-in-one needs no --tunnel-ip: with linuxbridge and none given, it takes the address of
 * the default route's interface (or loopback; a single host has no peers) and records it in
 * `config`. Returns what the banner says about it, or undefined when no tunnel is in play.
 */
export async function chooseTunnelIp(config: KumoConfig): Promise<string | undefined> {
  if (config.dataplane.tunnelIp) return `${config.dataplane.tunnelIp} (given)`;
  let choice: DataplaneChoice;
  try {
    choice = chooseDataplane(config);
  } catch {
    return undefined; // the start fails on it, saying why
  }
  if (choice.name !== 'linuxbridge') return undefined;
  const picked = await pickTunnelIp(new CommandRunner({ hostNamespace: config.dataplane.hostNamespace }));
  config.dataplane.tunnelIp = picked.ip;
  return `${picked.ip}: ${picked.reason}`;
}
