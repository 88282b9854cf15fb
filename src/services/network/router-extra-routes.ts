import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { invalidInput, now } from './common.js';
import { canonicalAddress, contains, isAddress, parseCidr, versionOf } from './ipam.js';
import type { HostRoute, Port, Router, Subnet } from './model.js';
import { ATTEMPTS, MAX_ROUTES, routerPorts, visibleRouter } from './router-common.js';

/** A router's static routes (Neutron's extraroute and extraroute-atomic). */

const formatRoutes = (routes: HostRoute[]) => `[${routes.map((r) => `{'destination': '${r.destination}', 'nexthop': '${r.nexthop}'}`).join(', ')}]`;

export function readRoutes(value: unknown, routerId: string): HostRoute[] {
  if (value === null) return [];
  // The schema let through `[{destination, nexthop}]` of strings.
  const routes = (value as HostRoute[]).map((r) => {
    if (!isAddress(r.nexthop)) throw invalidInput(`'${r.nexthop.slice(0, 64)}' is not a valid IP address`);
    const destination = parseCidr(r.destination);
    if (destination.version !== versionOf(r.nexthop)) throw invalidInput(`host route ${r.destination} via ${r.nexthop} mixes IP versions.`);
    return { destination: destination.text, nexthop: canonicalAddress(r.nexthop) };
  });
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.destination}|${r.nexthop}`;
    if (seen.has(key)) throw invalidInput(`Duplicate hostroute '${JSON.stringify({ destination: r.destination, nexthop: r.nexthop })}'`);
    seen.add(key);
  }
  if (routes.length > MAX_ROUTES) {
    throw new NeutronError(400, 'RoutesExhausted', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
  }
  return routes;
}

/**
 * Neutron's _validate_routes: each nexthop lies on a subnet of one of the router's ports
 * (plus `extraSubnets`, a gateway network being set) and is not one of the router's own addresses.
 */
export async function validateRoutes(ctx: NetworkContext, routes: HostRoute[], ports: Port[], extraSubnets: Subnet[]): Promise<void> {
  if (routes.length === 0) return;
  const subnets = [...(await ctx.records.listSubnets({ ids: [...new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.subnetId)))] })), ...extraSubnets];
  const cidrs = subnets.map((s) => parseCidr(s.cidr));
  const own = new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.ipAddress)));
  for (const route of routes) {
    if (!cidrs.some((c) => contains(c, route.nexthop))) {
      throw new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${formatRoutes(routes)}, the nexthop is not connected with router`);
    }
    if (own.has(route.nexthop)) {
      throw new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${formatRoutes(routes)}, the nexthop is used by router`);
    }
  }
}

/** PUT /routers/{id}/add_extraroutes and remove_extraroutes: `{"router": {"routes": [...]}}`. */
export async function changeExtraRoutes(ctx: NetworkContext, caller: Caller, id: string, inner: Json, add: boolean): Promise<Router> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, add ? 'add_extraroutes' : 'remove_extraroutes', { project_id: router.projectId });
  const given = readRoutes(inner.routes, id);
  const key = (r: HostRoute) => `${r.destination}|${r.nexthop}`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = await ctx.l3.getRouter(id);
    if (!current) throw notFound('Router', id);
    const drop = new Set(given.map(key));
    const routes = add
      ? [...current.routes, ...given.filter((r) => !current.routes.some((c) => key(c) === key(r)))]
      : current.routes.filter((r) => !drop.has(key(r)));
    if (routes.length > MAX_ROUTES) {
      throw new NeutronError(400, 'RoutesExhausted', `Unable to complete operation for ${id}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
    }
    if (add) await validateRoutes(ctx, given, await routerPorts(ctx, id), []);
    const next: Router = { ...current, routes, updatedAt: now(), revisionNumber: current.revisionNumber + 1 };
    if (await ctx.l3.updateRouter(next, current.revisionNumber)) {
      ctx.changed(new Set((await routerPorts(ctx, id)).map((p) => p.networkId)));
      return next;
    }
  }
  throw new NeutronError(409, 'Conflict', `Router ${id} was changed by concurrent requests; try again.`);
}

