import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { isObject, queryString, type Json } from '../../../core/http/body.js';
import { badRequest } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';
import {
  createProjectLimits,
  createRegisteredLimits,
  deleteProjectLimit,
  deleteRegisteredLimit,
  listProjectLimits,
  listRegisteredLimits,
  loadProjectLimit,
  loadRegisteredLimit,
  updateProjectLimit,
  updateRegisteredLimit,
  type ProjectLimit,
  type RegisteredLimit,
} from '../limits.js';
import { authorize, requestUrl } from './common.js';

export function limitRoutes(app: FastifyInstance, ctx: IdentityContext): void {
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

  app.get('/v3/limits/model', async (request) => {
    authorize(ctx, request, 'identity:get_limit_model');
    return { model: { name: 'flat', description: 'Limit enforcement and validation does not take project hierarchy into consideration.' } };
  });

  app.post('/v3/registered_limits', async (request, reply) => {
    authorize(ctx, request, 'identity:create_registered_limits');
    const created = await createRegisteredLimits(ctx, list(request.body, 'registered_limits'));
    reply.code(201);
    return { registered_limits: created.map(renderRegistered) };
  });

  app.get('/v3/registered_limits', async (request) => {
    authorize(ctx, request, 'identity:list_registered_limits');
    const q = request.query;
    const serviceId = queryString(q, 'service_id');
    const regionId = queryString(q, 'region_id');
    const resourceName = queryString(q, 'resource_name');
    const limits = await listRegisteredLimits(ctx, {
      ...(serviceId !== undefined ? { service_id: serviceId } : {}),
      ...(regionId !== undefined ? { region_id: regionId } : {}),
      ...(resourceName !== undefined ? { resource_name: resourceName } : {}),
    });
    return { registered_limits: limits.map(renderRegistered), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  app.get<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request) => {
    authorize(ctx, request, 'identity:get_registered_limit');
    return { registered_limit: renderRegistered(await loadRegisteredLimit(ctx, request.params.id)) };
  });
  app.patch<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request) => {
    authorize(ctx, request, 'identity:update_registered_limit');
    return { registered_limit: renderRegistered(await updateRegisteredLimit(ctx, request.params.id, request.body)) };
  });
  app.delete<{ Params: { id: string } }>('/v3/registered_limits/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_registered_limit');
    await deleteRegisteredLimit(ctx, request.params.id);
    reply.code(204).send();
  });

  app.post('/v3/limits', async (request, reply) => {
    authorize(ctx, request, 'identity:create_limits');
    const created = await createProjectLimits(ctx, list(request.body, 'limits'));
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
    // A project member sees its own project's limits only.
    const projectId = isAdmin ? queryString(q, 'project_id') : caller.projectId ?? '';
    const limits = await listProjectLimits(ctx, {
      ...(serviceId !== undefined ? { service_id: serviceId } : {}),
      ...(regionId !== undefined ? { region_id: regionId } : {}),
      ...(resourceName !== undefined ? { resource_name: resourceName } : {}),
      ...(projectId !== undefined ? { project_id: projectId } : {}),
    });
    return { limits: limits.map(renderLimit), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  app.get<{ Params: { id: string } }>('/v3/limits/:id', async (request) => {
    const limit = await loadProjectLimit(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_limit', { target: { limit: { project_id: limit.project_id } } });
    return { limit: renderLimit(limit) };
  });
  app.patch<{ Params: { id: string } }>('/v3/limits/:id', async (request) => {
    authorize(ctx, request, 'identity:update_limit');
    return { limit: renderLimit(await updateProjectLimit(ctx, request.params.id, request.body)) };
  });
  app.delete<{ Params: { id: string } }>('/v3/limits/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_limit');
    await deleteProjectLimit(ctx, request.params.id);
    reply.code(204).send();
  });
}
