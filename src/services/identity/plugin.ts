import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenAuthHook } from '../../core/auth/context.js';
import { acceptJsonBodies, refuseNulInUrl } from '../../core/http/json-bodies.js';
import { badRequest, statusTitle, toApiError } from '../../core/http/errors.js';
import type { IdentityContext } from './context.js';
import { applicationCredentialRoutes } from './routes/application-credentials.js';
import { assignmentRoutes } from './routes/assignments.js';
import { authRoutes } from './routes/auth.js';
import { catalogRoutes } from './routes/catalog.js';
import { credentialRoutes } from './routes/credentials.js';
import { domainConfigRoutes } from './routes/domain-config.js';
import { trustRoutes } from './routes/trusts.js';
import { ec2TokenRoutes } from './routes/ec2-tokens.js';
import { domainRoutes } from './routes/domains.js';
import { groupRoutes } from './routes/groups.js';
import { limitRoutes } from './routes/limits.js';
import { policyRoutes } from './routes/policies.js';
import { projectRoutes } from './routes/projects.js';
import { roleRoutes } from './routes/roles.js';
import { userRoutes } from './routes/users.js';
import { versionRoutes } from './routes/versions.js';
import type { IdentityService } from './service.js';

/** Keystone v3 under /identity: its own routes, error shape and token hook, nothing shared sideways. */
export function identityPlugin(identity: IdentityService) {
  return async function register(app: FastifyInstance): Promise<void> {
    const ctx: IdentityContext = identity.context;
    app.addHook('onRequest', refuseNulInUrl);
    app.addHook('onRequest', tokenAuthHook(identity, ['identity']));
    // As keystone/server/flask/request_processing/json_body.py: a 400, not a 415.
    acceptJsonBodies(app, {
      unsupportedMediaType: () =>
        badRequest(
          'Expecting to find application/json in Content-Type header. The server could not comply with the request ' +
            'since it is either malformed or otherwise incorrect. The client is assumed to be in error.',
        ),
    });
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'identity request failed');
      if (apiError.status === 401) {
        reply.header('www-authenticate', `Keystone uri="${ctx.config.publicUrl}/identity"`);
      }
      for (const [name, value] of Object.entries(apiError.headers ?? {})) reply.header(name, value);
      reply.code(apiError.status).send({
        error: { code: apiError.status, title: statusTitle(apiError.status), message: apiError.message },
      });
    });
    app.serviceNotFound((request, reply) => {
      reply.code(404).send({
        error: { code: 404, title: 'Not Found', message: `The resource could not be found: ${request.url}` },
      });
    });
    versionRoutes(app, ctx);
    authRoutes(app, ctx);
    domainRoutes(app, ctx);
    projectRoutes(app, ctx);
    userRoutes(app, ctx);
    groupRoutes(app, ctx);
    roleRoutes(app, ctx);
    assignmentRoutes(app, ctx);
    catalogRoutes(app, ctx);
    applicationCredentialRoutes(app, ctx);
    limitRoutes(app, ctx);
    credentialRoutes(app, ctx);
    policyRoutes(app, ctx);
    domainConfigRoutes(app, ctx);
    trustRoutes(app, ctx);
    ec2TokenRoutes(app, ctx);
  };
}
