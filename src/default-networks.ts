import type { DataplaneChoice } from './agents/network/start.js';
import { PUBLIC_PHYSNET } from './agents/network/start.js';
import { CommandRunner } from './core/host/commands.js';
import { freeRange } from './agents/network/host-network.js';
import type { KumoConfig } from './core/config.js';
import { DEFAULT_DOMAIN_ID } from './services/identity/bootstrap.js';
import type { IdentityService } from './services/identity/service.js';
import type { NetworkContext } from './services/network/context.js';
import { ensureDefaultNetworks, PUBLIC_CIDR, type DefaultNetworks } from './services/network/default-networks.js';

/**
 * The all-in-one's first-start networks (DevStack's public, private and router1): for the
 * bootstrap admin and demo projects, with `public` on a range this host does not already use
 * when the dataplane is real (another cloud beside this one holds 172.24.4.1, say).
 */
export async function allInOneDefaultNetworks(config: KumoConfig, identity: IdentityService, network: NetworkContext, dataplane: DataplaneChoice): Promise<DefaultNetworks> {
  const projects = identity.context.stores.resources;
  const admin = await projects.getProjectByName(DEFAULT_DOMAIN_ID, 'admin');
  const demo = await projects.getProjectByName(DEFAULT_DOMAIN_ID, 'demo');
  if (!admin || !demo) return { state: 'skipped', note: 'the bootstrap admin and demo projects are missing' };
  return ensureDefaultNetworks(network, config.network.defaultNetworks, {
    adminProjectId: admin.id,
    demoProjectId: demo.id,
    physnet: PUBLIC_PHYSNET,
    publicRange: async () => (dataplane.name === 'linuxbridge' ? freeRange(new CommandRunner({ hostNamespace: config.dataplane.hostNamespace }), PUBLIC_CIDR) : { cidr: PUBLIC_CIDR }),
  });
}
