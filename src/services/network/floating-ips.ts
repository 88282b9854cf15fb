import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { invalidInput, newUuid, now, str, uuidOf } from './common.js';
import { canonicalAddress, isAddress, versionOf } from './ipam.js';
import {
  DEVICE_OWNER_DHCP,
  DEVICE_OWNER_FLOATINGIP,
  DEVICE_OWNER_ROUTER_GATEWAY,
  DEVICE_OWNER_ROUTER_INTERFACE,
  type FloatingIp,
  type Port,
} from './model.js';
import { visibleNetwork } from './networks.js';
import { visiblePort, type IpRequest } from './ports.js';
import { checkQuota } from './quotas.js';
import { createServicePort } from './ports.js';
import { badRequest, requestedProject } from './routers.js';

const READ_ONLY = ['floating_network_id', 'floating_ip_address', 'subnet_id', 'tenant_id', 'project_id'];
/**
 * The owners whose ports never take a floating IP: only DHCP's, as Neutron's is_fip_serviced.
 * A router's own ports are not refused here (a router interface may take one, as gophercloud's
 * acceptance test does); ports on the external network fail the reachability check instead.
 */
const UNSERVICED_OWNERS = [DEVICE_OWNER_DHCP];

export async function visibleFloatingIp(ctx: NetworkContext, caller: Caller, id: string): Promise<FloatingIp> {
  const fip = await ctx.l3.getFloatingIp(id);
  if (!fip || (!caller.isAdmin && fip.projectId !== caller.projectId)) throw notFound('FloatingIP', id);
  return fip;
}

/** Where a floating IP points: the internal port, which of its addresses, and the router joining them. */
interface Association {
  port: Port;
  fixedIpAddress: string;
  routerId: string;
}

export async function createFloatingIp(ctx: NetworkContext, caller: Caller, body: Json): Promise<FloatingIp> {
  const networkId = uuidOf(body.floating_network_id);
  const projectId = requestedProject(body, caller);
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_floatingip', target);
  const requestedAddress = readAddress(body, 'floating_ip_address');
  if (requestedAddress !== undefined) authorize(ctx, caller, 'create_floatingip:floating_ip_address', target);
  const subnetId = body.subnet_id === undefined || body.subnet_id === null ? undefined : uuidOf(body.subnet_id);
  const portId = body.port_id === undefined || body.port_id === null ? undefined : uuidOf(body.port_id);
  const fixedIpAddress = readAddress(body, 'fixed_ip_address');
  if (fixedIpAddress !== undefined && portId === undefined) throw badRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');

  const network = await visibleNetwork(ctx, caller, networkId);
  if (!network.external) throw badRequest('floatingip', `Network ${networkId} is not a valid external network`);
  const subnets = await ctx.records.listSubnets({ networkIds: [networkId] });
  if (!subnets.some((s) => s.ipVersion === 4)) throw badRequest('floatingip', `Network ${networkId} does not contain any IPv4 subnet`);
  if (subnetId !== undefined) {
    const subnet = subnets.find((s) => s.id === subnetId);
    if (!subnet) throw badRequest('floatingip', `Subnet ${subnetId} is not on network ${networkId}`);
    if (subnet.ipVersion !== 4) throw new NeutronError(400, 'ExternalIpAddressExhausted', `Unable to find any IP address on external network ${networkId}.`);
  }
  if (requestedAddress !== undefined && versionOf(requestedAddress) !== 4) {
    throw new NeutronError(400, 'ExternalIpAddressExhausted', `Unable to find any IP address on external network ${networkId}.`);
  }
  await checkQuota(ctx, projectId, 'floatingip');

  const id = newUuid();
  // Checked before the address is taken, so a refused association leaves nothing behind.
  const association = portId === undefined ? undefined : await associate(ctx, caller, { id, projectId, floatingNetworkId: networkId }, portId, fixedIpAddress);
  const requests: IpRequest[] | undefined =
    subnetId !== undefined || requestedAddress !== undefined
      ? [{ ...(subnetId !== undefined ? { subnetId } : {}), ...(requestedAddress !== undefined ? { ipAddress: requestedAddress } : {}) }]
      : undefined;
  // The external port is the service's, never the project's: Neutron leaves its project empty.
  const port = await createServicePort(ctx, network, { projectId: '', deviceOwner: DEVICE_OWNER_FLOATINGIP, deviceId: id, status: 'N/A' }, requests, true);
  const address = port.fixedIps.find((f) => versionOf(f.ipAddress) === 4);
  if (!address) {
    await ctx.records.deletePort(port.id);
    throw new NeutronError(400, 'ExternalIpAddressExhausted', `Unable to find any IP address on external network ${networkId}.`);
  }
  const stamp = now();
  const fip: FloatingIp = {
    id,
    projectId,
    name: '',
    description: str(body, 'description') ?? '',
    createdAt: stamp,
    updatedAt: stamp,
    revisionNumber: 0,
    tags: [],
    floatingNetworkId: networkId,
    floatingIpAddress: address.ipAddress,
    floatingPortId: port.id,
    portId: association?.port.id ?? null,
    fixedIpAddress: association?.fixedIpAddress ?? null,
    routerId: association?.routerId ?? null,
    status: association ? 'ACTIVE' : 'DOWN',
  };
  try {
    await ctx.l3.createFloatingIp(fip);
  } catch (error) {
    await ctx.records.deletePort(port.id);
    if (association && ctx.records.database.isUniqueViolation(error)) throw alreadyAssociated(fip, association);
    throw error;
  }
  ctx.changed(new Set([networkId, ...(association ? [association.port.networkId] : [])]));
  return fip;
}

export async function updateFloatingIp(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<FloatingIp> {
  const fip = await visibleFloatingIp(ctx, caller, id);
  authorize(ctx, caller, 'update_floatingip', { project_id: fip.projectId });
  const current: Record<string, unknown> = {
    floating_network_id: fip.floatingNetworkId,
    floating_ip_address: fip.floatingIpAddress,
    tenant_id: fip.projectId,
    project_id: fip.projectId,
  };
  for (const key of READ_ONLY) {
    if (body[key] !== undefined && body[key] !== current[key]) throw new NeutronError(400, 'HTTPBadRequest', `Cannot update read-only attribute ${key}`);
  }
  const portId = body.port_id === undefined || body.port_id === null ? (body.port_id as null | undefined) : uuidOf(body.port_id);
  const fixedIpAddress = readAddress(body, 'fixed_ip_address');
  if (fixedIpAddress !== undefined && !portId) throw badRequest('floatingip', 'fixed_ip_address cannot be specified without a port_id');

  let association: Association | null | undefined;
  if (portId === null) association = null;
  else if (portId !== undefined) association = await associate(ctx, caller, fip, portId, fixedIpAddress);
  const updated: FloatingIp = {
    ...fip,
    description: str(body, 'description') ?? fip.description,
    updatedAt: now(),
    revisionNumber: fip.revisionNumber + 1,
    ...(association === undefined
      ? {}
      : {
          portId: association?.port.id ?? null,
          fixedIpAddress: association?.fixedIpAddress ?? null,
          routerId: association?.routerId ?? null,
          status: association ? 'ACTIVE' : 'DOWN',
        }),
  };
  try {
    await ctx.l3.updateFloatingIp(updated);
  } catch (error) {
    if (association && ctx.records.database.isUniqueViolation(error)) throw alreadyAssociated(fip, association);
    throw error;
  }
  if (association !== undefined) {
    const networks = [fip.floatingNetworkId, ...(association ? [association.port.networkId] : [])];
    if (fip.portId) {
      const previous = await ctx.records.getPort(fip.portId);
      if (previous) networks.push(previous.networkId);
    }
    ctx.changed(new Set(networks));
  }
  return updated;
}

export async function deleteFloatingIp(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const fip = await visibleFloatingIp(ctx, caller, id);
  authorize(ctx, caller, 'delete_floatingip', { project_id: fip.projectId });
  const internal = fip.portId ? await ctx.records.getPort(fip.portId) : undefined;
  await ctx.l3.deleteFloatingIp(id);
  await ctx.records.deletePort(fip.floatingPortId);
  ctx.changed(new Set([fip.floatingNetworkId, ...(internal ? [internal.networkId] : [])]));
}

function readAddress(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!isAddress(value as string)) throw invalidInput(`'${String(value).slice(0, 64)}' is not a valid IP address`);
  // Stored addresses are canonical; compare like with like.
  return canonicalAddress(value as string);
}

const alreadyAssociated = (fip: Pick<FloatingIp, 'id' | 'floatingNetworkId'> & { floatingIpAddress?: string }, a: Association) =>
  new NeutronError(
    409,
    'FloatingIPPortAlreadyAssociated',
    `Cannot associate floating IP ${fip.floatingIpAddress ?? 'None'} (${fip.id}) with port ${a.port.id} using fixed IP ${a.fixedIpAddress}, as that fixed IP already has a floating IP on external network ${fip.floatingNetworkId}.`,
  );

/**
 * Neutron's _internal_fip_assoc_data and get_router_for_floatingip: the port must be the
 * floating IP project's, the address one of its IPv4 ones, and a router must join that
 * address's subnet to the floating network (the one holding the subnet's gateway address first).
 */
async function associate(
  ctx: NetworkContext,
  caller: Caller,
  fip: Pick<FloatingIp, 'id' | 'projectId' | 'floatingNetworkId'> & { floatingIpAddress?: string },
  portId: string,
  requestedFixedIp: string | undefined,
): Promise<Association> {
  const port = await visiblePort(ctx, caller, portId);
  if (port.projectId !== fip.projectId && !caller.isAdmin) {
    throw badRequest('floatingip', `Cannot process floating IP association with Port ${portId}, since that port is owned by a different tenant`);
  }
  if (UNSERVICED_OWNERS.includes(port.deviceOwner)) throw badRequest('floatingip', `Port ${portId} is unable to be assigned a floating IP`);
  let fixed;
  if (requestedFixedIp !== undefined) {
    if (versionOf(requestedFixedIp) !== 4) {
      throw badRequest('floatingip', `Cannot process floating IP association with ${requestedFixedIp}, since that is not an IPv4 address`);
    }
    fixed = port.fixedIps.find((f) => f.ipAddress === requestedFixedIp);
    if (!fixed) throw badRequest('floatingip', `Port ${portId} does not have fixed ip ${requestedFixedIp}`);
  } else {
    const v4 = port.fixedIps.filter((f) => versionOf(f.ipAddress) === 4);
    if (v4.length === 0) throw badRequest('floatingip', `Cannot add floating IP to port ${portId} that has no fixed IPv4 addresses`);
    if (v4.length > 1) {
      throw badRequest('floatingip', `Port ${portId} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 address when assigning a floating IP`);
    }
    fixed = v4[0] as (typeof v4)[number];
  }
  const routerId = await routerFor(ctx, port, fixed.subnetId, fip.floatingNetworkId);
  const association = { port, fixedIpAddress: fixed.ipAddress, routerId };
  const others = await ctx.l3.listFloatingIps({ portId, floatingNetworkId: fip.floatingNetworkId });
  if (others.some((o) => o.id !== fip.id && o.fixedIpAddress === fixed.ipAddress)) throw alreadyAssociated(fip, association);
  return association;
}

async function routerFor(ctx: NetworkContext, port: Port, subnetId: string, externalNetworkId: string): Promise<string> {
  const routers = await ctx.l3.listRouters({ gatewayNetworkIds: [externalNetworkId] });
  const routerIds = new Set(routers.map((r) => r.id));
  const subnet = await ctx.records.getSubnet(subnetId);
  const interfaces = (await ctx.records.listPorts({ networkIds: [port.networkId], deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE })).filter((p) =>
    routerIds.has(p.deviceId),
  );
  let first: string | undefined;
  for (const candidate of interfaces.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
    const address = candidate.fixedIps.find((f) => f.subnetId === subnetId);
    if (!address) continue;
    if (subnet && address.ipAddress === subnet.gatewayIp) return candidate.deviceId;
    first ??= candidate.deviceId;
  }
  if (first) return first;
  throw new NeutronError(
    404,
    'ExternalGatewayForFloatingIPNotFound',
    `External network ${externalNetworkId} is not reachable from subnet ${subnetId}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`,
  );
}
