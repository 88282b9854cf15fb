import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { answerClientError } from './client-errors.js';
import { LazyValidators } from './lazy-validation.js';
import { emptyJsonIsNoBody } from './json-bodies.js';
import { serializeBigRepliesInTurns } from './json-replies.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * This service's answer to a path under its prefix that no route of it matches (its own
     * error shape). One not-found handler at the root dispatches by prefix: Fastify's own per
     * plugin registers a route for each of 34 methods twice, half of a start's router work.
     */
    serviceNotFound(handler: NotFoundHandler): void;
    /** Compiles every route schema not yet compiled (they compile on first use); how many. */
    compileRouteSchemas(): number;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a token (version documents, POST /v3/auth/tokens, ...). */
    public?: boolean;
  }
}

export type NotFoundHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  bodyLimitBytes?: number;
}

/**
 * The one HTTP server every service plugs into. It owns what is common to all of them:
 * request ids, access logs, metrics and `/metrics`; each service registers its own
 * routes, parsers and error shape inside its own encapsulated plugin.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const validators = new LazyValidators();
  // Service plugins by prefix, so that errors the router raises before any route or hook
  // runs (a bad %-escape, an overlong path parameter) still get the service's error shape.
  const scopes: FastifyInstance[] = [];
  const notFoundHandlers = new Map<FastifyInstance, NotFoundHandler>();
  /** The innermost service plugin whose prefix holds `url` (among `among`, when given). */
  const ownerOf = (url: string, among: (scope: FastifyInstance) => boolean = () => true): FastifyInstance | undefined => {
    const path = url.split('?')[0] ?? '';
    return scopes
      .filter((s) => s.prefix !== '' && (path === s.prefix || path.startsWith(`${s.prefix}/`)) && among(s))
      .sort((a, b) => b.prefix.length - a.prefix.length)[0];
  };
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // One access-log line per request is written by the onResponse hook below instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: () => `req-${randomUUID()}`,
    requestIdHeader: false,
    bodyLimit: options.bodyLimitBytes ?? 1024 * 1024,
    // Route schemas (route-schemas.ts) check what the client sent, as OpenStack's jsonschema
    // does: no coercion (`"true"` is not a boolean), no defaults filled in, nothing removed.
    ajv: { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allowUnionTypes: true } },
    // Each route's schema is compiled on its first request, not at the start (lazy-validation.ts).
    schemaController: { compilersFactory: { buildValidator: validators.buildValidator as never } },
    forceCloseConnections: true,
    return503OnClosing: true,
    // Requests the HTTP parser refuses (431, bad request lines): answered whole, connection closed cleanly.
    clientErrorHandler: answerClientError,
    // Trailing slashes matter: Glance answers 404 to `/v2/images/`, not the list.
    routerOptions: { maxParamLength: 1000 },
    frameworkErrors: (error, request, reply) => {
      reply.header('x-openstack-request-id', request.id);
      (ownerOf(request.url) ?? app).errorHandler(error, request, reply);
    },
  });
  // Unmatched requests are parsed here, at the root, before the owning service's not-found
  // handler: a bodiless DELETE sent with a JSON content type (tempest, the SDKs) must reach it
  // as a 404, not fail as an empty JSON body.
  emptyJsonIsNoBody(app);
  app.decorate('compileRouteSchemas', () => validators.compileAll());
  app.decorate('serviceNotFound', function (this: FastifyInstance, handler: NotFoundHandler) {
    notFoundHandlers.set(this, handler);
  });
  // What fails on the way to the not-found handler (a body of a type nobody parses, bad JSON)
  // is the service's to word too, as it was when each service had its own not-found handler.
  const fastifyErrors = app.errorHandler;
  const dispatchErrors: typeof fastifyErrors = (error, request, reply) => {
    const owned = ownerOf(request.url, (scope) => notFoundHandlers.has(scope))?.errorHandler;
    // A service without an error handler of its own inherits this one.
    return (owned !== undefined && owned !== dispatchErrors ? owned : fastifyErrors).call(app, error, request, reply);
  };
  app.setErrorHandler(dispatchErrors);
  app.setNotFoundHandler(async (request, reply) => {
    const owner = ownerOf(request.url, (scope) => notFoundHandlers.has(scope));
    const handler = owner && notFoundHandlers.get(owner);
    if (handler) await handler(request, reply);
    // Fastify's own answer, outside every service.
    else reply.code(404).send({ message: `Route ${request.method}:${request.url} not found`, error: 'Not Found', statusCode: 404 });
    return reply;
  });
  app.addHook('onRegister', (instance) => {
    scopes.push(instance);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-openstack-request-id', request.id);
  });
  // One big list must not hold the event loop while every other request waits.
  serializeBigRepliesInTurns(app);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    options.metrics.observeRequest(request.method, route, reply.statusCode, seconds);
    request.log.info(
      { method: request.method, url: withoutSecrets(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.render();
  });

  return app;
}

/** A URL as the access log writes it: query tokens (console URLs carry one) masked, as Nova masks them. */
export function withoutSecrets(url: string): string {
  return url.replace(/([?&]token=)[^&]*/gi, '$1***');
}
