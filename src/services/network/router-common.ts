import { NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { parseCidr } from './ipam.js';
import { DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE, type Port, type Router, type Subnet } from './model.js';

/** What the router files share: Neutron's words, the router a caller may see, its ports, and its subnets' rule. */

/** Neutron's max_routes default. */
export const MAX_ROUTES = 30;
/** How often an update is retried when a concurrent one changed the router in between. */
export const ATTEMPTS = 5;

/** Neutron's BadRequest: `Bad router request: ...`. */
export const badRequest = (resource: string, message: string) => new NeutronError(400, 'BadRequest', `Bad ${resource} request: ${message}.`);

export async function visibleRouter(ctx: NetworkContext, caller: Caller, id: string): Promise<Router> {
  const router = await ctx.l3.getRouter(id);
  if (!router || (!caller.isAdmin && router.projectId !== caller.projectId)) throw notFound('Router', id);
  return router;
}

/** The router's ports: its interfaces and its gateway. */
export async function routerPorts(ctx: NetworkContext, routerId: string): Promise<Port[]> {
  const ports = await ctx.records.listPorts({ deviceId: routerId });
  return ports.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE || p.deviceOwner === DEVICE_OWNER_ROUTER_GATEWAY);
}

/**
 * Neutron's _check_for_dup_router_subnets: one port per subnet on a router, and no two of
 * its subnets overlapping (the gateway counts with every subnet of its network).
 */
export async function refuseOverlaps(ctx: NetworkContext, ports: Port[], newSubnets: Subnet[]): Promise<void> {
  const newIds = new Set(newSubnets.map((s) => s.id));
  const attached = new Set<string>();
  for (const port of ports) {
    for (const ip of port.fixedIps) {
      if (newIds.has(ip.subnetId)) throw badRequest('router', `Router already has a port on subnet ${ip.subnetId}`);
      if (port.deviceOwner !== DEVICE_OWNER_ROUTER_GATEWAY) attached.add(ip.subnetId);
    }
    if (port.deviceOwner === DEVICE_OWNER_ROUTER_GATEWAY) {
      for (const s of await ctx.records.listSubnets({ networkIds: [port.networkId] })) attached.add(s.id);
    }
  }
  for (const existing of await ctx.records.listSubnets({ ids: [...attached] })) {
    const a = parseCidr(existing.cidr);
    for (const subnet of newSubnets) {
      const b = parseCidr(subnet.cidr);
      if (a.version === b.version && a.first <= b.last && b.first <= a.last) {
        throw badRequest('router', `Cidr ${subnet.cidr} of subnet ${subnet.id} overlaps with cidr ${existing.cidr} of subnet ${existing.id}`);
      }
    }
  }
}

