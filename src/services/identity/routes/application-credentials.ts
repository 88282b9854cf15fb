import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { queryString } from '../../../core/http/body.js';
import {
  applicationCredentialAccessRules,
  applicationCredentialRoles,
  createApplicationCredential,
  deleteAccessRule,
  deleteApplicationCredential,
  listAccessRules,
  listApplicationCredentials,
  loadAccessRule,
  loadApplicationCredential,
} from '../application-credentials.js';
import type { IdentityContext } from '../context.js';
import type { ApplicationCredential } from '../model.js';
import { renderAccessRule, renderApplicationCredential } from '../render.js';
import { authorize, requestUrl } from './common.js';

export function applicationCredentialRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const target = (userId: string) => ({ user_id: userId, target: { user: { id: userId } } });
  const render = async (cred: ApplicationCredential) =>
    renderApplicationCredential(cred, await applicationCredentialRoles(ctx, cred), ctx.baseUrl, await applicationCredentialAccessRules(ctx, cred));

  app.post<{ Params: { userId: string } }>('/v3/users/:userId/application_credentials', async (request, reply) => {
    const caller = callerOf(request);
    authorize(ctx, request, 'identity:create_application_credential', target(request.params.userId));
    const { cred, roles, secret, accessRules } = await createApplicationCredential(ctx, caller, request.params.userId, request.body);
    reply.code(201);
    return { application_credential: { ...renderApplicationCredential(cred, roles, ctx.baseUrl, accessRules), secret } };
  });

  app.get<{ Params: { userId: string } }>('/v3/users/:userId/application_credentials', async (request) => {
    authorize(ctx, request, 'identity:list_application_credentials', target(request.params.userId));
    const name = queryString(request.query, 'name');
    const creds = await listApplicationCredentials(ctx, request.params.userId, name);
    const rendered = [];
    for (const cred of creds) rendered.push(await render(cred));
    return { application_credentials: rendered, links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  app.get<{ Params: { userId: string; id: string } }>('/v3/users/:userId/application_credentials/:id', async (request) => {
    authorize(ctx, request, 'identity:get_application_credential', target(request.params.userId));
    const cred = await loadApplicationCredential(ctx, request.params.userId, request.params.id);
    return { application_credential: await render(cred) };
  });

  app.delete<{ Params: { userId: string; id: string } }>('/v3/users/:userId/application_credentials/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_application_credential', target(request.params.userId));
    await deleteApplicationCredential(ctx, callerOf(request), request.params.userId, request.params.id);
    reply.code(204).send();
  });

  // Access rules: the user's own, made by their application credentials and shared between them.
  app.get<{ Params: { userId: string } }>('/v3/users/:userId/access_rules', async (request) => {
    authorize(ctx, request, 'identity:list_access_rules', target(request.params.userId));
    const rules = await listAccessRules(ctx, request.params.userId);
    return { access_rules: rules.map((r) => renderAccessRule(r, ctx.baseUrl)), links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });

  app.get<{ Params: { userId: string; id: string } }>('/v3/users/:userId/access_rules/:id', async (request) => {
    authorize(ctx, request, 'identity:get_access_rule', target(request.params.userId));
    return { access_rule: renderAccessRule(await loadAccessRule(ctx, request.params.userId, request.params.id), ctx.baseUrl) };
  });

  app.delete<{ Params: { userId: string; id: string } }>('/v3/users/:userId/access_rules/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_access_rule', target(request.params.userId));
    await deleteAccessRule(ctx, callerOf(request), request.params.userId, request.params.id);
    reply.code(204).send();
  });
}
