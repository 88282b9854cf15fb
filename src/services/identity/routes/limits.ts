import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { isObject, optInt, optNullableString, optString, queryString, reqString, type Json } from '../../../core/http/body.js';
import { badRequest, conflict } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import type { ProjectLimit, RegisteredLimit } from '../store/limits.js';
import { authorize, notFoundError, requestUrl } from './common.js';

const MAX_LIMIT = 2_147_483_647;

export function limitRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const store = ctx.stores.limits;
  const renderRegistered = (l: RegisteredLimit): Json => ({
    id: l.id,
    service_id: l.service_id,
    region_id: l.region_id,
    resource_name: l.resource_name,
    default_limit: l.default_limit,
    description: l.description || null,
    links: { self: `${ctx.baseUrl}/registered_limits/${l.id}` },
  });
  const renderLimit = (l: ProjectLimit): Json => ({
    id: l.id,
    project_id: l.project_id,
    domain_id: null,
    service_id: l.service_id,
    region_id: l.region_id,
    resource_name: l.resource_name,
    resource_limit: l.resource_limit,
    description: l.description || null,
    links: { self: `${ctx.baseUrl}/limits/${l.id}` },
  });
  const list = (body: unknown, key: string): Json[] => {
    if (!isObject(body) || !Array.isArray(body[key]) || body[key].length === 0 || !(body[key] as unknown[]).every(isObject)) {
      throw badRequest(`Invalid input for field '${key}': expected a non-empty list of objects.`);
    }
    return body[key] as Json[];
  };
  const checkRefs = async (item: Json): Promise<{ serviceId: string; regionId: string | null }> => {
    const serviceId = reqString(item, 'service_id', { max: 64 });
    if (!(await ctx.stores.catalog.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
    const regionId = optNullableString(item, 'region_id', { max: 255 }) ?? null;
    if (regionId && !(await ctx.stores.catalog.getRegion(regionId))) throw badRequest(`Could not find the region ${regionId}.`);
    return { serviceId, regionId };
  };

  app.get('/v3/limits/model', async (request) => {
    authorize(ctx, request, 'identity:get_limit_model');
    return { model: { name: 'flat', description: 'Limit enforcement and validation does not take project hierarchy into consideration.' } };
  });

  app.post('/v3/registered_limits', async (request, reply) => {
    authorize(ctx, request, 'identity:create_registered_limits');
    const created: RegisteredLimit[] = [];
    for (const item of list(request.body, 'registered_limits')) {
      const { serviceId, regionId } = await checkRefs(item);
      const resourceName = reqString(item, 'resource_name', { max: 255 });
      const existing = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
      if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate registered limit for ${resourceName}.`);
      const defaultLimit = optInt(item, 'default_limit', { min: -1, max: MAX_LIMIT });
      if (defaultLimit === undefined) throw badRequest("Invalid input for field 'default_limit': it is required.");
      created.push({
        id: newHexId(),
        service_id: serviceId,
        region_id: regionId,
        resource_name: resourceName,
        default_limit: defaultLimit,
        description: optString(item, 'description', { max: 255 }) ?? '',
      });
    }
    for (const l of created) await store.createRegistered(l);
    reply.code(201);
    return { registered_limits: created.map(renderRegistered) };
  });

  app.get('/v3/registered_limits', async (request) => {
    authorize(ctx, request, 'identity:list_registered_limits');
    const q = request.query;
    const serviceId = queryString(q, 'service_id');
    const regionId = queryString(q, 'region_id');
    const resourceName = queryString(q, 'resource_name');
    const limits = await store.listRegistered({
      ...(serviceId !== undefined ? { service_id: serviceId } : {}),
      ...(regionId !== undefined ? { region_id: regionId } : {}),
      ...(resourceName !== undefined ? { resource_name: resourceName } : {}),
    });
    return { registered_limits: limits.map(renderRegistered), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  const loadRegistered = async (id: string) => (await store.getRegistered(id)) ?? Promise.reject(notFoundError('registered limit', id));
  app.get<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request) => {
    authorize(ctx, request, 'identity:get_registered_limit');
    return { registered_limit: renderRegistered(await loadRegistered(request.params.id)) };
  });
  app.patch<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request) => {
    authorize(ctx, request, 'identity:update_registered_limit');
    const limit = await loadRegistered(request.params.id);
    const body = isObject(request.body) && isObject(request.body.registered_limit) ? request.body.registered_limit : undefined;
    if (!body) throw badRequest("Invalid input for field 'registered_limit': expected an object.");
    const updated: RegisteredLimit = {
      ...limit,
      default_limit: optInt(body, 'default_limit', { min: -1, max: MAX_LIMIT }) ?? limit.default_limit,
      description: optString(body, 'description', { max: 255 }) ?? limit.description,
      resource_name: optString(body, 'resource_name', { min: 1, max: 255 }) ?? limit.resource_name,
    };
    await store.updateRegistered(updated);
    return { registered_limit: renderRegistered(updated) };
  });
  app.delete<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_registered_limit');
    const limit = await loadRegistered(request.params.id);
    await store.deleteRegistered(limit.id);
    reply.code(204).send();
  });

  app.post('/v3/limits', async (request, reply) => {
    authorize(ctx, request, 'identity:create_limits');
    const created: ProjectLimit[] = [];
    for (const item of list(request.body, 'limits')) {
      const { serviceId, regionId } = await checkRefs(item);
      const projectId = reqString(item, 'project_id', { max: 64 });
      if (!(await ctx.stores.resources.getProject(projectId))) throw badRequest(`Could not find the project ${projectId}.`);
      const resourceName = reqString(item, 'resource_name', { max: 255 });
      const registered = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
      if (!registered.some((l) => l.region_id === regionId)) {
        throw badRequest(`No registered limit for ${resourceName} of service ${serviceId}: register it first.`);
      }
      const existing = await store.listLimits({ project_id: projectId, service_id: serviceId, resource_name: resourceName });
      if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate limit for ${resourceName} on project ${projectId}.`);
      const resourceLimit = optInt(item, 'resource_limit', { min: -1, max: MAX_LIMIT });
      if (resourceLimit === undefined) throw badRequest("Invalid input for field 'resource_limit': it is required.");
      created.push({
        id: newHexId(),
        project_id: projectId,
        service_id: serviceId,
        region_id: regionId,
        resource_name: resourceName,
        resource_limit: resourceLimit,
        description: optString(item, 'description', { max: 255 }) ?? '',
      });
    }
    for (const l of created) await store.createLimit(l);
    reply.code(201);
    return { limits: created.map(renderLimit) };
  });

  app.get('/v3/limits', async (request) => {
    authorize(ctx, request, 'identity:list_limits');
    const q = request.query;
    const caller = callerOf(request);
    const isAdmin = caller.roles.includes('admin');
    const serviceId = queryString(q, 'service_id');
    const regionId = queryString(q, 'region_id');
    const resourceName = queryString(q, 'resource_name');
    const projectId = isAdmin ? queryString(q, 'project_id') : caller.projectId ?? '';
    const limits = await store.listLimits({
      ...(serviceId !== undefined ? { service_id: serviceId } : {}),
      ...(regionId !== undefined ? { region_id: regionId } : {}),
      ...(resourceName !== undefined ? { resource_name: resourceName } : {}),
      ...(projectId !== undefined ? { project_id: projectId } : {}),
    });
    return { limits: limits.map(renderLimit), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  const loadLimit = async (id: string) => (await store.getLimit(id)) ?? Promise.reject(notFoundError('limit', id));
  app.get<{ Params: { id: string } }>('/v3/limits/:id', async (request) => {
    const limit = await loadLimit(request.params.id);
    authorize(ctx, request, 'identity:get_limit', { target: { limit: { project_id: limit.project_id } } });
    return { limit: renderLimit(limit) };
  });
  app.patch<{ Params: { id: string } }>('/v3/limits/:id', async (request) => {
    authorize(ctx, request, 'identity:update_limit');
    const limit = await loadLimit(request.params.id);
    const body = isObject(request.body) && isObject(request.body.limit) ? request.body.limit : undefined;
    if (!body) throw badRequest("Invalid input for field 'limit': expected an object.");
    const updated: ProjectLimit = {
      ...limit,
      resource_limit: optInt(body, 'resource_limit', { min: -1, max: MAX_LIMIT }) ?? limit.resource_limit,
      description: optString(body, 'description', { max: 255 }) ?? limit.description,
    };
    await store.updateLimit(updated);
    return { limit: renderLimit(updated) };
  });
  app.delete<{ Params: { id: string } }>('/v3/limits/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_limit');
    const limit = await loadLimit(request.params.id);
    await store.deleteLimit(limit.id);
    reply.code(204).send();
  });
}
