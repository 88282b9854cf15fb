import type { FastifyInstance } from 'fastify';
import { envelope, optClearableString, optNullableString, optString, queryString, reqString } from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName, extraAttributes } from '../extras.js';
import type { Role } from '../model.js';
import { collection, renderRole, renderRoleRef } from '../render.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

const KNOWN = ['name', 'domain_id', 'description', 'options'];

export function roleRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const load = async (id: string): Promise<Role> => {
    const role = await ctx.stores.assignments.getRole(id);
    if (!role) throw notFoundError('role', id);
    return role;
  };

  app.get('/v3/roles', async (request) => {
    authorize(ctx, request, 'identity:list_roles');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const roles = await ctx.stores.assignments.listRoles({
      ...(name !== undefined ? { name } : {}),
      domainId: domainId ?? null,
    });
    return collection('roles', roles.map((r) => renderRole(r, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.post('/v3/roles', async (request, reply) => {
    authorize(ctx, request, 'identity:create_role');
    const body = envelope(request.body, 'role');
    const name = checkName(reqString(body, 'name'), 'name', 255);
    const domainId = optNullableString(body, 'domain_id', { max: 64 }) ?? null;
    if (domainId && !(await ctx.stores.resources.getDomain(domainId))) throw badRequest(`Could not find the domain ${domainId}.`);
    const role: Role = {
      id: newHexId(),
      name,
      domainId,
      description: optClearableString(body, 'description', { max: 255 }) ?? '',
      options: {},
      extra: extraAttributes(body, KNOWN),
    };
    if (await ctx.stores.assignments.getRoleByName(name, domainId)) throw duplicateError('role', name);
    try {
      await ctx.stores.assignments.createRole(role);
    } catch (error) {
      if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('role', name);
      throw error;
    }
    ctx.changed();
    reply.code(201);
    return { role: renderRole(role, ctx.baseUrl) };
  });

  app.get<{ Params: { id: string } }>('/v3/roles/:id', async (request) => {
    authorize(ctx, request, 'identity:get_role');
    return { role: renderRole(await load(request.params.id), ctx.baseUrl) };
  });

  app.patch<{ Params: { id: string } }>('/v3/roles/:id', async (request) => {
    authorize(ctx, request, 'identity:update_role');
    const role = await load(request.params.id);
    const body = envelope(request.body, 'role');
    if (body.domain_id !== undefined && body.domain_id !== role.domainId) throw badRequest('The role domain cannot be changed.');
    const name = optString(body, 'name');
    const updated: Role = {
      ...role,
      name: name !== undefined ? checkName(name) : role.name,
      description: optClearableString(body, 'description', { max: 255 }) ?? role.description,
      extra: { ...role.extra, ...extraAttributes(body, KNOWN) },
    };
    if (updated.name !== role.name && (await ctx.stores.assignments.getRoleByName(updated.name, role.domainId))) {
      throw duplicateError('role', updated.name);
    }
    await ctx.stores.assignments.updateRole(updated);
    ctx.changed();
    return { role: renderRole(updated, ctx.baseUrl) };
  });

  app.delete<{ Params: { id: string } }>('/v3/roles/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_role');
    const role = await load(request.params.id);
    await ctx.stores.assignments.deleteRole(role.id);
    ctx.changed();
    reply.code(204).send();
  });

  // Implied roles: "prior implies implied".
  const rule = (prior: Role, implied: Role) => ({
    role_inference: { prior_role: renderRoleRef(prior, ctx.baseUrl), implies: renderRoleRef(implied, ctx.baseUrl) },
    links: { self: `${ctx.baseUrl}/roles/${prior.id}/implies/${implied.id}` },
  });

  app.get<{ Params: { id: string } }>('/v3/roles/:id/implies', async (request) => {
    authorize(ctx, request, 'identity:list_implied_roles');
    const prior = await load(request.params.id);
    const implied: Role[] = [];
    for (const r of await ctx.stores.assignments.listImpliedRoles(prior.id)) {
      const role = await ctx.stores.assignments.getRole(r.impliedRoleId);
      if (role) implied.push(role);
    }
    return {
      role_inference: { prior_role: renderRoleRef(prior, ctx.baseUrl), implies: implied.map((r) => renderRoleRef(r, ctx.baseUrl)) },
      links: { self: requestUrl(ctx, request) },
    };
  });

  app.put<{ Params: { id: string; impliedId: string } }>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:create_implied_role');
    const prior = await load(request.params.id);
    const implied = await load(request.params.impliedId);
    if (prior.id === implied.id) throw badRequest('A role cannot imply itself.');
    if (prior.domainId === null && implied.domainId !== null) {
      throw new ApiError(403, `Global role ${prior.id} cannot imply the domain-specific role ${implied.id}.`);
    }
    const reachable = await ctx.directory.expand([implied.id]);
    if (reachable.some((r) => r.id === prior.id)) throw badRequest('That implied role would create a cycle.');
    await ctx.stores.assignments.addImpliedRole(prior.id, implied.id);
    ctx.changed();
    reply.code(201);
    return rule(prior, implied);
  });

  app.head<{ Params: { id: string; impliedId: string } }>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:check_implied_role');
    if (!(await ctx.stores.assignments.hasImpliedRole(request.params.id, request.params.impliedId))) {
      throw notFoundError('implied role', `${request.params.id} -> ${request.params.impliedId}`);
    }
    reply.code(204).send();
  });

  app.get<{ Params: { id: string; impliedId: string } }>('/v3/roles/:id/implies/:impliedId', async (request) => {
    authorize(ctx, request, 'identity:get_implied_role');
    const prior = await load(request.params.id);
    const implied = await load(request.params.impliedId);
    if (!(await ctx.stores.assignments.hasImpliedRole(prior.id, implied.id))) {
      throw notFoundError('implied role', `${prior.id} -> ${implied.id}`);
    }
    return rule(prior, implied);
  });

  app.delete<{ Params: { id: string; impliedId: string } }>('/v3/roles/:id/implies/:impliedId', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_implied_role');
    if (!(await ctx.stores.assignments.removeImpliedRole(request.params.id, request.params.impliedId))) {
      throw notFoundError('implied role', `${request.params.id} -> ${request.params.impliedId}`);
    }
    ctx.changed();
    reply.code(204).send();
  });

  app.get('/v3/role_inferences', async (request) => {
    authorize(ctx, request, 'identity:list_role_inference_rules');
    const byPrior = new Map<string, string[]>();
    for (const r of await ctx.stores.assignments.listImpliedRoles()) {
      byPrior.set(r.priorRoleId, [...(byPrior.get(r.priorRoleId) ?? []), r.impliedRoleId]);
    }
    const inferences = [];
    for (const [priorId, impliedIds] of byPrior) {
      const prior = await ctx.directory.roleById(priorId);
      if (!prior) continue;
      const implies = [];
      for (const id of impliedIds) {
        const role = await ctx.directory.roleById(id);
        if (role) implies.push(renderRoleRef(role, ctx.baseUrl));
      }
      inferences.push({ prior_role: renderRoleRef(prior, ctx.baseUrl), implies });
    }
    return { role_inferences: inferences, links: { self: requestUrl(ctx, request) } };
  });
}
