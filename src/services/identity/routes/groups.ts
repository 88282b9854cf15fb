import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { queryString } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { applyInexactFilters } from '../list-filters.js';
import { addMember, checkMember, createGroup, deleteGroup, groupMembers, listGroups, loadGroup, removeMember, updateGroup } from '../groups.js';
import { collection, renderGroup, renderUser } from '../render.js';
import { groupCreate, groupUpdate, type GroupBody } from '../schemas.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };
type Membership = { Params: { id: string; userId: string } };

/** /v3/groups: HTTP shapes and policy; the rules are in ../groups.ts. */
export function groupRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  app.get('/v3/groups', async (request) => {
    authorize(ctx, request, 'identity:list_groups');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const groups = await listGroups(ctx, {
      ...(name !== undefined ? { name } : {}),
      ...(domainId !== undefined ? { domainId } : {}),
    });
    return collection('groups', applyInexactFilters(request.query, groups.map((g) => renderGroup(g, ctx.baseUrl))), requestUrl(ctx, request));
  });

  app.post<{ Body: { group: GroupBody } }>('/v3/groups', { schema: { body: groupCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_group');
    const caller = callerOf(request);
    const group = await createGroup(ctx, request.body.group, caller.projectDomainId ?? caller.domainId ?? 'default');
    reply.code(201);
    return { group: renderGroup(group, ctx.baseUrl) };
  });

  app.get<ById>('/v3/groups/:id', async (request) => {
    authorize(ctx, request, 'identity:get_group');
    return { group: renderGroup(await loadGroup(ctx, request.params.id), ctx.baseUrl) };
  });

  app.patch<ById & { Body: { group: GroupBody } }>('/v3/groups/:id', { schema: { body: groupUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_group');
    const group = await loadGroup(ctx, request.params.id);
    return { group: renderGroup(await updateGroup(ctx, group, request.body.group), ctx.baseUrl) };
  });

  app.delete<ById>('/v3/groups/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_group');
    await deleteGroup(ctx, await loadGroup(ctx, request.params.id));
    reply.code(204).send();
  });

  app.get<ById>('/v3/groups/:id/users', async (request) => {
    authorize(ctx, request, 'identity:list_users_in_group');
    const users = await groupMembers(ctx, await loadGroup(ctx, request.params.id));
    return collection('users', users.map((u) => renderUser(u, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.put<Membership>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:add_user_to_group');
    await addMember(ctx, await loadGroup(ctx, request.params.id), request.params.userId);
    reply.code(204).send();
  });

  app.head<Membership>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:check_user_in_group');
    await checkMember(ctx, await loadGroup(ctx, request.params.id), request.params.userId);
    reply.code(204).send();
  });

  app.delete<Membership>('/v3/groups/:id/users/:userId', async (request, reply) => {
    authorize(ctx, request, 'identity:remove_user_from_group');
    await removeMember(ctx, await loadGroup(ctx, request.params.id), request.params.userId);
    reply.code(204).send();
  });
}
