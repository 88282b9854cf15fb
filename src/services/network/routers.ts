import type { Json } from '../../core/http/body.js';
import { authorize, authorizeAttributes, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, now, str, newResource } from './common.js';
import { DEVICE_OWNER_ROUTER_INTERFACE, type Router } from './model.js';
import { checkQuota } from './quotas.js';
import { ATTEMPTS, routerPorts, visibleRouter } from './router-common.js';
import { readRoutes, validateRoutes } from './router-extra-routes.js';
import { authorizeGateway, planGateway, readGateway, refuseIfFloatingIps, type GatewayPlan, type GatewayRequest } from './router-gateway.js';

/**
 * Routers (Neutron's L3): create, update and delete here; the gateway, static routes and
 * interfaces each in a file of their own (router-gateway.ts, router-extra-routes.ts,
 * router-interfaces.ts), the SQL in router-store.ts, the HTTP shapes in routes/l3.ts.
 */
export { badRequest, routerPorts, visibleRouter } from './router-common.js';
export { changeExtraRoutes } from './router-extra-routes.js';
export { addRouterInterface, removeRouterInterface, type RouterInterfaceInfo } from './router-interfaces.js';

/** The project a create is for; naming another one takes an admin, as Neutron's populate_project_id says. */
export function requestedProject(body: Json, caller: Caller): string {
  const project = str(body, 'project_id');
  const tenant = str(body, 'tenant_id');
  if (project !== undefined && tenant !== undefined && project !== tenant) {
    throw new NeutronError(400, 'HTTPBadRequest', "'project_id' and 'tenant_id' do not match");
  }
  const projectId = project ?? tenant ?? caller.projectId;
  if (projectId !== caller.projectId && !caller.isAdmin) {
    throw new NeutronError(400, 'HTTPBadRequest', "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
  }
  return projectId;
}

/** `project_id`/`tenant_id` may be repeated on an update, never changed. */
function refuseReadOnly(body: Json, keys: Array<[string, unknown]>): void {
  for (const [key, current] of keys) {
    if (body[key] !== undefined && body[key] !== current) throw new NeutronError(400, 'HTTPBadRequest', `Cannot update read-only attribute ${key}`);
  }
}

/** The dvr/l3-ha flags a body sets, for their admin-only rules (any value, `false` too, as Neutron's policy sees it). */
function flagsSet(body: Json): Record<string, unknown> {
  return Object.fromEntries(['distributed', 'ha'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

/**
 * Neutron migrates a router between centralized, distributed and HA only while it is down
 * (DVRMigrationNotAllowed... the l3-ha and dvr "admin_state_up to False prior to upgrade" errors).
 */
function refuseFlagChangeWhileUp(router: Router, body: Json): void {
  const distributed = bool(body, 'distributed');
  const ha = bool(body, 'ha');
  const changes = (distributed !== undefined && distributed !== router.distributed) || (ha !== undefined && ha !== router.ha);
  if (!changes) return;
  const adminStateUp = bool(body, 'admin_state_up') ?? router.adminStateUp;
  if (router.adminStateUp || adminStateUp) {
    throw new NeutronError(400, 'BadRequest', 'Bad router request: Cannot change HA or distributed attribute of active routers. Please set router admin_state_up to False prior to upgrade.');
  }
  if (ha === true && (distributed ?? router.distributed)) {
    throw new NeutronError(400, 'BadRequest', 'Bad router request: Distributed HA routers are not supported by this cloud.');
  }
}

// --- routers ---

export async function createRouter(ctx: NetworkContext, caller: Caller, body: Json): Promise<Router> {
  const projectId = requestedProject(body, caller);
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_router', target);
  authorizeAttributes(ctx, caller, 'create_router', flagsSet(body), target);
  const gateway = readGateway(body.external_gateway_info);
  authorizeGateway(ctx, caller, 'create_router', gateway, target);
  await checkQuota(ctx, projectId, 'router');
  const router: Router = {
    ...newResource(body, projectId),
    adminStateUp: bool(body, 'admin_state_up') ?? true,
    status: 'ACTIVE',
    gatewayNetworkId: null,
    gatewayPortId: null,
    enableSnat: true,
    routes: [],
    distributed: bool(body, 'distributed') ?? false,
    ha: bool(body, 'ha') ?? false,
  };
  await ctx.l3.createRouter(router);
  if (!gateway) return router;
  try {
    // The gateway goes through the same path as an update, on the router just written.
    return await applyUpdate(ctx, caller, router.id, {}, gateway);
  } catch (error) {
    // Neutron's safe_creation: a router whose gateway failed is not left behind.
    await ctx.l3.deleteRouter(router.id);
    throw error;
  }
}

export async function updateRouter(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Router> {
  const router = await visibleRouter(ctx, caller, id);
  const target = { project_id: router.projectId };
  authorize(ctx, caller, 'update_router', target);
  authorizeAttributes(ctx, caller, 'update_router', flagsSet(body), target);
  refuseFlagChangeWhileUp(router, body);
  refuseReadOnly(body, [
    ['project_id', router.projectId],
    ['tenant_id', router.projectId],
  ]);
  const gateway = readGateway(body.external_gateway_info);
  authorizeGateway(ctx, caller, 'update_router', gateway, target);
  return applyUpdate(ctx, caller, id, body, gateway);
}

/**
 * Writes the body's attributes and, when given, the new gateway. The row is written only if
 * nobody changed the router meanwhile; otherwise the port made for this attempt goes and
 * the update starts over on what the other request left.
 */
async function applyUpdate(ctx: NetworkContext, caller: Caller, id: string, body: Json, gateway: GatewayRequest | null | undefined): Promise<Router> {
  // Parsed before the gateway is touched, so a malformed route changes nothing.
  const routes = body.routes === undefined ? undefined : readRoutes(body.routes, id);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const router = await ctx.l3.getRouter(id);
    if (!router) throw notFound('Router', id);
    let next: Router = {
      ...router,
      name: str(body, 'name') ?? router.name,
      description: str(body, 'description') ?? router.description,
      adminStateUp: bool(body, 'admin_state_up') ?? router.adminStateUp,
      distributed: bool(body, 'distributed') ?? router.distributed,
      ha: bool(body, 'ha') ?? router.ha,
      updatedAt: now(),
      revisionNumber: router.revisionNumber + 1,
    };
    let plan: GatewayPlan = { createdPort: undefined, obsoletePort: undefined, networks: [] };
    if (gateway !== undefined) {
      plan = await planGateway(ctx, caller, router, gateway);
      next = { ...next, ...plan.fields };
    }
    let written: boolean;
    try {
      if (routes !== undefined) {
        const ports = (await routerPorts(ctx, router.id)).filter((p) => p.id !== plan.obsoletePort?.id);
        if (plan.createdPort) ports.push(plan.createdPort);
        await validateRoutes(ctx, routes, ports, []);
        next = { ...next, routes };
      }
      written = await ctx.l3.updateRouter(next, router.revisionNumber);
    } catch (error) {
      // A refused update leaves no gateway port behind.
      if (plan.createdPort) await ctx.records.deletePort(plan.createdPort.id);
      throw error;
    }
    if (written) {
      if (plan.obsoletePort) await ctx.records.deletePort(plan.obsoletePort.id);
      const networks = [...plan.networks, ...(next.gatewayNetworkId ? [next.gatewayNetworkId] : [])];
      if (networks.length > 0 || body.routes !== undefined || body.admin_state_up !== undefined) {
        ctx.changed(new Set([...networks, ...(await routerPorts(ctx, id)).map((p) => p.networkId)]));
      }
      return next;
    }
    if (plan.createdPort) await ctx.records.deletePort(plan.createdPort.id);
  }
  throw new NeutronError(409, 'Conflict', `Router ${id} was changed by concurrent requests; try again.`);
}

export async function deleteRouter(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'delete_router', { project_id: router.projectId });
  const ports = await routerPorts(ctx, id);
  const interfaces = ports.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE);
  if (interfaces.length > 0) {
    throw new NeutronError(409, 'RouterInUse', `Router ${id} has ports still attached: ${interfaces.map((p) => p.id).join(', ')}`);
  }
  if (router.gatewayNetworkId) await refuseIfFloatingIps(ctx, router);
  await ctx.l3.deleteRouter(id);
  // The gateway port, and any left by an interrupted request, go with the router (if this
  // stops half-way, the port API lets such orphans be deleted since their router is gone).
  for (const port of ports) await ctx.records.deletePort(port.id);
  ctx.changed(new Set(ports.map((p) => p.networkId)));
}

