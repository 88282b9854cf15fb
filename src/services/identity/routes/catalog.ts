import type { FastifyInstance } from 'fastify';
import { envelope, optBool, optClearableString, optNullableString, optString, queryString, reqString } from '../../../core/http/body.js';
import { badRequest, conflict } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { extraAttributes } from '../extras.js';
import type { Endpoint, Region, Service } from '../model.js';
import { collection, renderEndpoint, renderRegion, renderService } from '../render.js';
import { authorize, notFoundError, requestUrl } from './common.js';

const INTERFACES = new Set(['public', 'internal', 'admin']);

export function catalogRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const store = ctx.stores.catalog;
  const loadRegion = async (id: string) => (await store.getRegion(id)) ?? Promise.reject(notFoundError('region', id));
  const loadService = async (id: string) => (await store.getService(id)) ?? Promise.reject(notFoundError('service', id));
  const loadEndpoint = async (id: string) => (await store.getEndpoint(id)) ?? Promise.reject(notFoundError('endpoint', id));

  // Regions
  app.get('/v3/regions', async (request) => {
    authorize(ctx, request, 'identity:list_regions');
    const parent = queryString(request.query, 'parent_region_id');
    const regions = await store.listRegions(parent !== undefined ? { parentRegionId: parent } : {});
    return collection('regions', regions.map((r) => renderRegion(r, ctx.baseUrl)), requestUrl(ctx, request));
  });
  const createRegion = async (body: Record<string, unknown>, fixedId?: string): Promise<Region> => {
    const bodyId = optString(body, 'id', { max: 255 });
    if (fixedId !== undefined) {
      if (fixedId.length > 255) throw badRequest("Invalid input for field 'id': longer than 255 characters.");
      if (bodyId !== undefined && bodyId !== fixedId) throw badRequest(`Conflicting region IDs specified: "${fixedId}" != "${bodyId}".`);
    }
    const id = fixedId ?? bodyId ?? newHexId();
    const parentRegionId = optNullableString(body, 'parent_region_id', { max: 255 }) ?? null;
    if (parentRegionId && !(await store.getRegion(parentRegionId))) throw badRequest(`Could not find the parent region ${parentRegionId}.`);
    if (await store.getRegion(id)) throw conflict(`Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
    const region: Region = {
      id,
      description: optClearableString(body, 'description', { max: 255 }) ?? '',
      parentRegionId,
      extra: extraAttributes(body, ['id', 'description', 'parent_region_id']),
    };
    await store.createRegion(region);
    ctx.changed();
    return region;
  };
  app.post('/v3/regions', async (request, reply) => {
    authorize(ctx, request, 'identity:create_region');
    const region = await createRegion(envelope(request.body, 'region'));
    reply.code(201);
    return { region: renderRegion(region, ctx.baseUrl) };
  });
  app.put<{ Params: { id: string } }>('/v3/regions/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:create_region');
    const region = await createRegion(envelope(request.body, 'region'), request.params.id);
    reply.code(201);
    return { region: renderRegion(region, ctx.baseUrl) };
  });
  app.get<{ Params: { id: string } }>('/v3/regions/:id', async (request) => {
    authorize(ctx, request, 'identity:get_region');
    return { region: renderRegion(await loadRegion(request.params.id), ctx.baseUrl) };
  });
  app.patch<{ Params: { id: string } }>('/v3/regions/:id', async (request) => {
    authorize(ctx, request, 'identity:update_region');
    const region = await loadRegion(request.params.id);
    const body = envelope(request.body, 'region');
    const parent = optNullableString(body, 'parent_region_id', { max: 255 });
    if (parent === region.id) throw badRequest('A region cannot be its own parent.');
    if (parent && !(await store.getRegion(parent))) throw badRequest(`Could not find the parent region ${parent}.`);
    const updated: Region = {
      ...region,
      description: optClearableString(body, 'description', { max: 255 }) ?? region.description,
      parentRegionId: parent === undefined ? region.parentRegionId : parent,
      extra: { ...region.extra, ...extraAttributes(body, ['id', 'description', 'parent_region_id']) },
    };
    await store.updateRegion(updated);
    ctx.changed();
    return { region: renderRegion(updated, ctx.baseUrl) };
  });
  app.delete<{ Params: { id: string } }>('/v3/regions/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_region');
    const region = await loadRegion(request.params.id);
    if ((await store.listRegions({ parentRegionId: region.id })).length > 0) {
      throw badRequest(`Region ${region.id} has child regions and cannot be deleted.`);
    }
    await store.deleteRegion(region.id);
    ctx.changed();
    reply.code(204).send();
  });

  // Services
  app.get('/v3/services', async (request) => {
    authorize(ctx, request, 'identity:list_services');
    const type = queryString(request.query, 'type');
    const name = queryString(request.query, 'name');
    const services = await store.listServices({ ...(type !== undefined ? { type } : {}), ...(name !== undefined ? { name } : {}) });
    return collection('services', services.map((s) => renderService(s, ctx.baseUrl)), requestUrl(ctx, request));
  });
  app.post('/v3/services', async (request, reply) => {
    authorize(ctx, request, 'identity:create_service');
    const body = envelope(request.body, 'service');
    const service: Service = {
      id: newHexId(),
      type: reqString(body, 'type', { max: 255 }),
      name: optString(body, 'name', { max: 255 }) ?? '',
      description: optString(body, 'description', { max: 65_535 }) ?? '',
      enabled: optBool(body, 'enabled') ?? true,
      extra: extraAttributes(body, ['type', 'name', 'description', 'enabled']),
    };
    await store.createService(service);
    ctx.changed();
    reply.code(201);
    return { service: renderService(service, ctx.baseUrl) };
  });
  app.get<{ Params: { id: string } }>('/v3/services/:id', async (request) => {
    authorize(ctx, request, 'identity:get_service');
    return { service: renderService(await loadService(request.params.id), ctx.baseUrl) };
  });
  app.patch<{ Params: { id: string } }>('/v3/services/:id', async (request) => {
    authorize(ctx, request, 'identity:update_service');
    const service = await loadService(request.params.id);
    const body = envelope(request.body, 'service');
    const updated: Service = {
      ...service,
      type: optString(body, 'type', { min: 1, max: 255 }) ?? service.type,
      name: optString(body, 'name', { max: 255 }) ?? service.name,
      description: optString(body, 'description', { max: 65_535 }) ?? service.description,
      enabled: optBool(body, 'enabled') ?? service.enabled,
      extra: { ...service.extra, ...extraAttributes(body, ['type', 'name', 'description', 'enabled']) },
    };
    await store.updateService(updated);
    ctx.changed();
    return { service: renderService(updated, ctx.baseUrl) };
  });
  app.delete<{ Params: { id: string } }>('/v3/services/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_service');
    await store.deleteService((await loadService(request.params.id)).id);
    ctx.changed();
    reply.code(204).send();
  });

  // Endpoints
  const readInterface = (value: string | undefined): Endpoint['interface'] | undefined => {
    if (value === undefined) return undefined;
    if (!INTERFACES.has(value)) throw badRequest(`Invalid interface '${value.slice(0, 32)}': use public, internal or admin.`);
    return value as Endpoint['interface'];
  };
  const checkUrl = (url: string): string => {
    if (!/^https?:\/\/\S+$/.test(url)) throw badRequest(`Invalid input for field 'url': not an http(s) URL.`);
    return url;
  };
  /**
   * The endpoint's region: `region_id` must name an existing region, while the v2-era
   * `region` attribute creates the region it names (as Keystone does).
   */
  const endpointRegion = async (body: Record<string, unknown>): Promise<string | null | undefined> => {
    const explicitRegion = optNullableString(body, 'region_id', { max: 255 });
    const legacyRegion = optNullableString(body, 'region', { max: 255 });
    const regionId = explicitRegion === undefined ? legacyRegion : explicitRegion;
    if (regionId && !(await store.getRegion(regionId))) {
      if (explicitRegion !== undefined) throw badRequest(`Could not find the region ${regionId}.`);
      await store.createRegion({ id: regionId, description: '', parentRegionId: null, extra: {} });
    }
    return regionId;
  };

  app.get('/v3/endpoints', async (request) => {
    authorize(ctx, request, 'identity:list_endpoints');
    const serviceId = queryString(request.query, 'service_id');
    const iface = readInterface(queryString(request.query, 'interface'));
    const regionId = queryString(request.query, 'region_id');
    const endpoints = await store.listEndpoints({
      ...(serviceId !== undefined ? { serviceId } : {}),
      ...(iface !== undefined ? { interface: iface } : {}),
      ...(regionId !== undefined ? { regionId } : {}),
    });
    return collection('endpoints', endpoints.map((e) => renderEndpoint(e, ctx.baseUrl)), requestUrl(ctx, request));
  });
  app.post('/v3/endpoints', async (request, reply) => {
    authorize(ctx, request, 'identity:create_endpoint');
    const body = envelope(request.body, 'endpoint');
    const serviceId = reqString(body, 'service_id', { max: 64 });
    if (!(await store.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
    const regionId = (await endpointRegion(body)) ?? null;
    const endpoint: Endpoint = {
      id: newHexId(),
      serviceId,
      interface: readInterface(reqString(body, 'interface')) as Endpoint['interface'],
      regionId,
      url: checkUrl(reqString(body, 'url', { max: 2048 })),
      enabled: optBool(body, 'enabled') ?? true,
      extra: extraAttributes(body, ['service_id', 'interface', 'region_id', 'region', 'url', 'enabled']),
    };
    await store.createEndpoint(endpoint);
    ctx.changed();
    reply.code(201);
    return { endpoint: renderEndpoint(endpoint, ctx.baseUrl) };
  });
  app.get<{ Params: { id: string } }>('/v3/endpoints/:id', async (request) => {
    authorize(ctx, request, 'identity:get_endpoint');
    return { endpoint: renderEndpoint(await loadEndpoint(request.params.id), ctx.baseUrl) };
  });
  app.patch<{ Params: { id: string } }>('/v3/endpoints/:id', async (request) => {
    authorize(ctx, request, 'identity:update_endpoint');
    const endpoint = await loadEndpoint(request.params.id);
    const body = envelope(request.body, 'endpoint');
    const serviceId = optString(body, 'service_id', { max: 64 });
    if (serviceId !== undefined && !(await store.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
    const regionId = await endpointRegion(body);
    const url = optString(body, 'url', { max: 2048 });
    const updated: Endpoint = {
      ...endpoint,
      serviceId: serviceId ?? endpoint.serviceId,
      interface: readInterface(optString(body, 'interface')) ?? endpoint.interface,
      regionId: regionId === undefined ? endpoint.regionId : regionId,
      url: url !== undefined ? checkUrl(url) : endpoint.url,
      enabled: optBool(body, 'enabled') ?? endpoint.enabled,
      extra: { ...endpoint.extra, ...extraAttributes(body, ['service_id', 'interface', 'region_id', 'region', 'url', 'enabled']) },
    };
    await store.updateEndpoint(updated);
    ctx.changed();
    return { endpoint: renderEndpoint(updated, ctx.baseUrl) };
  });
  app.delete<{ Params: { id: string } }>('/v3/endpoints/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_endpoint');
    await store.deleteEndpoint((await loadEndpoint(request.params.id)).id);
    ctx.changed();
    reply.code(204).send();
  });
}
