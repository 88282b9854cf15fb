import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply } from 'fastify';
import { statusTitle, toApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import { find, pathTokens, rootListing } from './paths.js';
import { MetadataService, notFound } from './service.js';
import type { InstanceNetworkSource, InstanceSource } from './sources.js';

export interface MetadataServerOptions {
  host: string;
  /** 0 picks a free port; `port` on the result is the real one. */
  port: number;
  /** When `port` is taken (another cloud on the host has Nova's 8775), take a free one instead. */
  freePortIfTaken?: boolean;
  sharedSecret: string;
  instances: InstanceSource;
  network: InstanceNetworkSource;
  log: Logger;
}

export interface MetadataServer {
  /** e.g. http://127.0.0.1:8775 */
  url: string;
  port: number;
  /** The port asked for, when it was taken and a free one was used instead. */
  taken?: number;
  close(): Promise<void>;
}

/** Every method reaches the handler, as in Nova (only the password cares which one it is). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * Nova's metadata API on a port of its own (8775), apart from the user-facing API: only the
 * network agents' relays talk to it, and they sign what they send. Errors are webob's plain
 * text, which is what guests' tools expect from it.
 */
export async function startMetadataServer(options: MetadataServerOptions): Promise<MetadataServer> {
  const service = new MetadataService(options.instances, options.network, options.sharedSecret, options.log);
  const app = Fastify({
    loggerInstance: options.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Room for a password post; anything larger is refused before it is read whole.
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    // What the router refuses before any handler (a bad %-escape) gets the same plain text.
    frameworkErrors: (error, _request, reply) => {
      const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void sendError(reply, status, 'The request path is not valid.');
    },
  });
  // Bodies are opaque bytes (a password is whatever the guest posts, with any content type).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.setErrorHandler((error, request, reply) => {
    const api = toApiError(error);
    if (api.status >= 500) request.log.error({ err: error }, 'metadata request failed');
    return sendError(reply, api.status, api.message);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, notFound().message));

  app.route({
    method: METHODS,
    url: '/*',
    handler: async (request, reply) => {
      const tokens = pathTokens(request.url);
      if (tokens === undefined) return sendError(reply, 404, notFound().message);
      if (tokens.length === 0) return reply.type('text/plain; charset=UTF-8').send(rootListing());
      const md = await service.metadataFor(request.headers, request.raw.headersDistinct);
      const found = find(md, tokens);
      if (!found) return sendError(reply, 404, notFound().message);
      if (found.kind === 'body') return reply.type(`${found.contentType}; charset=UTF-8`).send(found.body);
      if (request.method === 'GET') return reply.type('text/plain; charset=UTF-8').send(await service.password(md));
      if (request.method === 'POST') {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        await service.setPassword(md, body);
        return reply.type('text/plain; charset=UTF-8').send('');
      }
      return sendError(reply, 400, 'GET and POST only are supported.');
    },
  });

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !options.freePortIfTaken || options.port === 0) throw error;
    const server = await startMetadataServer({ ...options, port: 0, freePortIfTaken: false });
    options.log.warn({ port: options.port, instead: server.port }, 'the metadata port is taken (another cloud on this host?): using a free one');
    return { ...server, taken: options.port };
  }
  const port = (app.server.address() as AddressInfo).port;
  const urlHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${urlHost}:${port}`, port, close: () => app.close() };
}

/** webob's plain-text error page, as Nova's metadata API sends it. */
function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=UTF-8').send(`${status} ${statusTitle(status)}\n\n${message}\n\n   `);
}
