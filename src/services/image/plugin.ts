import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenAuthHook, type TokenValidator } from '../../core/auth/context.js';
import { toApiError } from '../../core/http/errors.js';
import { emptyJsonIsNoBody, refuseNulInQuery } from '../../core/http/json-bodies.js';
import type { ImageContext } from './context.js';
import { errorMediaType, glanceErrorBody } from './error-body.js';
import { dataRoutes } from './routes/data.js';
import { imageRoutes } from './routes/images.js';
import { infoRoutes } from './routes/info.js';
import { memberRoutes } from './routes/members.js';
import { metadefRoutes } from './routes/metadefs.js';

/** Glance v2 under /image: its routes, body parsers and error shape stay inside this plugin. */
export function imagePlugin(ctx: ImageContext, tokens: TokenValidator, publicUrl: () => string) {
  return async function register(app: FastifyInstance): Promise<void> {
    // A NUL decoded into a filter would reach SQL, where PostgreSQL refuses it (a 500). In the
    // path, an image id with one is not a UUID (404), nor a member id any member has (404).
    app.addHook('onRequest', refuseNulInQuery);
    app.addHook('onRequest', tokenAuthHook(tokens, ['image']));
    // Clients send `Content-Type: application/json` on bodiless DELETEs and PUTs: no body, not bad JSON.
    emptyJsonIsNoBody(app);
    // Image data is streamed straight to the store, never buffered: the parser hands over the raw request.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    app.addContentTypeParser(
      ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'],
      { parseAs: 'string' },
      (_request, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(Object.assign(new Error('Malformed JSON in request body.'), { statusCode: 400 }), undefined);
        }
      },
    );
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'image request failed');
      for (const [name, value] of Object.entries(apiError.headers ?? {})) reply.header(name, value);
      // An upload refused or failed before its body was read to the end leaves unread bytes on the
      // connection: close it after this answer, or a keep-alive client would send its next request
      // into a connection the server no longer reads.
      if (!request.raw.complete) reply.header('connection', 'close');
      sendGlanceError(request, reply, apiError.status, apiError.message);
    });
    app.serviceNotFound((request, reply) => {
      sendGlanceError(request, reply, 404, 'The resource could not be found.');
    });
    infoRoutes(app, ctx, publicUrl);
    imageRoutes(app, ctx);
    dataRoutes(app, ctx);
    memberRoutes(app, ctx);
    metadefRoutes(app, ctx);
  };
}

/** webob's error body, worded for the request's Accept (error-body.ts). */
function sendGlanceError(request: FastifyRequest, reply: FastifyReply, status: number, message: string): void {
  const { contentType, body } = glanceErrorBody(status, message, errorMediaType(request.headers.accept));
  reply.code(status).header('content-type', contentType).send(body);
}
