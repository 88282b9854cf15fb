import type { FastifyInstance } from 'fastify';
import { mapInTurns } from '../../../core/cooperative.js';
import { callerOf } from '../../../core/auth/context.js';
import {
  envelope,
  optBool,
  optClearableString,
  optNullableString,
  optString,
  queryBool,
  queryString,
  reqString,
} from '../../../core/http/body.js';
import { badRequest, unauthorized } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName, extraAttributes } from '../extras.js';
import { recordPasswordAttempt, refuseIfLocked, refuseReusedPassword } from '../security-compliance.js';
import type { User } from '../model.js';
import { collection, renderGroup, renderProject, renderUser } from '../render.js';
import { projectsWithRoles } from './auth.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

const KNOWN = ['name', 'domain_id', 'enabled', 'password', 'default_project_id', 'description', 'federated'];
const MAX_PASSWORD = 4096;

export function userRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const load = async (id: string): Promise<User> => {
    const user = await ctx.stores.users.getUser(id);
    if (!user) throw notFoundError('user', id);
    return user;
  };
  const target = (u: User) => ({ user_id: u.id, target: { user: { id: u.id, domain_id: u.domainId } } });

  app.get('/v3/users', async (request) => {
    authorize(ctx, request, 'identity:list_users');
    const name = queryString(request.query, 'name');
    const domainId = queryString(request.query, 'domain_id');
    const enabled = queryBool(request.query, 'enabled');
    const users = await ctx.stores.users.listUsers({
      ...(name !== undefined ? { name } : {}),
      ...(domainId !== undefined ? { domainId } : {}),
      ...(enabled !== undefined ? { enabled } : {}),
    });
    return collection('users', await mapInTurns(users, (u) => renderUser(u, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.post('/v3/users', async (request, reply) => {
    authorize(ctx, request, 'identity:create_user');
    const body = envelope(request.body, 'user');
    const name = checkName(reqString(body, 'name'), 'name', 255);
    const caller = callerOf(request);
    const domainId = optString(body, 'domain_id', { max: 64 }) ?? caller.projectDomainId ?? caller.domainId ?? 'default';
    if (!(await ctx.stores.resources.getDomain(domainId))) throw notFoundError('domain', domainId);
    const defaultProjectId = optNullableString(body, 'default_project_id', { max: 64 }) ?? null;
    if (defaultProjectId && !(await ctx.stores.resources.getProject(defaultProjectId))) {
      throw badRequest(`Could not find the default project ${defaultProjectId}.`);
    }
    const password = optNullableString(body, 'password', { max: MAX_PASSWORD });
    const user: User = {
      id: newHexId(),
      name,
      domainId,
      enabled: optBool(body, 'enabled') ?? true,
      passwordHash: password ? await ctx.hasher.hash(password) : null,
      passwordExpiresAt: null,
      defaultProjectId,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? '',
      extra: extraAttributes(body, KNOWN),
      options: {},
    };
    if (await ctx.stores.users.getUserByName(domainId, name)) throw duplicateError('user', name);
    try {
      await ctx.stores.users.createUser(user);
    } catch (error) {
      if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('user', name);
      throw error;
    }
    ctx.changed();
    reply.code(201);
    return { user: renderUser(user, ctx.baseUrl) };
  });

  app.get<{ Params: { id: string } }>('/v3/users/:id', async (request) => {
    const user = await load(request.params.id);
    authorize(ctx, request, 'identity:get_user', target(user));
    return { user: renderUser(user, ctx.baseUrl) };
  });

  app.patch<{ Params: { id: string } }>('/v3/users/:id', async (request) => {
    authorize(ctx, request, 'identity:update_user');
    const user = await load(request.params.id);
    const body = envelope(request.body, 'user');
    if (body.id !== undefined && body.id !== user.id) throw badRequest('The user id cannot be changed.');
    if (body.domain_id !== undefined && body.domain_id !== user.domainId) throw badRequest('The user domain cannot be changed.');
    const name = optString(body, 'name');
    const password = optNullableString(body, 'password', { max: MAX_PASSWORD });
    const defaultProjectId = optNullableString(body, 'default_project_id', { max: 64 });
    if (defaultProjectId && !(await ctx.stores.resources.getProject(defaultProjectId))) {
      throw badRequest(`Could not find the default project ${defaultProjectId}.`);
    }
    const updated: User = {
      ...user,
      name: name !== undefined ? checkName(name) : user.name,
      enabled: optBool(body, 'enabled') ?? user.enabled,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? user.description,
      defaultProjectId: defaultProjectId === undefined ? user.defaultProjectId : defaultProjectId,
      passwordHash: password === undefined ? user.passwordHash : password === null ? null : await ctx.hasher.hash(password),
      passwordExpiresAt: password === undefined ? user.passwordExpiresAt : null,
      extra: { ...user.extra, ...extraAttributes(body, KNOWN) },
    };
    if (updated.name !== user.name && (await ctx.stores.users.getUserByName(user.domainId, updated.name))) {
      throw duplicateError('user', updated.name);
    }
    await ctx.stores.users.updateUser(updated, password !== undefined);
    if (password !== undefined || (user.enabled && !updated.enabled)) await ctx.revocations.revoke({ userId: user.id });
    ctx.changed();
    return { user: renderUser(updated, ctx.baseUrl) };
  });

  app.delete<{ Params: { id: string } }>('/v3/users/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_user');
    const user = await load(request.params.id);
    await ctx.stores.assignments.removeAllFor(user.id);
    await ctx.stores.userCredentials.deleteForUser(user.id);
    await ctx.stores.users.deleteUser(user.id);
    await ctx.revocations.revoke({ userId: user.id });
    ctx.changed();
    reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/v3/users/:id/password', { config: { public: true } }, async (request, reply) => {
    // Self-service password change authenticates with the original password, not a token.
    const body = envelope(request.body, 'user');
    const original = optString(body, 'original_password', { max: MAX_PASSWORD });
    const password = optString(body, 'password', { max: MAX_PASSWORD });
    if (original === undefined || password === undefined) {
      throw badRequest("Invalid input: 'original_password' and 'password' are required.");
    }
    const user = await ctx.stores.users.getUser(request.params.id);
    if (user) await refuseIfLocked(ctx, user);
    const ok = await ctx.hasher.verify(original, user?.passwordHash);
    if (!user) throw unauthorized();
    await recordPasswordAttempt(ctx, user, ok);
    if (!ok || !user.enabled) throw unauthorized();
    await refuseReusedPassword(ctx, user.id, password);
    await ctx.stores.users.updateUser({ ...user, passwordHash: await ctx.hasher.hash(password), passwordExpiresAt: null }, true);
    await ctx.revocations.revoke({ userId: user.id });
    ctx.changed();
    reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/v3/users/:id/projects', async (request) => {
    const user = await load(request.params.id);
    authorize(ctx, request, 'identity:list_user_projects', target(user));
    const projects = await projectsWithRoles(ctx, user.id);
    return collection('projects', projects.map((p) => renderProject(p, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.get<{ Params: { id: string } }>('/v3/users/:id/groups', async (request) => {
    const user = await load(request.params.id);
    authorize(ctx, request, 'identity:list_groups_for_user', target(user));
    const groups = await ctx.stores.users.listGroups({ ids: await ctx.stores.users.groupIdsOfUser(user.id) });
    return collection('groups', groups.map((g) => renderGroup(g, ctx.baseUrl)), requestUrl(ctx, request));
  });
}
