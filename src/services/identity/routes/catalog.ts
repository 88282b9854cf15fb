import type { FastifyInstance } from 'fastify';
import { queryString } from '../../../core/http/body.js';
import {
  createEndpoint,
  createRegion,
  createService,
  deleteEndpoint,
  deleteRegion,
  deleteService,
  listEndpoints,
  listRegions,
  listServices,
  loadEndpoint,
  loadRegion,
  loadService,
  readInterface,
  updateEndpoint,
  updateRegion,
  updateService,
} from '../catalog.js';
import type { IdentityContext } from '../context.js';
import { collection, renderEndpoint, renderRegion, renderService } from '../render.js';
import {
  endpointCreate,
  endpointUpdate,
  regionCreate,
  regionUpdate,
  serviceCreate,
  serviceUpdate,
  type EndpointBody,
  type RegionBody,
  type ServiceBody,
} from '../schemas.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };

/** /v3/regions, /v3/services, /v3/endpoints: HTTP shapes and policy; the rules are in ../catalog.ts. */
export function catalogRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  // Regions
  app.get('/v3/regions', async (request) => {
    authorize(ctx, request, 'identity:list_regions');
    const parent = queryString(request.query, 'parent_region_id');
    const regions = await listRegions(ctx, parent !== undefined ? { parentRegionId: parent } : {});
    return collection('regions', regions.map((r) => renderRegion(r, ctx.baseUrl)), requestUrl(ctx, request));
  });
  app.post<{ Body: { region: RegionBody } }>('/v3/regions', { schema: { body: regionCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_region');
    const region = await createRegion(ctx, request.body.region);
    reply.code(201);
    return { region: renderRegion(region, ctx.baseUrl) };
  });
  app.put<ById & { Body: { region: RegionBody } }>('/v3/regions/:id', { schema: { body: regionCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_region');
    const region = await createRegion(ctx, request.body.region, request.params.id);
    reply.code(201);
    return { region: renderRegion(region, ctx.baseUrl) };
  });
  app.get<ById>('/v3/regions/:id', async (request) => {
    authorize(ctx, request, 'identity:get_region');
    return { region: renderRegion(await loadRegion(ctx, request.params.id), ctx.baseUrl) };
  });
  app.patch<ById & { Body: { region: RegionBody } }>('/v3/regions/:id', { schema: { body: regionUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_region');
    const region = await loadRegion(ctx, request.params.id);
    return { region: renderRegion(await updateRegion(ctx, region, request.body.region), ctx.baseUrl) };
  });
  app.delete<ById>('/v3/regions/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_region');
    await deleteRegion(ctx, await loadRegion(ctx, request.params.id));
    reply.code(204).send();
  });

  // Services
  app.get('/v3/services', async (request) => {
    authorize(ctx, request, 'identity:list_services');
    const type = queryString(request.query, 'type');
    const name = queryString(request.query, 'name');
    const services = await listServices(ctx, { ...(type !== undefined ? { type } : {}), ...(name !== undefined ? { name } : {}) });
    return collection('services', services.map((s) => renderService(s, ctx.baseUrl)), requestUrl(ctx, request));
  });
  app.post<{ Body: { service: ServiceBody } }>('/v3/services', { schema: { body: serviceCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_service');
    const service = await createService(ctx, request.body.service);
    reply.code(201);
    return { service: renderService(service, ctx.baseUrl) };
  });
  app.get<ById>('/v3/services/:id', async (request) => {
    authorize(ctx, request, 'identity:get_service');
    return { service: renderService(await loadService(ctx, request.params.id), ctx.baseUrl) };
  });
  app.patch<ById & { Body: { service: ServiceBody } }>('/v3/services/:id', { schema: { body: serviceUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_service');
    const service = await loadService(ctx, request.params.id);
    return { service: renderService(await updateService(ctx, service, request.body.service), ctx.baseUrl) };
  });
  app.delete<ById>('/v3/services/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_service');
    await deleteService(ctx, await loadService(ctx, request.params.id));
    reply.code(204).send();
  });

  // Endpoints
  app.get('/v3/endpoints', async (request) => {
    authorize(ctx, request, 'identity:list_endpoints');
    const serviceId = queryString(request.query, 'service_id');
    const iface = readInterface(queryString(request.query, 'interface'));
    const regionId = queryString(request.query, 'region_id');
    const endpoints = await listEndpoints(ctx, {
      ...(serviceId !== undefined ? { serviceId } : {}),
      ...(iface !== undefined ? { interface: iface } : {}),
      ...(regionId !== undefined ? { regionId } : {}),
    });
    return collection('endpoints', endpoints.map((e) => renderEndpoint(e, ctx.baseUrl)), requestUrl(ctx, request));
  });
  app.post<{ Body: { endpoint: EndpointBody } }>('/v3/endpoints', { schema: { body: endpointCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_endpoint');
    const endpoint = await createEndpoint(ctx, request.body.endpoint);
    reply.code(201);
    return { endpoint: renderEndpoint(endpoint, ctx.baseUrl) };
  });
  app.get<ById>('/v3/endpoints/:id', async (request) => {
    authorize(ctx, request, 'identity:get_endpoint');
    return { endpoint: renderEndpoint(await loadEndpoint(ctx, request.params.id), ctx.baseUrl) };
  });
  app.patch<ById & { Body: { endpoint: EndpointBody } }>('/v3/endpoints/:id', { schema: { body: endpointUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_endpoint');
    const endpoint = await loadEndpoint(ctx, request.params.id);
    return { endpoint: renderEndpoint(await updateEndpoint(ctx, endpoint, request.body.endpoint), ctx.baseUrl) };
  });
  app.delete<ById>('/v3/endpoints/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_endpoint');
    await deleteEndpoint(ctx, await loadEndpoint(ctx, request.params.id));
    reply.code(204).send();
  });
}
