import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { envelope, optClearableString, optString, queryString, reqString } from '../../../core/http/body.js';
import { badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName, extraAttributes } from '../extras.js';
import type { Group } from '../model.js';
import { collection, renderGroup, renderUser } from '../render.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

const KNOWN = ['name', 'domain_id', 'description'];

export function groupRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const load = async (id: string): Promise<Group> => {
    const group = await ctx.stores.users.getGroup(id);
    if (!group) throw notFoundError('group', id);
    return group;
  };
  const loadUser = async (id: string) => {
    const user = await ctx.stores.users.getUser(id);
    if (!user) throw notFoundError('user', id);
    return user;
  };

  app.get('/v3/groups', async (request) => {
    authorize(ctx, request, 'identity:list_groups');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const groups = await ctx.stores.users.listGroups({
      ...(name !== undefined ? { name } : {}),
      ...(domainId !== undefined ? { domainId } : {}),
    });
    return collection('groups', groups.map((g) => renderGroup(g, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.post('/v3/groups', async (request, reply) => {
    authorize(ctx, request, 'identity:create_group');
    const body = envelope(request.body, 'group');
    const name = checkName(reqString(body, 'name'), 'name', 64);
    const caller = callerOf(request);
    const domainId = optString(body, 'domain_id', { max: 64 }) ?? caller.projectDomainId ?? caller.domainId ?? 'default';
    if (!(await ctx.stores.resources.getDomain(domainId))) throw badRequest(`Could not find the domain ${domainId}.`);
    const group: Group = {
      id: newHexId(),
      name,
      domainId,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? '',
      extra: extraAttributes(body, KNOWN),
    };
    if (await ctx.stores.users.getGroupByName(domainId, name)) throw duplicateError('group', name);
    try {
      await ctx.stores.users.createGroup(group);
    } catch (error) {
      if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('group', name);
      throw error;
    }
    ctx.changed();
    reply.code(201);
    return { group: renderGroup(group, ctx.baseUrl) };
  });

  app.get<{ Params: { id: string } }>('/v3/groups/:id', async (request) => {
    authorize(ctx, request, 'identity:get_group');
    return { group: renderGroup(await load(request.params.id), ctx.baseUrl) };
  });

  app.patch<{ Params: { id: string } }>('/v3/groups/:id', async (request) => {
    authorize(ctx, request, 'identity:update_group');
    const group = await load(request.params.id);
    const body = envelope(request.body, 'group');
    if (body.domain_id !== undefined && body.domain_id !== group.domainId) throw badRequest('The group domain cannot be changed.');
    const name = optString(body, 'name');
    const updated: Group = {
      ...group,
      name: name !== undefined ? checkName(name, 'name', 64) : group.name,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? group.description,
      extra: { ...group.extra, ...extraAttributes(body, KNOWN) },
    };
    if (updated.name !== group.name && (await ctx.stores.users.getGroupByName(group.domainId, updated.name))) {
      throw duplicateError('group', updated.name);
    }
    await ctx.stores.users.updateGroup(updated);
    ctx.changed();
    return { group: renderGroup(updated, ctx.baseUrl) };
  });

  app.delete<{ Params: { id: string } }>('/v3/groups/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_group');
    const group = await load(request.params.id);
    await ctx.stores.assignments.removeAllFor(group.id);
    await ctx.stores.users.deleteGroup(group.id);
    ctx.changed();
    reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/v3/groups/:id/users', async (request) => {
    authorize(ctx, request, 'identity:list_users_in_group');
    const group = await load(request.params.id);
    const users = await ctx.stores.users.listUsers({ ids: await ctx.stores.users.userIdsInGroup(group.id) });
    return collection('users', users.map((u) => renderUser(u, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.put<{ Params: { id: string; userId: string } }>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:add_user_to_group');
    const group = await load(request.params.id);
    const user = await loadUser(request.params.userId);
    await ctx.stores.users.addMember(group.id, user.id);
    ctx.changed();
    reply.code(204).send();
  });

  app.head<{ Params: { id: string; userId: string } }>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:check_user_in_group');
    const group = await load(request.params.id);
    const user = await loadUser(request.params.userId);
    if (!(await ctx.stores.users.isMember(group.id, user.id))) {
      throw notFoundError('membership', `user ${user.id} in group ${group.id}`);
    }
    reply.code(204).send();
  });

  app.delete<{ Params: { id: string; userId: string } }>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:remove_user_from_group');
    const group = await load(request.params.id);
    const user = await loadUser(request.params.userId);
    if (!(await ctx.stores.users.removeMember(group.id, user.id))) {
      throw notFoundError('membership', `user ${user.id} in group ${group.id}`);
    }
    ctx.changed();
    reply.code(204).send();
  });
}
