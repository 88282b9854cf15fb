import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { queryString } from '../../../core/http/body.js';
import { ApiError } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';
import type { Trust } from '../model.js';
import { collection, renderRole, renderTrust } from '../render.js';
import { trustCreate } from '../schemas.js';
import { createTrust, deleteTrust, listTrusts, loadTrust, trustRoles, type TrustBody } from '../trusts.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };
type ByRole = { Params: { id: string; roleId: string } };

/** /v3/OS-TRUST/trusts: HTTP shapes and policy; the rules are in ../trusts.ts. */
export function trustRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const target = (t: Pick<Trust, 'trustorUserId' | 'trusteeUserId'>) => ({
    target: { trust: { trustor_user_id: t.trustorUserId, trustee_user_id: t.trusteeUserId } },
  });
  const render = async (t: Trust) => renderTrust(t, await trustRoles(ctx, t), ctx.baseUrl);

  app.post<{ Body: { trust: TrustBody } }>('/v3/OS-TRUST/trusts', { schema: { body: trustCreate } }, async (request, reply) => {
    const body = request.body.trust;
    authorize(ctx, request, 'identity:create_trust', { trust: { trustor_user_id: body.trustor_user_id } });
    const trust = await createTrust(ctx, callerOf(request), body);
    reply.code(201);
    return { trust: await render(trust) };
  });

  // tempest's trusts client lists with a trailing slash, which Keystone's router takes as the same path.
  const list = async (request: FastifyRequest) => {
    const trustorUserId = queryString(request.query, 'trustor_user_id');
    const trusteeUserId = queryString(request.query, 'trustee_user_id');
    // As Keystone: each filter is its own rule, checked against the id it names; no filter is the admin's list.
    if (trustorUserId !== undefined) authorize(ctx, request, 'identity:list_trusts_for_trustor', { target: { trust: { trustor_user_id: trustorUserId } } });
    if (trusteeUserId !== undefined) authorize(ctx, request, 'identity:list_trusts_for_trustee', { target: { trust: { trustee_user_id: trusteeUserId } } });
    if (trustorUserId === undefined && trusteeUserId === undefined) authorize(ctx, request, 'identity:list_trusts');
    const trusts = await listTrusts(ctx, { ...(trustorUserId !== undefined ? { trustorUserId } : {}), ...(trusteeUserId !== undefined ? { trusteeUserId } : {}) });
    const rendered = [];
    for (const trust of trusts) rendered.push(await render(trust));
    return collection('trusts', rendered, requestUrl(ctx, request));
  };
  app.get('/v3/OS-TRUST/trusts', list);
  app.get('/v3/OS-TRUST/trusts/', list);

  app.get<ById>('/v3/OS-TRUST/trusts/:id', async (request) => {
    const trust = await loadTrust(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_trust', target(trust));
    return { trust: await render(trust) };
  });

  app.delete<ById>('/v3/OS-TRUST/trusts/:id', async (request, reply) => {
    const trust = await loadTrust(ctx, request.params.id);
    authorize(ctx, request, 'identity:delete_trust', target(trust));
    await deleteTrust(ctx, trust);
    reply.code(204).send();
  });

  app.get<ById>('/v3/OS-TRUST/trusts/:id/roles', async (request) => {
    const trust = await loadTrust(ctx, request.params.id);
    authorize(ctx, request, 'identity:list_roles_for_trust', target(trust));
    const roles = await trustRoles(ctx, trust);
    return { roles: roles.map((r) => renderRole(r, ctx.baseUrl)), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  const delegatedRole = async (id: string, roleId: string) => {
    const trust = await loadTrust(ctx, id);
    const role = trust.roleIds.includes(roleId) ? await ctx.directory.roleById(roleId) : undefined;
    return { trust, role };
  };
  // HEAD comes with it (identity serves HEAD for every GET).
  app.get<ByRole>('/v3/OS-TRUST/trusts/:id/roles/:roleId', async (request) => {
    const { trust, role } = await delegatedRole(request.params.id, request.params.roleId);
    authorize(ctx, request, 'identity:get_role_for_trust', target(trust));
    if (!role) throw new ApiError(404, `Could not find role: ${request.params.roleId}.`);
    return { role: renderRole(role, ctx.baseUrl) };
  });
}
