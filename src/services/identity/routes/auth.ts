import type { FastifyInstance } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { queryBool } from '../../../core/http/body.js';
import { ApiError } from '../../../core/http/errors.js';
import { authenticate, domainsWithRoles, projectsWithRoles } from '../auth.js';
import type { IdentityContext } from '../context.js';
import { collection, renderCatalog, renderDomain, renderProject, renderTokenBody } from '../render.js';
import type { ValidatedToken } from '../tokens/provider.js';
import { authorize, requestUrl } from './common.js';

export function authRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  app.post('/v3/auth/tokens', { config: { public: true } }, async (request, reply) => {
    const token = await authenticate(ctx, request.body);
    const nocatalog = queryBool(request.query, 'nocatalog') ?? false;
    const catalog = nocatalog ? undefined : await ctx.directory.catalog();
    reply.header('x-subject-token', token.token);
    reply.code(201);
    return renderTokenBody(token, catalog);
  });

  const subjectOf = async (request: import('fastify').FastifyRequest): Promise<ValidatedToken> => {
    const header = request.headers['x-subject-token'];
    const subject = Array.isArray(header) ? header[0] : header;
    if (!subject) throw new ApiError(400, 'X-Subject-Token is required.');
    const allowExpired = queryBool(request.query, 'allow_expired') ?? false;
    const token = await ctx.tokens.validate(subject, { subject: true, allowExpired });
    return token;
  };

  // HEAD first: Fastify derives a HEAD route from a GET unless one is declared before it.
  app.head('/v3/auth/tokens', async (request, reply) => {
    const subject = await subjectOf(request);
    authorize(ctx, request, 'identity:check_token', { target: { token: { user_id: subject.user.id } } });
    reply.header('x-subject-token', subject.token);
    reply.code(200).send();
  });

  app.get('/v3/auth/tokens', async (request, reply) => {
    const subject = await subjectOf(request);
    authorize(ctx, request, 'identity:validate_token', { target: { token: { user_id: subject.user.id } } });
    const nocatalog = queryBool(request.query, 'nocatalog') ?? false;
    reply.header('x-subject-token', subject.token);
    return renderTokenBody(subject, nocatalog ? undefined : await ctx.directory.catalog());
  });

  app.delete('/v3/auth/tokens', async (request, reply) => {
    const subject = await subjectOf(request);
    authorize(ctx, request, 'identity:revoke_token', { target: { token: { user_id: subject.user.id } } });
    const auditId = subject.payload.auditIds[0];
    if (auditId) await ctx.revocations.revoke({ auditId });
    ctx.changed();
    reply.code(204).send();
  });

  app.get('/v3/auth/catalog', async (request) => {
    authorize(ctx, request, 'identity:get_auth_catalog');
    const caller = callerOf(request);
    if (!caller.projectId && !caller.domainId && !caller.system) {
      throw new ApiError(403, 'A scoped token is required to read the catalog.');
    }
    return { catalog: renderCatalog(await ctx.directory.catalog(), caller.projectId), links: { self: requestUrl(ctx, request) } };
  });

  app.get('/v3/auth/projects', async (request) => {
    authorize(ctx, request, 'identity:get_auth_projects');
    const caller = callerOf(request);
    const projects = await projectsWithRoles(ctx, caller.userId);
    return collection('projects', projects.map((p) => renderProject(p, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.get('/v3/auth/domains', async (request) => {
    authorize(ctx, request, 'identity:get_auth_domains');
    const caller = callerOf(request);
    const domains = await domainsWithRoles(ctx, caller.userId);
    return collection('domains', domains.map((d) => renderDomain(d, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.get('/v3/auth/system', async (request) => {
    authorize(ctx, request, 'identity:get_auth_system');
    const caller = callerOf(request);
    const roles = await ctx.directory.effectiveRoles(caller.userId, { kind: 'system' });
    return { system: roles.length > 0 ? [{ all: true }] : [], links: { self: requestUrl(ctx, request) } };
  });
}
