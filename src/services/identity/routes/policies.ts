import type { FastifyInstance } from 'fastify';
import { queryString, type Json } from '../../../core/http/body.js';
import { badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import type { PolicyBlob } from '../store/policies.js';
import { collection } from '../render.js';
import { policyCreate, policyUpdate, type PolicyBody } from '../schemas.js';
import { authorize, notFoundError, requestUrl } from './common.js';

/** /v3/policies: Keystone keeps these blobs for other services; nothing here enforces them. */
export function policyRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const store = ctx.stores.policies;
  const render = (p: PolicyBlob): Json => ({
    id: p.id,
    type: p.type,
    blob: p.blob,
    links: { self: `${ctx.baseUrl}/policies/${p.id}` },
  });
  const load = async (id: string): Promise<PolicyBlob> => (await store.get(id)) ?? Promise.reject(notFoundError('policy', id));

  app.post<{ Body: { policy: PolicyBody } }>('/v3/policies', { schema: { body: policyCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_policy');
    const body = request.body.policy;
    const policy: PolicyBlob = { id: newHexId(), type: body.type ?? '', blob: body.blob ?? '' };
    await store.create(policy);
    reply.code(201);
    return { policy: render(policy) };
  });

  app.get('/v3/policies', async (request) => {
    authorize(ctx, request, 'identity:list_policies');
    const type = queryString(request.query, 'type');
    const policies = await store.list(type !== undefined ? { type } : {});
    return collection('policies', policies.map(render), requestUrl(ctx, request));
  });

  app.get<{ Params: { id: string } }>('/v3/policies/:id', async (request) => {
    authorize(ctx, request, 'identity:get_policy');
    return { policy: render(await load(request.params.id)) };
  });

  app.patch<{ Params: { id: string }; Body: { policy: PolicyBody } }>('/v3/policies/:id', { schema: { body: policyUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_policy');
    const body = request.body.policy;
    const policy = await load(request.params.id);
    if (body.id !== undefined && body.id !== policy.id) throw badRequest('The policy id cannot be changed.');
    const updated: PolicyBlob = {
      ...policy,
      type: body.type ?? policy.type,
      blob: body.blob ?? policy.blob,
    };
    await store.update(updated);
    return { policy: render(updated) };
  });

  app.delete<{ Params: { id: string } }>('/v3/policies/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_policy');
    const policy = await load(request.params.id);
    await store.delete(policy.id);
    reply.code(204).send();
  });
}
