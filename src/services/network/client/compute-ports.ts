import { FixedIpAlreadyInUse, NetworkAmbiguous, NetworkNotFound, PortBindingFailed, PortInUse, PortNotFound, type FloatingIpProxy, type InstanceRef, type NetworkListProxy, type NetworkPorts, type RequestedNetwork, type SecurityGroupCaller, type SecurityGroupProxy, type ServerAddress, type ServerNetworkView } from '../../compute/client.js';
import { groupsOnPorts, instancePorts } from './instance-ports.js';
import { badRequest, forbidden, notFound } from './nova-errors.js';
import { InProcessSecurityGroups } from './compute-security-groups.js';
import { InProcessFloatingIps } from './compute-floating-ips.js';
import { InProcessNetworkList } from './compute-networks.js';
import { authorizeAttributes, type Caller as NetworkCaller, type NetworkContext } from '../context.js';
import { VIF_TYPE_BINDING_FAILED } from '../ml2/binding.js';
import { canonicalAddress, isAddress } from '../ipam.js';
import { visibleNetwork, visibleNetworks } from '../networks.js';
import { createPort, deletePort, updatePort } from '../ports.js';
import { defaultSecurityGroup } from '../security-groups.js';
import type { Network, Port } from '../model.js';

/**
 * Neutron in the same process, used as Nova uses it: ports are created in the instance's
 * project and bound to the instance's host with admin rights (binding:host_id is admin-only),
 * named by device_id = instance id and device_owner `compute:<zone>`.
 */
const UNBOUND = { device_id: '', device_owner: '', 'binding:host_id': '' };

export class InProcessNetworkPorts implements NetworkPorts {
  readonly securityGroups: SecurityGroupProxy;
  readonly floatingIps: FloatingIpProxy;
  readonly networks: NetworkListProxy;

  constructor(private readonly ctx: NetworkContext) {
    this.securityGroups = new InProcessSecurityGroups(ctx);
    this.floatingIps = new InProcessFloatingIps(ctx);
    this.networks = new InProcessNetworkList(ctx);
  }

  private caller(projectId: string): NetworkCaller {
    return { projectId, isAdmin: true, credentials: { user_id: 'nova', project_id: projectId, roles: ['admin', 'member', 'reader'] } };
  }

  /** The project's view of the networks (an admin's sees them all), for what Nova would list with the user's token. */
  private viewOf(projectId: string, isAdmin: boolean): NetworkCaller {
    return { projectId, isAdmin, credentials: { user_id: 'nova', project_id: projectId, roles: isAdmin ? ['admin', 'member', 'reader'] : ['member', 'reader'] } };
  }

  async validate(caller: SecurityGroupCaller, projectId: string, requested: RequestedNetwork[] | 'auto'): Promise<void> {
    if (requested === 'auto') {
      await this.autoNetwork(projectId);
      return;
    }
    for (const entry of requested) {
      if (entry.port) {
        const port = await this.ctx.records.getPort(entry.port);
        if (!port || port.projectId !== projectId) throw new PortNotFound(entry.port);
        if (port.deviceId) throw new PortInUse(entry.port);
      } else if (entry.uuid) {
        // Nova asks Neutron with the caller's token, and Neutron shows an admin every network
        // (and a project those shared or made external for it, RBAC entries included).
        const network = await visibleNetwork(this.ctx, this.viewOf(projectId, caller.isAdmin), entry.uuid).catch(() => undefined);
        if (!network) throw new NetworkNotFound(entry.uuid);
        // Nova's network:attach_external_network (admin only): everyone sees an external
        // network, but only an admin plugs a server into one that is not also shared.
        if (network.external && !network.shared && !caller.isAdmin) throw forbidden(`It is not allowed to create an interface on external network ${network.id}`);
        if (entry.fixed_ip) {
          const target = { project_id: projectId, 'network:project_id': network.projectId, 'network:shared': network.shared };
          authorizeAttributes(this.ctx, caller, 'create_port', { fixed_ips: [{ ip_address: entry.fixed_ip }] }, target);
          // Nova asks Neutron for a port holding the address first: a boot that could only fail
          // in the build is refused at once (Nova's FixedIpAlreadyInUse, a 400).
          const holder = (await this.ctx.records.portsWithAddress([network.id], isAddress(entry.fixed_ip) ? canonicalAddress(entry.fixed_ip) : entry.fixed_ip))[0];
          if (holder) throw new FixedIpAlreadyInUse(entry.fixed_ip, holder.deviceId);
        }
      }
    }
  }

  /** Nova's choice without a `networks` request: the project's only network, or none at all. */
  private async autoNetwork(projectId: string): Promise<Network | undefined> {
    const candidates = (await visibleNetworks(this.ctx, this.viewOf(projectId, false))).filter((n) => !n.external && (n.projectId === projectId || n.shared));
    if (candidates.length > 1) throw new NetworkAmbiguous();
    return candidates[0];
  }

  async allocate(instance: InstanceRef & { host: string; securityGroups: string[] }, requested: RequestedNetwork[] | 'auto'): Promise<string[]> {
    const caller = this.caller(instance.projectId);
    const groups = await this.securityGroupIds(instance.projectId, instance.securityGroups);
    const entries: RequestedNetwork[] = requested === 'auto' ? await this.autoNetwork(instance.projectId).then((n) => (n ? [{ uuid: n.id }] : [])) : requested;
    const binding = { device_id: instance.id, device_owner: 'compute:nova', 'binding:host_id': instance.host };
    const created: string[] = [];
    const bound: string[] = [];
    try {
      for (const entry of entries) {
        if (entry.port) {
          const port = await updatePort(this.ctx, caller, entry.port, binding);
          bound.push(port.id);
          if (port.bindingVifType === VIF_TYPE_BINDING_FAILED) throw new PortBindingFailed(port.id);
          continue;
        }
        const port = await createPort(this.ctx, caller, {
          network_id: entry.uuid,
          ...binding,
          security_groups: groups,
          ...(entry.fixed_ip ? { fixed_ips: [{ ip_address: entry.fixed_ip }] } : {}),
        });
        created.push(port.id);
        // As Nova checks each port it updates: a failed binding ends the allocation.
        if (port.bindingVifType === VIF_TYPE_BINDING_FAILED) throw new PortBindingFailed(port.id);
      }
    } catch (error) {
      // Undo this call only: ports the instance had before it stay as they were.
      for (const id of created) await deletePort(this.ctx, caller, id).catch(() => undefined);
      for (const id of bound) await updatePort(this.ctx, caller, id, UNBOUND).catch(() => undefined);
      throw error;
    }
    const ids = [...bound, ...created];
    return ids;
  }

  async deallocate(instance: InstanceRef, preserve: string[]): Promise<void> {
    for (const port of await instancePorts(this.ctx, instance)) {
      const caller = this.caller(port.projectId);
      if (preserve.includes(port.id)) await updatePort(this.ctx, caller, port.id, UNBOUND);
      else await deletePort(this.ctx, caller, port.id);
    }
  }

  async detach(instance: InstanceRef, portId: string, preserve: boolean): Promise<void> {
    const port = await this.ctx.records.getPort(portId);
    if (!port || port.deviceId !== instance.id || port.projectId !== instance.projectId) throw notFound(`Port ${portId} is not attached`);
    const caller = this.caller(port.projectId);
    if (preserve) await updatePort(this.ctx, caller, portId, UNBOUND);
    else await deletePort(this.ctx, caller, portId);
  }

  async addresses(instance: InstanceRef): Promise<ServerAddress[]> {
    return this.addressesOf(await instancePorts(this.ctx, instance));
  }

  async view(viewer: SecurityGroupCaller, instance: InstanceRef): Promise<ServerNetworkView> {
    const ports = await instancePorts(this.ctx, instance);
    const [addresses, groups] = await Promise.all([this.addressesOf(ports), groupsOnPorts(this.ctx, viewer, ports)]);
    // Neutron's name is optional: Nova shows the id of a group without one.
    return { addresses, securityGroups: groups.map((g) => g.name || g.id) };
  }

  private async addressesOf(ports: Port[]): Promise<ServerAddress[]> {
    const out: ServerAddress[] = [];
    for (const port of ports) {
      const network = await this.ctx.records.getNetwork(port.networkId);
      // Nova lists a floating IP right after the fixed address it is associated with.
      const floating = await this.ctx.l3.listFloatingIps({ portId: port.id });
      for (const ip of port.fixedIps) {
        const entry = { networkName: network?.name ?? port.networkId, networkId: port.networkId, portId: port.id, mac: port.macAddress };
        out.push({ ...entry, address: ip.ipAddress, version: ip.ipAddress.includes(':') ? 6 : 4, type: 'fixed' });
        for (const fip of floating.filter((f) => f.fixedIpAddress === ip.ipAddress)) {
          out.push({ ...entry, address: fip.floatingIpAddress, version: fip.floatingIpAddress.includes(':') ? 6 : 4, type: 'floating' });
        }
      }
    }
    return out;
  }

  async ports(instance: InstanceRef) {
    const ports = await instancePorts(this.ctx, instance);
    return ports.map((p) => ({ id: p.id, networkId: p.networkId, mac: p.macAddress, fixedIps: p.fixedIps, status: p.status }));
  }

  private async securityGroupIds(projectId: string, names: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const name of names) {
      if (name === 'default') {
        ids.push(await defaultSecurityGroup(this.ctx, projectId));
        continue;
      }
      const found = await this.ctx.groups.list({ projectId, name });
      const byId = found.length === 0 ? await this.ctx.groups.get(name) : undefined;
      const id = found[0]?.id ?? (byId?.project_id === projectId ? byId.id : undefined);
      if (!id) throw badRequest(`Security group ${name} not found for project ${projectId}.`);
      ids.push(id);
    }
    return ids;
  }
}
