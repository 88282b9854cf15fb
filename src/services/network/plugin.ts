import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenAuthHook, type TokenValidator } from '../../core/auth/context.js';
import { statusTitle, toApiError } from '../../core/http/errors.js';
import { emptyJsonIsNoBody, refuseNulInUrl } from '../../core/http/json-bodies.js';
import type { SchemaFailure } from '../../core/http/route-schemas.js';
import './attributes/schemas.js';
import type { NetworkContext } from './context.js';
import { addressSpaceRoutes } from './routes/address-space.js';
import { agentRoutes } from './routes/agents.js';
import { coreRoutes } from './routes/core.js';
import { l3Routes } from './routes/l3.js';
import { metaRoutes } from './routes/meta.js';
import { securityGroupRoutes } from './routes/security-groups.js';
import { tagRoutes } from './routes/tags.js';
import { topologyRoutes } from './routes/topology.js';

/** Neutron v2.0 under /networking: its routes and NeutronError shape stay inside this plugin. */
export function networkPlugin(ctx: NetworkContext, tokens: TokenValidator) {
  return async function register(app: FastifyInstance): Promise<void> {
    const baseUrl = () => `${ctx.config.publicUrl}/networking`;
    // A NUL decoded into an id or a filter would reach SQL, where PostgreSQL refuses it (a 500).
    app.addHook('onRequest', refuseNulInUrl);
    app.addHook('onRequest', tokenAuthHook(tokens, ['network']));
    // Clients send `Content-Type: application/json` on bodiless DELETEs and PUTs: no body, not bad JSON.
    emptyJsonIsNoBody(app);
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      // A route's declared schema refused the request: Neutron's words for it (attributes/schemas.ts).
      const wording = error.code === 'FST_ERR_VALIDATION' ? request.routeOptions.config.neutronSchema : undefined;
      const apiError = wording ? wording((error.validation ?? []) as SchemaFailure[], error.validationContext ?? 'body', request) : toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'networking request failed');
      const type = apiError.kind ?? `HTTP${statusTitle(apiError.status).replaceAll(' ', '')}`;
      reply.code(apiError.status).send({ NeutronError: { type, message: apiError.message, detail: '' } });
    });
    app.serviceNotFound((request, reply) => {
      reply.code(404).send({ NeutronError: { type: 'HTTPNotFound', message: `The resource could not be found: ${request.url}`, detail: '' } });
    });
    metaRoutes(app, ctx, baseUrl);
    tagRoutes(app, ctx);
    coreRoutes(app, ctx, baseUrl);
    securityGroupRoutes(app, ctx, baseUrl);
    l3Routes(app, ctx, baseUrl);
    agentRoutes(app, ctx, baseUrl);
    addressSpaceRoutes(app, ctx, baseUrl);
    topologyRoutes(app, ctx, baseUrl);
  };
}
