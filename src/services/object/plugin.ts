import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accessRulesAllow, requestServicePath, type AuthContext } from '../../core/auth/context.js';
import { TEMPURL_DIGESTS } from './access.js';
import { getAccount, getContainer, deleteContainer, postAccount, postContainer, putContainer } from './containers.js';
import type { ObjectContext, SwiftRequest, SwiftResponse } from './context.js';
import { bulkDelete } from './bulk-delete.js';
import { errorBody, SwiftError } from './errors.js';
import { LIMITS, parseSwiftPath } from './names.js';
import { copyVerb, deleteObject, getObject, postObject, putObject } from './objects.js';

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY'] as const;

/** The Content-Type each request came with (see the onRequest hook). */
const contentTypes = new WeakMap<FastifyRequest, string>();

/** Swift's transaction id: "tx", 21 random hex digits, "-", the time in hex. */
function transId(): string {
  return `tx${randomBytes(11).toString('hex').slice(0, 21)}-${Math.floor(Date.now() / 1000).toString(16).padStart(10, '0')}`;
}

/** /info: what this Swift supports, which clients read before SLO uploads and temp URLs. */
function info(): Record<string, unknown> {
  return {
    swift: {
      version: '2.34.0',
      max_file_size: LIMITS.maxFileSize,
      max_meta_name_length: LIMITS.maxMetaNameLength,
      max_meta_value_length: LIMITS.maxMetaValueLength,
      max_meta_count: LIMITS.maxMetaCount,
      max_meta_overall_size: LIMITS.maxMetaOverallSize,
      max_header_size: LIMITS.maxHeaderSize,
      max_object_name_length: LIMITS.maxObjectNameLength,
      container_listing_limit: LIMITS.containerListingLimit,
      account_listing_limit: LIMITS.accountListingLimit,
      max_account_name_length: LIMITS.maxAccountNameLength,
      max_container_name_length: LIMITS.maxContainerNameLength,
      extra_header_count: 0,
      valid_ratelimits: [],
      strict_cors_mode: true,
      policies: [{ name: 'Policy-0', aliases: 'Policy-0', default: true }],
      allow_account_management: false,
      account_autocreate: true,
    },
    slo: { max_manifest_segments: LIMITS.maxManifestSegments, max_manifest_size: LIMITS.maxManifestSize, min_segment_size: 1, yield_frequency: 10, allow_async_delete: false },
    dlo: { max_segments: 10000 },
    tempurl: {
      methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
      incoming_remove_headers: ['x-timestamp'],
      incoming_allow_headers: [],
      outgoing_remove_headers: ['x-object-meta-*'],
      outgoing_allow_headers: ['x-object-meta-public-*'],
      allowed_digests: [...TEMPURL_DIGESTS],
    },
    account_quotas: {},
    container_quotas: {},
    keystoneauth: {},
  };
}

/** The caller, when the request carries a token that validates; an anonymous caller otherwise (ACLs and temp URLs decide). */
async function authOf(ctx: ObjectContext, request: FastifyRequest): Promise<AuthContext | undefined> {
  const raw = request.headers['x-auth-token'] ?? request.headers['x-storage-token'];
  const token = Array.isArray(raw) ? raw[0] : raw;
  if (!token) return undefined;
  let auth: AuthContext;
  try {
    auth = await ctx.tokens.validate(token);
  } catch {
    return undefined;
  }
  // An application credential's access rules bind its token here too (Swift's service type).
  if (auth.accessRules && !accessRulesAllow(auth.accessRules, 'object-store', request.method, requestServicePath(request.url))) return undefined;
  return auth;
}

function route(req: SwiftRequest): (ctx: ObjectContext, req: SwiftRequest) => Promise<SwiftResponse> {
  const level = req.path.object !== undefined ? 'object' : req.path.container !== undefined ? 'container' : 'account';
  const m = req.method;
  if (level === 'account') {
    if (m === 'GET' || m === 'HEAD') return getAccount;
    // Swift's bulk middleware answers POST ?bulk-delete on the account.
    if (m === 'POST') return req.query['bulk-delete'] !== undefined ? bulkDelete : postAccount;
  } else if (level === 'container') {
    if (m === 'GET' || m === 'HEAD') return getContainer;
    if (m === 'PUT') return putContainer;
    if (m === 'POST') return postContainer;
    if (m === 'DELETE') return deleteContainer;
  } else {
    if (m === 'GET' || m === 'HEAD') return getObject;
    if (m === 'PUT') return putObject;
    if (m === 'POST') return postObject;
    if (m === 'DELETE') return deleteObject;
    if (m === 'COPY') return copyVerb;
  }
  throw new SwiftError(405, undefined, { allow: level === 'account' ? 'GET, HEAD, POST' : level === 'container' ? 'DELETE, GET, HEAD, POST, PUT' : 'COPY, DELETE, GET, HEAD, POST, PUT' });
}

/** Swift's spelling of a header name (Python's str.title(), as swob writes them): x-object-meta-k1 -> X-Object-Meta-K1. */
export function swiftHeaderCase(name: string): string {
  return name.toLowerCase().replace(/(^|[^a-z])([a-z])/g, (_m, before: string, letter: string) => before + letter.toUpperCase());
}

const USER_METADATA = /^x-(account|container|object)-meta-/i;

function send(reply: FastifyReply, request: FastifyRequest, response: SwiftResponse): FastifyReply {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    // Fastify lowercases the names it is given. Metadata goes out as Swift spells it, set on the
    // raw response (Node keeps that spelling): openstacksdk finds metadata by a case-sensitive
    // prefix (X-Object-Meta-), and reads none from lowercase names.
    if (USER_METADATA.test(name)) reply.raw.setHeader(swiftHeaderCase(name), value);
    else reply.header(name, value);
  }
  if (request.method === 'HEAD' || response.status === 204 || response.status === 304) {
    if (response.body && typeof response.body !== 'string' && !Buffer.isBuffer(response.body)) (response.body as Readable).destroy();
    return reply.send();
  }
  return reply.send(response.body ?? '');
}

/** Swift v1 under /object-store: its own auth (tokens, ACLs, temp URLs), raw bodies and error shape. */
export function objectPlugin(ctx: ObjectContext) {
  return async function register(app: FastifyInstance): Promise<void> {
    // Object bodies stream to their files whatever their type: no parser may read them first.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    app.addHook('onRequest', async (request, reply) => {
      const id = transId();
      reply.header('x-trans-id', id).header('x-openstack-request-id', id);
      // Swift keeps any Content-Type an object is given; Fastify refuses (415) one that is not a
      // media type before any parser runs. The body parser sees a neutral type; the handler, the real one.
      const type = request.headers['content-type'];
      if (type !== undefined) {
        contentTypes.set(request, type);
        request.headers['content-type'] = 'application/octet-stream';
      }
    });
    app.setErrorHandler((error: FastifyError | SwiftError, request: FastifyRequest, reply: FastifyReply) => {
      const swift = error instanceof SwiftError ? error : toSwiftError(error);
      if (swift.status >= 500) request.log.error({ err: error }, 'object storage request failed');
      // A refusal before the body was read leaves bytes on the connection: close it after this answer.
      if (!request.raw.complete) reply.header('connection', 'close');
      for (const [name, value] of Object.entries(swift.headers)) reply.header(name, value);
      reply.code(swift.status);
      if (swift.status === 304 || request.method === 'HEAD') {
        reply.header('content-length', '0');
        return reply.send();
      }
      const body = errorBody(swift);
      reply.header('content-type', swift.body !== undefined && !swift.body.startsWith('<html>') ? 'text/plain; charset=utf-8' : 'text/html; charset=UTF-8');
      return reply.send(body);
    });
    app.serviceNotFound((_request, reply) => {
      reply.code(404).header('content-type', 'text/html; charset=UTF-8').send(errorBody(new SwiftError(404)));
    });

    app.get('/info', { config: { public: true } }, async (_request, reply) => {
      reply.header('content-type', 'application/json; charset=utf-8');
      return JSON.stringify(info());
    });
    app.get('/healthcheck', { config: { public: true } }, async (_request, reply) => {
      reply.header('content-type', 'text/plain');
      return 'OK';
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const url = request.raw.url ?? '';
      const q = url.indexOf('?');
      const rawPath = q < 0 ? url : url.slice(0, q);
      const marker = '/v1/';
      const at = rawPath.indexOf(marker);
      const path = parseSwiftPath(rawPath.slice(at + marker.length));
      const query: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(q < 0 ? '' : url.slice(q + 1))) {
        if (v.includes('\0')) throw new SwiftError(412, 'Invalid UTF8 or contains NULL');
        query[k] = v;
      }
      const lengthHeader = request.headers['content-length'];
      if (lengthHeader !== undefined && !/^\d+$/.test(lengthHeader)) throw new SwiftError(400, 'Invalid Content-Length header value');
      const chunked = /chunked/i.test(String(request.headers['transfer-encoding'] ?? ''));
      const headers = { ...request.headers };
      const type = contentTypes.get(request);
      if (type !== undefined) headers['content-type'] = type;
      const req: SwiftRequest = {
        method: request.method,
        path,
        // Temp URL signatures are over the path as the client wrote it.
        rawPath,
        query,
        headers,
        auth: await authOf(ctx, request),
        body: request.raw,
        contentLength: lengthHeader === undefined || chunked ? undefined : Number(lengthHeader),
        chunked,
      };
      const response = await route(req)(ctx, req);
      return send(reply, request, response);
    };
    app.route({ method: [...METHODS], url: '/v1/*', exposeHeadRoute: false, handler });
    app.route({ method: [...METHODS], url: '/v1', exposeHeadRoute: false, handler: async () => { throw new SwiftError(404); } });
  };
}

function toSwiftError(error: FastifyError): SwiftError {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  return new SwiftError(status);
}
