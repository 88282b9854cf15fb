import { isIPv4 } from 'node:net';
import { badRequest, conflict, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';

/**
 * addFloatingIp / removeFloatingIp (Nova's FloatingIPActionController, up to 2.43): a Neutron
 * floating IP pointed at one of the instance's fixed addresses, or taken off it.
 */
export async function addFloatingIp(ctx: ComputeContext, caller: Caller, instance: Instance, args: { address: string; fixed_address?: string }): Promise<void> {
  const network = ctx.network;
  // Without ports there is no network info (Nova's empty nw_info cache).
  const ports = network?.floatingIps ? await network.ports(instance) : [];
  if (!network?.floatingIps || ports.length === 0) throw badRequest('Instance network is not ready yet');
  const fixed = ports.flatMap((p) => p.fixedIps.map((f) => f.ipAddress));
  if (fixed.length === 0) throw badRequest('No fixed IPs associated to instance');
  let target = args.fixed_address;
  if (target !== undefined) {
    if (!fixed.includes(target)) throw badRequest('Specified fixed address not assigned to instance');
  } else {
    target = fixed.find((address) => isIPv4(address));
    if (target === undefined) {
      throw badRequest(
        `Unable to associate floating IP ${args.address} to any fixed IPs for instance ${instance.id}. Instance has no fixed IPv4 addresses to associate.`,
      );
    }
  }
  await network.floatingIps.associate(caller, instance, args.address, target);
}

export async function removeFloatingIp(ctx: ComputeContext, caller: Caller, instance: Instance, args: { address: string }): Promise<void> {
  const floatingIps = ctx.network?.floatingIps;
  if (!floatingIps) throw conflict(`Floating IP ${args.address} is not associated with instance ${instance.id}.`);
  const fip = await floatingIps.byAddress(caller, args.address);
  if (!fip.portId || fip.instanceId !== instance.id) throw conflict(`Floating IP ${args.address} is not associated with instance ${instance.id}.`);
  await floatingIps.disassociate(caller, fip.id);
}
