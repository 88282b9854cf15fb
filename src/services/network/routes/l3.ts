import type { FastifyInstance } from 'fastify';
import { EXTRA_ROUTES, FLOATING_IP, ROUTER } from '../attributes/resources.js';
import { resourceRoute, routerInterfaceRoute } from '../attributes/schemas.js';
import type { Json } from '../../../core/http/body.js';
import { callerFrom, type Caller, type NetworkContext } from '../context.js';
import { createFloatingIp, deleteFloatingIp, updateFloatingIp, visibleFloatingIp } from '../floating-ips.js';
import type { FloatingIp, Port, Router } from '../model.js';
import { renderFloatingIp, renderRouter, renderRouterInterface } from '../render.js';
import { addRouterInterface, changeExtraRoutes, createRouter, deleteRouter, removeRouterInterface, updateRouter, visibleRouter } from '../routers.js';
import { resourceRoutes } from './resource.js';

/** Routers (with interfaces and extra routes) and floating IPs. */
export function l3Routes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  const portsById = async (ids: Array<string | null>) => {
    const wanted = [...new Set(ids.filter((id): id is string => id !== null))];
    return new Map((await ctx.records.listPorts({ ids: wanted })).map((p): [string, Port] => [p.id, p]));
  };
  const routers = async (list: Router[], caller: Caller) => {
    const ports = await portsById(list.map((r) => r.gatewayPortId));
    return list.map((r) => renderRouter(r, r.gatewayPortId ? ports.get(r.gatewayPortId) : undefined, caller));
  };
  const floatingIps = async (list: FloatingIp[]) => {
    const ports = await portsById(list.map((f) => f.portId));
    return list.map((f) => renderFloatingIp(f, f.portId ? ports.get(f.portId) : undefined));
  };
  const one = async <T>(render: (list: T[], caller: Caller) => Promise<Json[]>, item: T, caller: Caller) => (await render([item], caller))[0] as Json;
  const own = (caller: Caller) => (caller.isAdmin ? {} : { projectId: caller.projectId });

  resourceRoutes(app, baseUrl, {
    attributes: ROUTER,
    list: async (caller) => routers(await ctx.l3.listRouters(own(caller)), caller),
    show: async (caller, id) => one(routers, await visibleRouter(ctx, caller, id), caller),
    create: async (caller, body) => one(routers, await createRouter(ctx, caller, body), caller),
    update: async (caller, id, body) => one(routers, await updateRouter(ctx, caller, id, body), caller),
    remove: (caller, id) => deleteRouter(ctx, caller, id),
  });

  // Member actions: bodies are bare objects (`{"subnet_id": ...}`), answers too.
  app.put<{ Params: { id: string }; Body: Json }>('/v2.0/routers/:id/add_router_interface', routerInterfaceRoute(true), async (request) =>
    renderRouterInterface(await addRouterInterface(ctx, callerFrom(request), request.params.id, request.body)),
  );
  app.put<{ Params: { id: string }; Body: Json }>('/v2.0/routers/:id/remove_router_interface', routerInterfaceRoute(false), async (request) =>
    renderRouterInterface(await removeRouterInterface(ctx, callerFrom(request), request.params.id, request.body)),
  );
  // extraroute-atomic: `{"router": {"routes": [...]}}` in, the whole router out.
  const extraRoutes = resourceRoute(EXTRA_ROUTES, 'update', ['routes']);
  app.put<{ Params: { id: string }; Body: { router: Json } }>('/v2.0/routers/:id/add_extraroutes', extraRoutes, async (request) => ({
    router: await one(routers, await changeExtraRoutes(ctx, callerFrom(request), request.params.id, request.body.router, true), callerFrom(request)),
  }));
  app.put<{ Params: { id: string }; Body: { router: Json } }>('/v2.0/routers/:id/remove_extraroutes', extraRoutes, async (request) => ({
    router: await one(routers, await changeExtraRoutes(ctx, callerFrom(request), request.params.id, request.body.router, false), callerFrom(request)),
  }));

  resourceRoutes(app, baseUrl, {
    attributes: FLOATING_IP,
    list: async (caller) => floatingIps(await ctx.l3.listFloatingIps(own(caller))),
    show: async (caller, id) => one(floatingIps, await visibleFloatingIp(ctx, caller, id), caller),
    create: async (caller, body) => one(floatingIps, await createFloatingIp(ctx, caller, body), caller),
    update: async (caller, id, body) => one(floatingIps, await updateFloatingIp(ctx, caller, id, body), caller),
    remove: (caller, id) => deleteFloatingIp(ctx, caller, id),
  });
}
