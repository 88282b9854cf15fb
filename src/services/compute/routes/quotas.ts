import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { showQuotaClass, showQuotaDefaults, showQuotaDetail, showQuotaSet, updateQuotaClass, updateQuotaSet } from '../quota-sets.js';
import { resetLimits } from '../quotas.js';
import { queryValue } from '../validate.js';

type IdParams = { id: string };

/** /os-quota-sets and /os-quota-class-sets. */
export function quotaRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  app.get<{ Params: IdParams }>('/os-quota-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:show', { project_id: request.params.id });
    return { quota_set: await showQuotaSet(ctx, request.params.id) };
  });
  app.get<{ Params: IdParams }>('/os-quota-sets/:id/detail', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:detail', { project_id: request.params.id });
    return { quota_set: await showQuotaDetail(ctx, request.params.id, queryValue(request.query, 'user_id')) };
  });
  app.get<{ Params: IdParams }>('/os-quota-sets/:id/defaults', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:defaults', { project_id: request.params.id });
    return { quota_set: await showQuotaDefaults(ctx, request.params.id) };
  });
  app.put<{ Params: IdParams }>('/os-quota-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:update', { project_id: request.params.id });
    return { quota_set: await updateQuotaSet(ctx, request.params.id, request.body) };
  });
  app.delete<{ Params: IdParams }>('/os-quota-sets/:id', async (request, reply) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-sets:delete', { project_id: request.params.id });
    await resetLimits(ctx, request.params.id);
    return reply.code(202).send();
  });

  app.get<{ Params: IdParams }>('/os-quota-class-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-class-sets:show', { quota_class: request.params.id });
    return { quota_class_set: await showQuotaClass(ctx, request.params.id) };
  });
  app.put<{ Params: IdParams }>('/os-quota-class-sets/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-quota-class-sets:update', { quota_class: request.params.id });
    return { quota_class_set: await updateQuotaClass(ctx, request.params.id, request.body) };
  });
}
