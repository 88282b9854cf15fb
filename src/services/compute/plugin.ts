import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenAuthHook, type TokenValidator } from '../../core/auth/context.js';
import { ApiError, toApiError } from '../../core/http/errors.js';
import { emptyJsonIsNoBody, refuseNulInUrl } from '../../core/http/json-bodies.js';
import { NOVA_ERROR_KEYS, type ComputeContext } from './context.js';
import { Microversion, MIN_VERSION, negotiate, stampVersion } from './microversion.js';
import { versionRoutes } from './routes/versions.js';
import { checkNumericStrings, schemaFailureMessage } from './schemas/validation.js';
import { registerComputeRoutes } from './routes/index.js';

/** Nova v2.1 under /compute: its routes, microversions and error shape stay inside this plugin. */
export function computePlugin(ctx: ComputeContext, tokens: TokenValidator) {
  return async function register(app: FastifyInstance): Promise<void> {
    const baseUrl = () => `${ctx.config.publicUrl}/compute`;
    // Fastify 5 refuses an object as a decorator's default (it would be shared by every
    // request); the onRequest hook below sets each request's own.
    app.decorateRequest('computeVersion', {
      getter(this: FastifyRequest & { _computeVersion?: Microversion }) {
        return this._computeVersion ?? new Microversion(MIN_VERSION.major, MIN_VERSION.minor);
      },
      setter(this: FastifyRequest & { _computeVersion?: Microversion }, value: Microversion) {
        this._computeVersion = value;
      },
    });
    // Nova sends the request id under its legacy name too; tempest reads x-compute-request-id.
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-compute-request-id', request.id);
    });
    app.addHook('onRequest', refuseNulInUrl);
    app.addHook('onRequest', async (request) => {
      request.computeVersion = negotiate(request);
    });
    app.addHook('onRequest', tokenAuthHook(tokens, ['compute']));
    app.addHook('onSend', async (request, reply) => stampVersion(request, reply));
    emptyJsonIsNoBody(app);
    // Routes declare their request schemas (schemas/); what Ajv cannot say, Nova's validator adds.
    app.addHook('preHandler', async (request) => checkNumericStrings(request));
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      // A schema's refusal in Nova's words (`Invalid input for field/attribute ...`).
      const schemaMessage = schemaFailureMessage(error, request);
      const apiError = schemaMessage === undefined ? toApiError(error) : new ApiError(400, schemaMessage);
      if (apiError.status >= 500) request.log.error({ err: error }, 'compute request failed');
      const key = NOVA_ERROR_KEYS[apiError.status] ?? (apiError.status >= 500 ? 'computeFault' : 'badRequest');
      reply.code(apiError.status).send({ [key]: { code: apiError.status, message: apiError.message } });
    });
    app.serviceNotFound((request, reply) => {
      reply.code(404).send({ itemNotFound: { code: 404, message: `The resource could not be found: ${request.url}` } });
    });
    versionRoutes(app, baseUrl);
    await app.register(
      async (v21) => {
        registerComputeRoutes(v21, ctx, () => `${baseUrl()}/v2.1`);
      },
      { prefix: '/v2.1' },
    );
  };
}
