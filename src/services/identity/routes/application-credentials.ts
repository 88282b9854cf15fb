import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { envelope, isObject, optBool, optClearableString, optNullableString, optString, queryString, reqString } from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName } from '../extras.js';
import type { ApplicationCredential, Role } from '../model.js';
import { microsecondTimestamp, renderApplicationCredential } from '../render.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

export function applicationCredentialRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const rolesOf = async (cred: ApplicationCredential): Promise<Role[]> => {
    const roles = [];
    for (const id of cred.roleIds) {
      const role = await ctx.directory.roleById(id);
      if (role) roles.push(role);
    }
    return roles;
  };
  const load = async (userId: string, id: string): Promise<ApplicationCredential> => {
    const cred = await ctx.stores.credentials.getApplicationCredential(id);
    if (!cred || cred.userId !== userId) throw notFoundError('application credential', id);
    return cred;
  };
  const target = (userId: string) => ({ user_id: userId, target: { user: { id: userId } } });

  app.post<{ Params: { userId: string } }>('/v3/users/:userId/application_credentials', async (request, reply) => {
    const caller = callerOf(request);
    authorize(ctx, request, 'identity:create_application_credential', target(request.params.userId));
    if (caller.userId !== request.params.userId) throw new ApiError(403, 'Application credentials can only be created by their owner.');
    if (!caller.projectId) throw new ApiError(403, 'A project-scoped token is required to create an application credential.');
    if (caller.applicationCredentialId) {
      throw new ApiError(403, 'An application credential cannot be used to create another one.');
    }
    const body = envelope(request.body, 'application_credential');
    const name = checkName(reqString(body, 'name'));
    const expiresRaw = optNullableString(body, 'expires_at', { max: 64 });
    let expiresAt: string | null = null;
    if (expiresRaw) {
      expiresAt = microsecondTimestamp(expiresRaw);
      if (Date.parse(expiresAt) <= Date.now()) {
        throw badRequest('The expiration time of an application credential must be in the future.');
      }
    }
    const available = await ctx.directory.effectiveRoles(caller.userId, { kind: 'project', id: caller.projectId });
    let roles: Role[] = available;
    if (body.roles !== undefined) {
      if (!Array.isArray(body.roles)) throw badRequest("Invalid input for field 'roles': expected a list.");
      roles = [];
      for (const ref of body.roles) {
        if (!isObject(ref)) throw badRequest("Invalid input for field 'roles': each role is an object with id or name.");
        const id = optString(ref, 'id', { max: 64 });
        const roleName = optString(ref, 'name', { max: 255 });
        const role = available.find((r) => (id !== undefined && r.id === id) || (roleName !== undefined && r.name === roleName));
        if (!role) throw new ApiError(403, `The user does not hold role ${id ?? roleName ?? '?'} on the project.`);
        roles.push(role);
      }
    }
    const secret = optString(body, 'secret', { min: 1, max: 4096 }) ?? randomBytes(48).toString('base64url');
    const cred: ApplicationCredential = {
      id: newHexId(),
      name,
      userId: caller.userId,
      projectId: caller.projectId,
      secretHash: await ctx.hasher.hash(secret),
      description: optClearableString(body, 'description', { max: 65_535 }) ?? '',
      expiresAt,
      unrestricted: optBool(body, 'unrestricted') ?? false,
      roleIds: roles.map((r) => r.id),
    };
    if (body.access_rules !== undefined && !(Array.isArray(body.access_rules) && body.access_rules.length === 0)) {
      throw badRequest('Access rules are not supported by this cloud.');
    }
    if (await ctx.stores.credentials.getApplicationCredentialByName(cred.userId, name)) {
      throw duplicateError('application credential', name);
    }
    await ctx.stores.credentials.createApplicationCredential(cred);
    reply.code(201);
    return { application_credential: { ...renderApplicationCredential(cred, roles, ctx.baseUrl), secret } };
  });

  app.get<{ Params: { userId: string } }>('/v3/users/:userId/application_credentials', async (request) => {
    authorize(ctx, request, 'identity:list_application_credentials', target(request.params.userId));
    const name = queryString(request.query, 'name');
    const creds = await ctx.stores.credentials.listApplicationCredentials(request.params.userId, name);
    const rendered = [];
    for (const cred of creds) rendered.push(renderApplicationCredential(cred, await rolesOf(cred), ctx.baseUrl));
    return { application_credentials: rendered, links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  app.get<{ Params: { userId: string; id: string } }>('/v3/users/:userId/application_credentials/:id', async (request) => {
    authorize(ctx, request, 'identity:get_application_credential', target(request.params.userId));
    const cred = await load(request.params.userId, request.params.id);
    return { application_credential: renderApplicationCredential(cred, await rolesOf(cred), ctx.baseUrl) };
  });

  app.delete<{ Params: { userId: string; id: string } }>('/v3/users/:userId/application_credentials/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_application_credential', target(request.params.userId));
    const caller = callerOf(request);
    if (caller.applicationCredentialId) {
      throw new ApiError(403, 'An application credential cannot be used to delete one.');
    }
    const cred = await load(request.params.userId, request.params.id);
    await ctx.stores.credentials.deleteApplicationCredential(cred.id);
    ctx.changed();
    reply.code(204).send();
  });
}
