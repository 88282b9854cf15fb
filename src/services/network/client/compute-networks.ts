import { ApiError } from '../../../core/http/errors.js';
import type { ComputeNetwork, NetworkListProxy, SecurityGroupCaller } from '../../compute/client.js';
import { visibleNetwork, visibleNetworks } from '../networks.js';
import { notFound } from './nova-errors.js';
import type { NetworkContext } from '../context.js';

/** Neutron's networks as Nova's os-networks and os-tenant-networks proxies list them: those the user may see. */
export class InProcessNetworkList implements NetworkListProxy {
  constructor(private readonly ctx: NetworkContext) {}

  async list(caller: SecurityGroupCaller): Promise<ComputeNetwork[]> {
    return (await visibleNetworks(this.ctx, caller)).map((n) => ({ id: n.id, name: n.name }));
  }

  async get(caller: SecurityGroupCaller, id: string): Promise<ComputeNetwork> {
    try {
      const network = await visibleNetwork(this.ctx, caller, id);
      return { id: network.id, name: network.name };
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound('Network not found');
      throw error;
    }
  }
}
