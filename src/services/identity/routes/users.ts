import type { FastifyInstance } from 'fastify';
import { mapInTurns } from '../../../core/cooperative.js';
import { callerOf } from '../../../core/auth/context.js';
import { queryBool, queryString } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { projectsWithRoles } from '../auth.js';
import { applyInexactFilters } from '../list-filters.js';
import type { User } from '../model.js';
import { collection, renderGroup, renderProject, renderUser } from '../render.js';
import { passwordChange, userCreate, userUpdate, type UserBody } from '../schemas.js';
import { changeOwnPassword, createUser, deleteUser, groupsOfUser, listUsers, loadUser, updateUser } from '../users.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };

/** /v3/users: HTTP shapes and policy; the rules are in ../users.ts. */
export function userRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const target = (u: User) => ({ user_id: u.id, target: { user: { id: u.id, domain_id: u.domainId } } });

  app.get('/v3/users', async (request) => {
    authorize(ctx, request, 'identity:list_users');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const enabled = queryBool(request.query, 'enabled');
    const users = await listUsers(ctx, {
      ...(name !== undefined ? { name } : {}),
      ...(domainId !== undefined ? { domainId } : {}),
      ...(enabled !== undefined ? { enabled } : {}),
    });
    return collection('users', applyInexactFilters(request.query, await mapInTurns(users, (u) => renderUser(u, ctx.baseUrl))), requestUrl(ctx, request));
  });

  app.post<{ Body: { user: UserBody } }>('/v3/users', { schema: { body: userCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_user');
    const caller = callerOf(request);
    const user = await createUser(ctx, request.body.user, caller.projectDomainId ?? caller.domainId ?? 'default');
    reply.code(201);
    return { user: renderUser(user, ctx.baseUrl) };
  });

  app.get<ById>('/v3/users/:id', async (request) => {
    const user = await loadUser(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_user', target(user));
    return { user: renderUser(user, ctx.baseUrl) };
  });

  app.patch<ById & { Body: { user: UserBody } }>('/v3/users/:id', { schema: { body: userUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_user');
    const user = await loadUser(ctx, request.params.id);
    return { user: renderUser(await updateUser(ctx, user, request.body.user), ctx.baseUrl) };
  });

  app.delete<ById>('/v3/users/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_user');
    await deleteUser(ctx, await loadUser(ctx, request.params.id));
    reply.code(204).send();
  });

  app.post<ById & { Body: { user: { original_password: string; password: string } } }>(
    '/v3/users/:id/password',
    // Self-service password change authenticates with the original password, not a token.
    { config: { public: true }, schema: { body: passwordChange } },
    async (request, reply) => {
      await changeOwnPassword(ctx, request.params.id, request.body.user.original_password, request.body.user.password);
      reply.code(204).send();
    },
  );

  app.get<ById>('/v3/users/:id/projects', async (request) => {
    const user = await loadUser(ctx, request.params.id);
    authorize(ctx, request, 'identity:list_user_projects', target(user));
    const projects = await projectsWithRoles(ctx, user.id);
    return collection('projects', projects.map((p) => renderProject(p, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.get<ById>('/v3/users/:id/groups', async (request) => {
    const user = await loadUser(ctx, request.params.id);
    authorize(ctx, request, 'identity:list_groups_for_user', target(user));
    const groups = await groupsOfUser(ctx, user);
    return collection('groups', groups.map((g) => renderGroup(g, ctx.baseUrl)), requestUrl(ctx, request));
  });
}
