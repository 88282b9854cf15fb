import websocket from '@fastify/websocket';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NOVNC_PAGE, WEBSOCKIFY } from '../../contracts/console.js';
import { ApiError, toApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { ConsoleGrant } from '../../contracts/console.js';
import { NOVA_ERROR_KEYS, type ConsoleTokenCheck } from '../compute/client.js';
import { bridgeConsole } from './bridge.js';
import { openNoVncFile } from './novnc-files.js';
import { VNC_PAGE } from './vnc-page.js';

export interface ConsoleProxyDeps {
  /** Compute's console tokens: the proxy keeps no record of its own. */
  tokens: ConsoleTokenCheck;
  log: Logger;
}

/** The most a client sends in one frame: keyboard and pointer events are a few bytes. */
const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Websocket upgrades on the one HTTP port. Registered on the server itself, before every
 * service, so that an upgrade request to any other path is answered and its socket closed
 * (registered inside one service, the others' upgrade sockets would linger half-open).
 */
export async function registerWebsockets(http: FastifyInstance): Promise<void> {
  await http.register(websocket, {
    options: {
      maxPayload: MAX_FRAME_BYTES,
      // noVNC asks for no subprotocol; older clients (and Tempest) ask for `binary`, which the proxy speaks.
      handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
    },
  });
}

/**
 * Nova's nova-novncproxy on Kumo's one port: noVNC's page and library, and the websocket
 * that, for a valid console token, is joined to the instance's console socket. A token is
 * checked before the upgrade, so a refusal is a plain HTTP answer in Nova's error shape.
 */
export function consolePlugin(deps: ConsoleProxyDeps) {
  return async function register(app: FastifyInstance): Promise<void> {
    const grants = new WeakMap<FastifyRequest, ConsoleGrant>();
    app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) request.log.error({ err: error }, 'console request failed');
      const key = NOVA_ERROR_KEYS[apiError.status] ?? (apiError.status >= 500 ? 'computeFault' : 'badRequest');
      reply.code(apiError.status).send({ [key]: { code: apiError.status, message: apiError.message } });
    });
    app.serviceNotFound((request, reply) => {
      reply.code(404).send({ itemNotFound: { code: 404, message: `The resource could not be found: ${request.url.split('?')[0]}` } });
    });
    if (!app.hasDecorator('websocketServer')) throw new Error('the console proxy needs registerWebsockets(http) before any service');

    app.get<{ Querystring: Record<string, unknown> }>(
      `/${WEBSOCKIFY}`,
      {
        websocket: true,
        preValidation: async (request) => {
          checkOrigin(request);
          const token = tokenOf(request);
          if (token === undefined) throw new ApiError(401, 'A console token is required (?token=...).');
          const verdict = await deps.tokens.check(token);
          if (!verdict.ok && verdict.reason === 'invalid') throw new ApiError(401, 'The token is invalid or has expired.');
          // The token opens this instance's console only while it is where the token was issued.
          if (!verdict.ok) throw new ApiError(404, `Instance ${verdict.instanceId} could not be found.`);
          grants.set(request, verdict.grant);
        },
      },
      (socket, request) => {
        const grant = grants.get(request) as ConsoleGrant;
        deps.log.info({ instanceId: grant.instanceId, request_id: request.id }, 'console session opened');
        socket.once('close', () => deps.log.info({ instanceId: grant.instanceId, request_id: request.id }, 'console session closed'));
        bridgeConsole(socket, grant.endpoint, deps.log);
      },
    );

    app.get(`/${NOVNC_PAGE}`, async (_request, reply) => {
      // No frame restriction: dashboards show the console in an iframe of their own origin.
      reply.type('text/html; charset=utf-8');
      return VNC_PAGE;
    });

    app.get<{ Params: { '*': string } }>('/*', async (request, reply) => {
      const file = await openNoVncFile(request.params['*']);
      if (!file) throw new ApiError(404, `The resource could not be found: ${request.url.split('?')[0]}`);
      reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600');
      return reply.send(file);
    });
  };
}

/** `?token=`, or the `token` cookie older noVNC pages set instead (as Nova's proxy reads both). */
function tokenOf(request: FastifyRequest<{ Querystring: Record<string, unknown> }>): string | undefined {
  const fromQuery = request.query.token;
  if (typeof fromQuery === 'string' && fromQuery !== '') return fromQuery;
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === 'token' && value.length > 0) return value.join('=');
  }
  return undefined;
}

/** A browser's Origin must be this host, so another site's page cannot open a console with a leaked URL (Nova checks the same). */
function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const hostnameOf = (url: string) => {
    try {
      return new URL(url).hostname;
    } catch {
      return undefined;
    }
  };
  const originHost = hostnameOf(origin);
  if (originHost === undefined) throw new ApiError(403, 'Origin header is not a URL.');
  if (originHost !== hostnameOf(`http://${request.headers.host ?? ''}`)) throw new ApiError(403, 'Origin header does not match this host.');
}
