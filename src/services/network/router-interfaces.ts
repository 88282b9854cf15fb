import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { now, uuidOf } from './common.js';
import { contains, parseCidr, toBig } from './ipam.js';
import { DEVICE_OWNER_ROUTER_INTERFACE, type Port, type Router, type Subnet } from './model.js';
import { visibleNetwork } from './networks.js';
import { createServicePort, visiblePort } from './ports.js';
import { badRequest, refuseOverlaps, routerPorts, visibleRouter } from './router-common.js';
import { visibleSubnet } from './subnets.js';

/** A router's interfaces on tenant subnets (Neutron's add_router_interface and remove_router_interface). */

export interface RouterInterfaceInfo {
  routerId: string;
  projectId: string;
  portId: string;
  networkId: string;
  subnetIds: string[];
}

/** `{subnet_id}` or `{port_id}` (both, on removal), as the route's schema let them through (attributes/schemas.ts). */
function readInterfaceInfo(body: Json): { portId?: string; subnetId?: string } {
  return {
    ...(typeof body.port_id === 'string' ? { portId: uuidOf(body.port_id) } : {}),
    ...(typeof body.subnet_id === 'string' ? { subnetId: uuidOf(body.subnet_id) } : {}),
  };
}

export async function addRouterInterface(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<RouterInterfaceInfo> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'add_router_interface', { project_id: router.projectId });
  const info = readInterfaceInfo(body);
  const ports = await routerPorts(ctx, id);
  let port: Port;
  let subnets: Subnet[];
  if (info.portId) {
    ({ port, subnets } = await attachPort(ctx, caller, router, info.portId, ports));
  } else {
    const subnet = await visibleSubnet(ctx, caller, info.subnetId as string);
    if (!subnet.gatewayIp) throw badRequest('router', 'Subnet for router interface must have a gateway IP');
    if (subnet.projectId !== caller.projectId && !caller.isAdmin) {
      throw badRequest('router', `Cannot add interface to router because subnet ${subnet.id} is not owned by project making the request`);
    }
    refuseExternallyAddressed(subnet);
    await refuseOverlaps(ctx, ports, [subnet]);
    const network = await visibleNetwork(ctx, caller, subnet.networkId);
    // The router takes the subnet's gateway address; a port already holding it is a 409 from IPAM.
    port = await createServicePort(
      ctx,
      network,
      { projectId: router.projectId, deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE, deviceId: router.id, status: 'ACTIVE' },
      [{ subnetId: subnet.id, ipAddress: subnet.gatewayIp }],
    );
    subnets = [subnet];
  }
  // A router deleted while this request ran must not keep an interface.
  if (!(await ctx.l3.getRouter(id))) {
    if (info.portId) await ctx.records.updatePort({ ...port, deviceId: '', deviceOwner: '' }, { fixedIps: false, securityGroups: false });
    else await ctx.records.deletePort(port.id);
    throw notFound('Router', id);
  }
  ctx.changed(new Set([port.networkId, ...(router.gatewayNetworkId ? [router.gatewayNetworkId] : [])]));
  return { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds: subnets.map((s) => s.id) };
}

/** Neutron's _validate_subnet_address_mode: a subnet addressed by an outside router's RAs cannot join. */
function refuseExternallyAddressed(subnet: Subnet): void {
  if (subnet.ipVersion === 6 && subnet.ipv6RaMode === null && subnet.ipv6AddressMode !== null) {
    throw badRequest('router', `IPv6 subnet ${subnet.id} configured to receive RAs from an external router cannot be added to Neutron Router.`);
  }
}

async function attachPort(ctx: NetworkContext, caller: Caller, router: Router, portId: string, ports: Port[]): Promise<{ port: Port; subnets: Subnet[] }> {
  const port = await visiblePort(ctx, caller, portId);
  if (port.deviceId !== '') {
    throw new NeutronError(
      409,
      'PortInUse',
      `Unable to complete operation on port ${port.id} for network ${port.networkId}. Port already has an attached device ${port.deviceId}.`,
    );
  }
  if (port.fixedIps.length === 0) throw badRequest('router', 'Router port must have at least one fixed IP');
  if (port.fixedIps.length > 1) throw badRequest('router', 'Router port must have exactly one fixed IP');
  const subnets = await ctx.records.listSubnets({ ids: port.fixedIps.map((f) => f.subnetId) });
  for (const subnet of subnets) refuseExternallyAddressed(subnet);
  await refuseOverlaps(ctx, ports, subnets);
  // Neutron's _validate_port_in_range_or_admin: an address outside the pools is the subnet owner's to give.
  if (!caller.isAdmin) {
    for (const ip of port.fixedIps) {
      const subnet = subnets.find((s) => s.id === ip.subnetId);
      if (subnet && subnet.projectId !== caller.projectId && !inPools(subnet, ip.ipAddress)) {
        throw badRequest(
          'router',
          `Cannot add interface to router because specified port ${port.id} has an IP address out of the allocation pool of subnet ${subnet.id}, which is not owned by the project making the request`,
        );
      }
    }
  }
  const updated: Port = {
    ...port,
    deviceId: router.id,
    deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE,
    status: 'ACTIVE',
    updatedAt: now(),
    revisionNumber: port.revisionNumber + 1,
  };
  await ctx.records.updatePort(updated, { fixedIps: false, securityGroups: false });
  return { port: updated, subnets };
}

function inPools(subnet: Subnet, address: string): boolean {
  if (!contains(parseCidr(subnet.cidr), address)) return false;
  const n = toBig(address);
  return subnet.allocationPools.some((p) => toBig(p.start) <= n && n <= toBig(p.end));
}

export async function removeRouterInterface(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<RouterInterfaceInfo> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'remove_router_interface', { project_id: router.projectId });
  const info = readInterfaceInfo(body);
  const interfaces = (await routerPorts(ctx, id)).filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE);
  let result: RouterInterfaceInfo;
  if (info.portId) {
    const port = interfaces.find((p) => p.id === info.portId);
    if (!port) throw new NeutronError(404, 'RouterInterfaceNotFound', `Router ${id} does not have an interface with id ${info.portId}`);
    const subnetIds = port.fixedIps.map((f) => f.subnetId);
    if (info.subnetId && !subnetIds.includes(info.subnetId)) {
      throw new NeutronError(400, 'SubnetMismatchForPort', `Subnet on port ${port.id} does not match the requested subnet ${info.subnetId}.`);
    }
    const subnets = await ctx.records.listSubnets({ ids: subnetIds });
    for (const subnet of subnets) await refuseIfInUse(ctx, router, subnet);
    await ctx.records.deletePort(port.id);
    result = { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds };
  } else {
    const subnet = await visibleSubnet(ctx, caller, info.subnetId as string);
    const port = interfaces.find((p) => p.networkId === subnet.networkId && p.fixedIps.some((f) => f.subnetId === subnet.id));
    if (!port) throw new NeutronError(404, 'RouterInterfaceNotFoundForSubnet', `Router ${id} has no interface on subnet ${subnet.id}`);
    await refuseIfInUse(ctx, router, subnet);
    const remaining = port.fixedIps.filter((f) => f.subnetId !== subnet.id);
    // A port with addresses on several subnets only gives this one up.
    if (remaining.length > 0) {
      await ctx.records.updatePort({ ...port, fixedIps: remaining, updatedAt: now(), revisionNumber: port.revisionNumber + 1 }, { fixedIps: true, securityGroups: false });
    } else {
      await ctx.records.deletePort(port.id);
    }
    result = { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds: [subnet.id] };
  }
  ctx.changed(new Set([result.networkId, ...(router.gatewayNetworkId ? [router.gatewayNetworkId] : [])]));
  return result;
}

/** Neutron's _confirm_router_interface_not_in_use, with extraroute's check of the nexthops. */
async function refuseIfInUse(ctx: NetworkContext, router: Router, subnet: Subnet): Promise<void> {
  const cidr = parseCidr(subnet.cidr);
  for (const fip of await ctx.l3.listFloatingIps({ routerId: router.id })) {
    if (!fip.fixedIpAddress || !fip.portId || !contains(cidr, fip.fixedIpAddress)) continue;
    const port = await ctx.records.getPort(fip.portId);
    if (port?.fixedIps.some((f) => f.subnetId === subnet.id)) {
      throw new NeutronError(
        409,
        'RouterInterfaceInUseByFloatingIP',
        `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`,
      );
    }
  }
  if (router.routes.some((r) => contains(cidr, r.nexthop))) {
    throw new NeutronError(
      409,
      'RouterInterfaceInUseByRoute',
      `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`,
    );
  }
}
