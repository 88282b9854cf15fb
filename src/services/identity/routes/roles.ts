import type { FastifyInstance } from 'fastify';
import { queryString } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { applyInexactFilters } from '../list-filters.js';
import type { Role } from '../model.js';
import { collection, renderRole, renderRoleRef } from '../render.js';
import {
  addImpliedRole,
  checkImpliedRole,
  createRole,
  deleteRole,
  impliedRoles,
  listRoles,
  loadRole,
  removeImpliedRole,
  roleInferences,
  updateRole,
} from '../roles.js';
import { roleCreate, roleUpdate, type RoleBody } from '../schemas.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };
type Inference = { Params: { id: string; impliedId: string } };

/** /v3/roles and their inference rules: HTTP shapes and policy; the rules are in ../roles.ts. */
export function roleRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  app.get('/v3/roles', async (request) => {
    authorize(ctx, request, 'identity:list_roles');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const roles = await listRoles(ctx, {
      ...(name !== undefined ? { name } : {}),
      domainId: domainId ?? null,
    });
    return collection('roles', applyInexactFilters(request.query, roles.map((r) => renderRole(r, ctx.baseUrl))), requestUrl(ctx, request));
  });

  app.post<{ Body: { role: RoleBody } }>('/v3/roles', { schema: { body: roleCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_role');
    const role = await createRole(ctx, request.body.role);
    reply.code(201);
    return { role: renderRole(role, ctx.baseUrl) };
  });

  app.get<ById>('/v3/roles/:id', async (request) => {
    authorize(ctx, request, 'identity:get_role');
    return { role: renderRole(await loadRole(ctx, request.params.id), ctx.baseUrl) };
  });

  app.patch<ById & { Body: { role: RoleBody } }>('/v3/roles/:id', { schema: { body: roleUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_role');
    const role = await loadRole(ctx, request.params.id);
    return { role: renderRole(await updateRole(ctx, role, request.body.role), ctx.baseUrl) };
  });

  app.delete<ById>('/v3/roles/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_role');
    await deleteRole(ctx, await loadRole(ctx, request.params.id));
    reply.code(204).send();
  });

  // Implied roles: "prior implies implied".
  const rule = (prior: Role, implied: Role) => ({
    role_inference: { prior_role: renderRoleRef(prior, ctx.baseUrl), implies: renderRoleRef(implied, ctx.baseUrl) },
    links: { self: `${ctx.baseUrl}/roles/${prior.id}/implies/${implied.id}` },
  });

  app.get<ById>('/v3/roles/:id/implies', async (request) => {
    authorize(ctx, request, 'identity:list_implied_roles');
    const prior = await loadRole(ctx, request.params.id);
    const implied = await impliedRoles(ctx, prior);
    return {
      role_inference: { prior_role: renderRoleRef(prior, ctx.baseUrl), implies: implied.map((r) => renderRoleRef(r, ctx.baseUrl)) },
      links: { self: requestUrl(ctx, request) },
    };
  });

  app.put<Inference>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:create_implied_role');
    const prior = await loadRole(ctx, request.params.id);
    const implied = await loadRole(ctx, request.params.impliedId);
    await addImpliedRole(ctx, prior, implied);
    reply.code(201);
    return rule(prior, implied);
  });

  app.head<Inference>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:check_implied_role');
    await checkImpliedRole(ctx, request.params.id, request.params.impliedId);
    reply.code(204).send();
  });

  app.get<Inference>('/v3/roles/:id/implies/:impliedId', async (request) => {
    authorize(ctx, request, 'identity:get_implied_role');
    const prior = await loadRole(ctx, request.params.id);
    const implied = await loadRole(ctx, request.params.impliedId);
    await checkImpliedRole(ctx, prior.id, implied.id);
    return rule(prior, implied);
  });

  app.delete<Inference>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_implied_role');
    await removeImpliedRole(ctx, request.params.id, request.params.impliedId);
    reply.code(204).send();
  });

  app.get('/v3/role_inferences', async (request) => {
    authorize(ctx, request, 'identity:list_role_inference_rules');
    const inferences = (await roleInferences(ctx)).map(({ prior, implies }) => ({
      prior_role: renderRoleRef(prior, ctx.baseUrl),
      implies: implies.map((r) => renderRoleRef(r, ctx.baseUrl)),
    }));
    return { role_inferences: inferences, links: { self: requestUrl(ctx, request) } };
  });
}
