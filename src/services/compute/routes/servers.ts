import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mapInTurns } from '../../../core/cooperative.js';
import { badRequest, callerFrom, conflict, forbidden, notFound, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { runAction, deleteInstance } from '../servers/actions.js';
import { remoteConsoleUrl, type RemoteConsoleProtocol } from '../servers/remote-console.js';
import { visibleInstance } from '../servers/access.js';
import { serverDiagnostics } from '../servers/diagnostics.js';
import { createServers, type ServerCreateBody } from '../servers/create.js';
import { renderSecurityGroup } from './security-groups.js';
import { listServers } from '../servers/list.js';
import { renderAddresses, renderBrief, renderServer, renderUpdatedServer } from '../servers/render.js';
import type { ServerServices } from '../servers/services.js';
import { hostStatus, reloadServer, saveServerMetadata, serverActionByRequest, serverActionEvents, serverActions, serverVolumes, updateServerAttributes } from '../servers/records.js';
import { serverAction } from '../schemas/actions.js';
import { createServer, listServersQuery, metadataBody, metadataItemBody, remoteConsole, updateServer } from '../schemas/servers.js';
import { bodyByVersion } from '../schemas/validation.js';

type IdParams = { id: string };

/** /servers: create, list, show, update, delete, actions, metadata, addresses and instance actions. */
export function serverRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices, baseUrl: () => string): void {
  const viewOptions = async (request: FastifyRequest, caller: Caller, instance: Instance) => {
    // The ports say what the server has; without a network service it has no ports.
    const network = ctx.network ? await ctx.network.view(caller, instance) : { addresses: [], securityGroups: [] };
    const volumes = (await serverVolumes(svc, instance.id)).map((d) => ({ volumeId: d.volumeId as string, deleteOnTermination: d.deleteOnTermination }));
    return { baseUrl: baseUrl(), version: request.computeVersion, isAdmin: caller.isAdmin, ...network, volumes };
  };
  const render = async (request: FastifyRequest, caller: Caller, instance: Instance) =>
    renderServer(instance, {
      ...(await viewOptions(request, caller, instance)),
      ...(request.computeVersion.atLeast('2.16') && ctx.enforcer.enforce('os_compute_api:servers:show:host_status', { project_id: instance.projectId }, caller.credentials)
        ? { hostStatus: await hostStatus(ctx, svc, instance) }
        : {}),
    });
  // PUT /servers/{id} and rebuild answer with Nova's update view (no extension attributes).
  const renderUpdated = async (request: FastifyRequest, caller: Caller, instance: Instance) =>
    renderUpdatedServer(instance, await viewOptions(request, caller, instance));
  const load = (request: FastifyRequest<{ Params: IdParams }>, caller: Caller, rule?: string) => visibleInstance(ctx, svc.instances, caller, request.params.id, rule);

  app.post<{ Body: ServerCreateBody }>('/servers', bodyByVersion(createServer), async (request, reply) => {
    const caller = callerFrom(request);
    const result = await createServers(ctx, svc, caller, request.body);
    const first = result.instances[0] as Instance;
    reply.code(202);
    if (result.returnReservationId) return { reservation_id: result.reservationId };
    reply.header('location', `${baseUrl()}/servers/${first.id}`);
    return {
      server: {
        id: first.id,
        links: renderBrief(first, baseUrl()).links,
        adminPass: result.adminPass,
        'OS-DCF:diskConfig': 'MANUAL',
        // As Nova: what the request asked for (the ports are not made yet).
        security_groups: result.requestedSecurityGroups.map((name) => ({ name })),
      },
    };
  });

  app.get('/servers', { schema: { querystring: listServersQuery } }, async (request) => {
    const caller = callerFrom(request);
    const listed = await listServers(ctx, svc.instances, caller, request.query, false, request.computeVersion);
    return {
      servers: await mapInTurns(listed.instances, (i) => renderBrief(i, baseUrl())),
      ...(listed.nextMarker ? { servers_links: [{ rel: 'next', href: nextHref(request, `${baseUrl()}/servers`, listed.nextMarker) }] } : {}),
    };
  });

  app.get('/servers/detail', { schema: { querystring: listServersQuery } }, async (request) => {
    const caller = callerFrom(request);
    const listed = await listServers(ctx, svc.instances, caller, request.query, true, request.computeVersion);
    // One after the other: started all at once, thousands of renders would each do their first
    // synchronous steps in the same turn of the event loop.
    const servers = [];
    for (const instance of listed.instances) servers.push(await render(request, caller, instance));
    return {
      servers,
      ...(listed.nextMarker ? { servers_links: [{ rel: 'next', href: nextHref(request, `${baseUrl()}/servers/detail`, listed.nextMarker) }] } : {}),
    };
  });

  app.get<{ Params: IdParams }>('/servers/:id', async (request) => {
    const caller = callerFrom(request);
    return { server: await render(request, caller, await load(request, caller)) };
  });

  type ServerUpdate = { server: { name?: string; description?: string | null; accessIPv4?: string; accessIPv6?: string } };
  app.put<{ Params: IdParams; Body: ServerUpdate }>('/servers/:id', bodyByVersion(updateServer), async (request) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:servers:update');
    return { server: await renderUpdated(request, caller, await updateServerAttributes(svc, instance, request.body.server)) };
  });

  app.delete<{ Params: IdParams }>('/servers/:id', async (request, reply) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:servers:delete');
    await deleteInstance(ctx, svc, caller, instance);
    reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/servers/:id/action', bodyByVersion(serverAction), async (request, reply) => {
    const caller = callerFrom(request);
    const result = await runAction(ctx, svc, caller, request.params.id, request.body, request.computeVersion);
    for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
    reply.code(result.status);
    if (result.server) {
      return { server: { ...(await renderUpdated(request, caller, await reloadServer(svc, request.params.id))), ...result.server } };
    }
    // Before 2.45 createImage answers with only the Location header.
    if (result.body === undefined || (result.headers?.location && !request.computeVersion.atLeast('2.45'))) return reply.send();
    return result.body;
  });

  metadataRoutes(app, ctx, svc);

  // From 2.6 one route serves every console protocol (the os-get*Console actions before it).
  type RemoteConsoleBody = { remote_console: { protocol: string; type: string } };
  app.post<{ Params: IdParams; Body: RemoteConsoleBody }>('/servers/:id/remote-consoles', bodyByVersion(remoteConsole), async (request) => {
    if (!request.computeVersion.atLeast('2.6')) throw notFound('The resource could not be found.');
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:os-remote-consoles');
    const { protocol, type } = request.body.remote_console;
    // The schema names every protocol and type Nova knows (mks from 2.8); each pair must agree.
    const pairs: Record<string, string[]> = { vnc: ['novnc', 'xvpvnc'], serial: ['serial'], spice: ['spice-html5'], rdp: ['rdp-html5'], mks: ['webmks'] };
    if (!pairs[protocol]?.includes(type)) throw badRequest(`Invalid console type ${type}`);
    const url = await remoteConsoleUrl(ctx, instance, protocol as RemoteConsoleProtocol, type);
    return { remote_console: { protocol, type, url } };
  });

  app.get<{ Params: IdParams }>('/servers/:id/ips', async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:ips:index');
    return { addresses: renderAddresses(ctx.network ? await ctx.network.addresses(instance) : []) };
  });

  app.get<{ Params: IdParams & { network: string } }>('/servers/:id/ips/:network', async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:ips:show');
    const all = renderAddresses(ctx.network ? await ctx.network.addresses(instance) : []);
    const found = all[request.params.network];
    if (!found) throw notFound('Network could not be found in the instance addresses.');
    return { [request.params.network]: found };
  });

  // Not one of the proxies 2.36 removed: Nova serves it at every microversion.
  app.get<{ Params: IdParams }>('/servers/:id/os-security-groups', async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:os-security-groups:list');
    const proxy = ctx.network?.securityGroups;
    if (!proxy) return { security_groups: [] };
    // The groups on the server's ports, whole, as os-security-groups shows them; a rule naming
    // another group of the project shows that group.
    const groups = await proxy.onInstance(caller, instance);
    const known = [...groups, ...(await proxy.list({ ...caller, projectId: instance.projectId }, false))];
    const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const sorted = [...groups].sort((a, b) => byCodePoint(a.projectId, b.projectId) || byCodePoint(a.name, b.name));
    return { security_groups: sorted.map((g) => renderSecurityGroup(g, known)) };
  });

  // Admin only (Nova's os-server-diagnostics rule); the free-form format, as Kumo stops before 2.48.
  app.get<{ Params: IdParams }>('/servers/:id/diagnostics', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-server-diagnostics');
    return serverDiagnostics(ctx, instance);
  });
  app.get<{ Params: IdParams }>('/servers/:id/os-instance-actions', async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:os-instance-actions:list');
    const actions = await serverActions(svc, instance.id);
    return { instanceActions: actions.map((a) => renderAction(a)) };
  });

  app.get<{ Params: IdParams & { requestId: string } }>('/servers/:id/os-instance-actions/:requestId', async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'os_compute_api:os-instance-actions:show');
    const action = await serverActionByRequest(svc, instance.id, request.params.requestId);
    if (!action) throw notFound(`Action for request_id ${request.params.requestId} on instance ${instance.id} not found`);
    const body: Record<string, unknown> = renderAction(action);
    if (ctx.enforcer.enforce('os_compute_api:os-instance-actions:events', { project_id: instance.projectId }, caller.credentials)) {
      body.events = (await serverActionEvents(svc, action.id)).map((e) => ({
        event: e.event,
        start_time: timeOf(e.start_time),
        finish_time: timeOf(e.finish_time),
        result: e.result,
        traceback: e.traceback,
      }));
    } else {
      body.events = (await serverActionEvents(svc, action.id)).map((e) => ({ event: e.event, start_time: timeOf(e.start_time), finish_time: timeOf(e.finish_time), result: e.result }));
    }
    return { instanceAction: body };
  });
}

const timeOf = (iso: string | null) => (iso ? `${iso.slice(0, 19)}.${iso.slice(20, 23)}000` : null);

function renderAction(a: { action: string; instance_id: string; request_id: string; user_id: string; project_id: string; start_time: string; message: string | null }) {
  return { action: a.action, instance_uuid: a.instance_id, request_id: a.request_id, user_id: a.user_id, project_id: a.project_id, start_time: timeOf(a.start_time), message: a.message };
}

function nextHref(request: FastifyRequest, base: string, marker: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query as Record<string, string | string[]>)) {
    if (key === 'marker') continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  params.set('marker', marker);
  return `${base}?${params.toString()}`;
}

/** /servers/{id}/metadata: the instance's key/value pairs (Nova's server metadata API). */
function metadataRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices): void {
  type KeyParams = IdParams & { key: string };
  const rule = (name: 'index' | 'show' | 'create' | 'update' | 'update_all' | 'delete') => `os_compute_api:server-metadata:${name}`;
  const load = (request: FastifyRequest<{ Params: IdParams }>, caller: Caller, action: Parameters<typeof rule>[0]) =>
    visibleInstance(ctx, svc.instances, caller, request.params.id, rule(action));
  const save = (instance: Instance, metadata: Record<string, string>) => saveServerMetadata(svc, instance, metadata);
  const writable = (instance: Instance, caller: Caller) => {
    if (instance.locked && !caller.isAdmin) throw conflict(`Instance ${instance.id} is locked`);
  };

  app.get<{ Params: IdParams }>('/servers/:id/metadata', async (request) => {
    const instance = await load(request, callerFrom(request), 'index');
    return { metadata: instance.metadata };
  });
  app.post<{ Params: IdParams; Body: { metadata: Record<string, string> } }>('/servers/:id/metadata', { schema: { body: metadataBody } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'create');
    writable(instance, caller);
    const merged = { ...instance.metadata, ...request.body.metadata };
    await save(instance, merged);
    return { metadata: merged };
  });
  app.put<{ Params: IdParams; Body: { metadata: Record<string, string> } }>('/servers/:id/metadata', { schema: { body: metadataBody } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'update_all');
    writable(instance, caller);
    const replaced = request.body.metadata;
    await save(instance, replaced);
    return { metadata: replaced };
  });
  app.get<{ Params: KeyParams }>('/servers/:id/metadata/:key', async (request) => {
    const instance = await load(request, callerFrom(request), 'show');
    const value = instance.metadata[request.params.key];
    if (value === undefined) throw notFound('Metadata item was not found');
    return { meta: { [request.params.key]: value } };
  });
  app.put<{ Params: KeyParams; Body: { meta: Record<string, string> } }>('/servers/:id/metadata/:key', { schema: { body: metadataItemBody } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'update');
    writable(instance, caller);
    const meta = request.body.meta;
    if (Object.keys(meta)[0] !== request.params.key) throw badRequest('Request body and URI mismatch');
    await save(instance, { ...instance.metadata, ...meta });
    return { meta };
  });
  app.delete<{ Params: KeyParams }>('/servers/:id/metadata/:key', async (request, reply: FastifyReply) => {
    const caller = callerFrom(request);
    const instance = await load(request, caller, 'delete');
    writable(instance, caller);
    if (instance.metadata[request.params.key] === undefined) throw notFound('Metadata item was not found');
    const rest = { ...instance.metadata };
    delete rest[request.params.key];
    await save(instance, rest);
    reply.code(204).send();
  });
}
