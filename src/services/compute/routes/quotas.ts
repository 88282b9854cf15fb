import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { showQuotaClass, showQuotaDefaults, showQuotaDetail, showQuotaSet, updateQuotaClass, updateQuotaSet } from '../quota-sets.js';
import { PROXIED_QUOTAS, resetLimits } from '../quotas.js';
import { queryValue } from '../validate.js';
import { quotaUserQuery, updateQuotaClassSet, updateQuotaSet as updateQuotaSetBody } from '../schemas/quotas.js';
import { bodyByVersion } from '../schemas/validation.js';
import type { QuotaSetBody } from '../quota-sets.js';

type IdParams = { id: string };

/**
 * From 2.36 Nova no longer proxies Neutron's quotas: their keys leave the bodies and a PUT
 * naming one is refused like any unknown key.
 */
function forVersion<T extends Record<string, unknown>>(request: FastifyRequest, set: T): T {
  if (!request.computeVersion.atLeast('2.36')) return set;
  return Object.fromEntries(Object.entries(set).filter(([key]) => !(key in PROXIED_QUOTAS))) as T;
}

/** /os-quota-sets and /os-quota-class-sets. */
export function quotaRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  app.get<{ Params: IdParams }>('/os-quota-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:show', { project_id: request.params.id });
    return { quota_set: forVersion(request, await showQuotaSet(ctx, request.params.id)) };
  });
  app.get<{ Params: IdParams }>('/os-quota-sets/:id/detail', { schema: { querystring: quotaUserQuery } }, async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:detail', { project_id: request.params.id });
    return { quota_set: forVersion(request, await showQuotaDetail(ctx, request.params.id, queryValue(request.query, 'user_id'))) };
  });
  app.get<{ Params: IdParams }>('/os-quota-sets/:id/defaults', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:defaults', { project_id: request.params.id });
    return { quota_set: forVersion(request, await showQuotaDefaults(ctx, request.params.id)) };
  });
  app.put<{ Params: IdParams; Body: QuotaSetBody }>('/os-quota-sets/:id', bodyByVersion(updateQuotaSetBody), async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:update', { project_id: request.params.id });
    return { quota_set: forVersion(request, await updateQuotaSet(ctx, request.params.id, request.body)) };
  });
  app.delete<{ Params: IdParams }>('/os-quota-sets/:id', async (request, reply) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:delete', { project_id: request.params.id });
    await resetLimits(ctx, request.params.id);
    return reply.code(202).send();
  });

  app.get<{ Params: IdParams }>('/os-quota-class-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-class-sets:show', { quota_class: request.params.id });
    return { quota_class_set: forVersion(request, await showQuotaClass(ctx, request.params.id)) };
  });
  app.put<{ Params: IdParams; Body: QuotaSetBody }>('/os-quota-class-sets/:id', bodyByVersion(updateQuotaClassSet), async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-class-sets:update', { quota_class: request.params.id });
    return { quota_class_set: forVersion(request, await updateQuotaClass(ctx, request.params.id, request.body)) };
  });
}
