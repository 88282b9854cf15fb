import type { FastifyInstance } from 'fastify';
import { queryString, type Json } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { applyInexactFilters } from '../list-filters.js';
import { createPolicy, deletePolicy, listPolicies, loadPolicy, updatePolicy, type PolicyBlob } from '../policy-blobs.js';
import { collection } from '../render.js';
import { policyCreate, policyUpdate, type PolicyBody } from '../schemas.js';
import { authorize, requestUrl } from './common.js';

/** /v3/policies: Keystone keeps these blobs for other services; nothing here enforces them. */
export function policyRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const render = (p: PolicyBlob): Json => ({
    ...p.extra,
    id: p.id,
    type: p.type,
    blob: p.blob,
    links: { self: `${ctx.baseUrl}/policies/${p.id}` },
  });

  app.post<{ Body: { policy: PolicyBody } }>('/v3/policies', { schema: { body: policyCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_policy');
    const policy = await createPolicy(ctx, request.body.policy);
    reply.code(201);
    return { policy: render(policy) };
  });

  app.get('/v3/policies', async (request) => {
    authorize(ctx, request, 'identity:list_policies');
    const type = queryString(request.query, 'type');
    const policies = await listPolicies(ctx, type !== undefined ? { type } : {});
    // Keystone's policy list takes the inexact filters on type too (type__contains=json).
    return collection('policies', applyInexactFilters(request.query, policies.map(render), ['type']), requestUrl(ctx, request));
  });

  app.get<{ Params: { id: string } }>('/v3/policies/:id', async (request) => {
    authorize(ctx, request, 'identity:get_policy');
    return { policy: render(await loadPolicy(ctx, request.params.id)) };
  });

  app.patch<{ Params: { id: string }; Body: { policy: PolicyBody } }>('/v3/policies/:id', { schema: { body: policyUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_policy');
    return { policy: render(await updatePolicy(ctx, request.params.id, request.body.policy)) };
  });

  app.delete<{ Params: { id: string } }>('/v3/policies/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_policy');
    await deletePolicy(ctx, request.params.id);
    reply.code(204).send();
  });
}
