import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from './errors.js';

/**
 * How services read JSON request bodies: registered inside each service's (encapsulated)
 * plugin, since each answers odd content types its own way.
 */

/** No OpenStack request nests past a handful of levels; deeper input only exists to overflow a stack. */
export const MAX_JSON_DEPTH = 100;

/** True when arrays and objects in the JSON text nest deeper than `limit` (brackets in strings do not count). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** True when a string, or an object key, anywhere in the (depth-limited) value contains U+0000. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([key, v]) => key.includes('\u0000') || containsNul(v));
  }
  return false;
}

/**
 * An onRequest hook refusing a NUL anywhere in the URL: decoded into a path parameter or a
 * query value it would reach SQL, where PostgreSQL refuses it (a 500).
 */
export async function refuseNulInUrl(request: FastifyRequest): Promise<void> {
  if (request.url.includes('%00')) throw badRequest('Invalid URL: NUL characters are not allowed.');
}

/** The same for the query string only, for a service whose routes answer odd ids in their own way (Glance: 404). */
export async function refuseNulInQuery(request: FastifyRequest): Promise<void> {
  const query = request.url.indexOf('?');
  if (query >= 0 && request.url.includes('%00', query)) throw badRequest('Invalid query string: NUL characters are not allowed.');
}

export interface JsonBodyOptions {
  /** The error for a body whose Content-Type is not JSON; services differ (Keystone 400, Nova 415). */
  unsupportedMediaType(contentType: string): Error;
}

/** `application/json` or `application/<anything>+json`, parameters aside (as Flask's `is_json`). */
export function isJsonContentType(contentType: string): boolean {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[^\s/]+\+json$/.test(mediaType);
}

/**
 * Reads request bodies as OpenStack's services do, within the calling (encapsulated) plugin:
 * JSON under a JSON content type or none at all, an empty body as no body whatever its type,
 * JSON nested absurdly deep as a 400, and a body of any other type refused.
 */
export function acceptJsonBodies(app: FastifyInstance, options: JsonBodyOptions): void {
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  type Done = (err: Error | null, body?: unknown) => void;
  const parseJson = (request: FastifyRequest, body: string, done: Done): void => {
    if (body.length === 0) return done(null, undefined);
    if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      return done(badRequest(`Malformed request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    }
    defaultJson(request, body, (err, value) => {
      // Only an escape can put a NUL in JSON text; PostgreSQL refuses it in any string (a 500).
      if (!err && /\\u0000/i.test(body) && containsNul(value)) {
        return done(badRequest('Invalid input: strings must not contain NUL characters.'), undefined);
      }
      done(err, value);
    });
  };
  // Decided before Fastify looks at the header, which would answer 415 to one it cannot parse.
  app.addHook('preParsing', async (request, _reply, payload) => {
    const contentType = request.headers['content-type'];
    if (contentType === undefined || request.method === 'GET' || request.method === 'HEAD') return payload;
    const length = request.headers['content-length'];
    const hasBody = request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody || contentType.trim() === '') delete request.headers['content-type'];
    else if (!isJsonContentType(contentType)) throw options.unsupportedMediaType(contentType);
    return payload;
  });
  app.removeAllContentTypeParsers();
  // '*' also serves a body without Content-Type.
  for (const type of ['application/json', /^application\/[^\s;/]+\+json(\s*;|$)/, '*']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (request, body, done) => parseJson(request, body as string, done));
  }
}

/**
 * For services that also take other body types (image data, JSON patches): only replaces
 * the JSON parser, with an empty body read as no body (clients send the JSON content type on
 * bodiless DELETEs and PUTs) and the same depth and NUL guards as `acceptJsonBodies`.
 */
export function emptyJsonIsNoBody(app: FastifyInstance): void {
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      done(badRequest(`Malformed request body: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
      return;
    }
    defaultJson(request, text, (err, value) => {
      if (!err && /\\u0000/i.test(text) && containsNul(value)) {
        done(badRequest('Invalid input: strings must not contain NUL characters.'), undefined);
        return;
      }
      done(err, value);
    });
  });
}
