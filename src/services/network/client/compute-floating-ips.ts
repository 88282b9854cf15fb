import { ApiError } from '../../../core/http/errors.js';
import type { ComputeFloatingIp, FloatingIpProxy, InstanceRef, SecurityGroupCaller } from '../../compute/client.js';
import { createFloatingIp, deleteFloatingIp, updateFloatingIp, visibleFloatingIp } from '../floating-ips.js';
import type { FloatingIp } from '../model.js';
import { visibleNetworks } from '../networks.js';
import { instancePorts } from './instance-ports.js';
import { badRequest, forbidden, notFound } from './nova-errors.js';
import type { NetworkContext } from '../context.js';

/** Nova's CONF.neutron.default_floating_pool: the pool a create without one allocates from. */
const DEFAULT_POOL = 'public';

/**
 * Neutron's floating IPs in the same process, as Nova's neutron network API uses them for the
 * os-floating-ips proxies and the addFloatingIp/removeFloatingIp actions: with the user's
 * rights, refusals re-worded as Nova's controllers word them.
 */
export class InProcessFloatingIps implements FloatingIpProxy {
  constructor(private readonly ctx: NetworkContext) {}

  private async view(fip: FloatingIp): Promise<ComputeFloatingIp> {
    const network = await this.ctx.records.getNetwork(fip.floatingNetworkId);
    const port = fip.portId ? await this.ctx.records.getPort(fip.portId) : undefined;
    return {
      id: fip.id,
      address: fip.floatingIpAddress,
      fixedAddress: fip.fixedIpAddress,
      instanceId: port ? port.deviceId || null : null,
      portId: fip.portId,
      pool: network?.name || fip.floatingNetworkId,
    };
  }

  async list(caller: SecurityGroupCaller): Promise<ComputeFloatingIp[]> {
    const fips = await this.ctx.l3.listFloatingIps({ projectId: caller.projectId });
    return Promise.all(fips.map((f) => this.view(f)));
  }

  async get(caller: SecurityGroupCaller, id: string): Promise<ComputeFloatingIp> {
    try {
      return await this.view(await visibleFloatingIp(this.ctx, caller, id));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound(`Floating IP not found for ID ${id}`);
      throw error;
    }
  }

  private async findByAddress(caller: SecurityGroupCaller, address: string): Promise<FloatingIp> {
    const fips = await this.ctx.l3.listFloatingIps(caller.isAdmin ? {} : { projectId: caller.projectId });
    const fip = fips.find((f) => f.floatingIpAddress === address);
    if (!fip) throw notFound('floating IP not found');
    return fip;
  }

  async byAddress(caller: SecurityGroupCaller, address: string): Promise<ComputeFloatingIp> {
    return this.view(await this.findByAddress(caller, address));
  }

  async pools(caller: SecurityGroupCaller): Promise<string[]> {
    return (await visibleNetworks(this.ctx, caller)).filter((n) => n.external).map((n) => n.name || n.id);
  }

  async allocate(caller: SecurityGroupCaller, pool: string | undefined): Promise<ComputeFloatingIp> {
    const name = pool ?? DEFAULT_POOL;
    // Nova's _get_floating_ip_pool_id_by_name_or_id: an external network by id, else by name.
    const external = (await visibleNetworks(this.ctx, caller)).filter((n) => n.external);
    const matches = external.some((n) => n.id === name) ? external.filter((n) => n.id === name) : external.filter((n) => n.name === name);
    if (matches.length === 0) throw notFound(`Floating IP pool not found.`);
    if (matches.length > 1) throw badRequest(`Multiple floating IP pools matches found for name '${name}'`);
    const network = matches[0] as (typeof matches)[number];
    try {
      return await this.view(await createFloatingIp(this.ctx, caller, { floating_network_id: network.id }));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409 && /quota/i.test(error.message)) throw forbidden(pool ? `IP allocation over quota in pool ${pool}.` : 'IP allocation over quota.');
      if (error.status === 400 && /exhausted|Unable to find any IP address/i.test(error.message)) {
        throw notFound(pool ? `No more floating IPs in pool ${pool}.` : 'No more floating IPs available.');
      }
      if (error.status === 400) throw badRequest(error.message);
      if (error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }

  async release(caller: SecurityGroupCaller, id: string): Promise<void> {
    try {
      await deleteFloatingIp(this.ctx, caller, id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound(`Floating IP not found for ID ${id}`);
      if (error instanceof ApiError && error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }

  async associate(caller: SecurityGroupCaller, instance: InstanceRef, address: string, fixedAddress: string): Promise<void> {
    const fip = await this.findByAddress(caller, address);
    const port = (await instancePorts(this.ctx, instance)).find((p) => p.fixedIps.some((f) => f.ipAddress === fixedAddress));
    if (!port) throw badRequest('Specified fixed address not assigned to instance');
    try {
      await updateFloatingIp(this.ctx, caller, fip.id, { port_id: port.id, fixed_ip_address: fixedAddress });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 404) throw notFound('floating IP not found');
      if (error.status === 403) throw forbidden(error.message);
      // Neutron's 400/409 (no router reaches the port's subnet, already associated): Nova's FloatingIpAssociateFailed.
      throw badRequest(`Unable to associate floating IP ${address} to fixed IP ${fixedAddress} for instance ${instance.id}. Error: ${error.message}`);
    }
  }

  async disassociate(caller: SecurityGroupCaller, id: string): Promise<void> {
    try {
      await updateFloatingIp(this.ctx, caller, id, { port_id: null });
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }
}
