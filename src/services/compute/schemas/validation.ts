import type { FastifyRequest, RawServerDefault, RouteGenericInterface, RouteShorthandOptions } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidInput, novaMessage, pyRepr, type AjvFailure, type SchemaPart } from './messages.js';
import type { Schema } from './types.js';

/**
 * How compute's routes declare their request schemas. A route whose body (or query string) is
 * the same at every microversion declares it to Fastify as usual (`{ schema: { body } }`). A
 * route whose body changes with the microversion (as Nova picks a schema per version range)
 * declares them all with `bodyByVersion` (`queryByVersion`), whose preValidation hook checks
 * the request with Fastify's own validator compiler against the one its microversion selects.
 */

type VersionedSchemas = Readonly<Record<string, Schema | null>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A compute route's request schemas by microversion (bodyByVersion, queryByVersion). */
    versionedSchemas?: { body?: VersionedSchemas; querystring?: VersionedSchemas };
  }
}

/** The schemas a request was checked against (so the numeric-string check reads the same ones). */
const checkedAgainst = new WeakMap<FastifyRequest, { body?: Schema; querystring?: Schema }>();

/**
 * Nova's versioned schemas: `{ '2.1': schema, '2.19': schema }`, each from its version on. Before
 * the first, or from a version mapped to null, the route does not exist and its handler says so
 * (404), as Nova's router would before looking at the body.
 */
export function bodyByVersion<Route extends RouteGenericInterface = RouteGenericInterface>(
  versions: VersionedSchemas,
): RouteShorthandOptions<RawServerDefault, IncomingMessage, ServerResponse, Route> {
  return { preValidation: checkByVersion<Route>('body', versions), config: { versionedSchemas: { body: versions } } };
}

/** The same for a query string (Nova's paging parameters arrive with a microversion). */
export function queryByVersion<Route extends RouteGenericInterface = RouteGenericInterface>(
  versions: VersionedSchemas,
): RouteShorthandOptions<RawServerDefault, IncomingMessage, ServerResponse, Route> {
  return { preValidation: checkByVersion<Route>('querystring', versions), config: { versionedSchemas: { querystring: versions } } };
}

function checkByVersion<Route extends RouteGenericInterface>(part: SchemaPart, versions: VersionedSchemas) {
  const ordered = Object.entries(versions).sort(([a], [b]) => minorOf(b) - minorOf(a));
  return async (request: FastifyRequest<Route>): Promise<void> => {
    const schema = ordered.find(([since]) => request.computeVersion.atLeast(since))?.[1];
    if (!schema) return;
    const validate = request.compileValidationSchema(schema, part);
    const data = part === 'body' ? request.body : request.query;
    if (!validate(data)) throw new SchemaFailure((validate.errors ?? []) as AjvFailure[], part, schema);
    const req = request as FastifyRequest;
    checkedAgainst.set(req, { ...checkedAgainst.get(req), [part]: schema });
  };
}

const minorOf = (version: string) => Number(version.split('.')[1] ?? 0);

/** A refusal shaped as Fastify's own (FST_ERR_VALIDATION), so one handler words both. */
class SchemaFailure extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';
  constructor(
    readonly validation: AjvFailure[],
    readonly validationContext: SchemaPart,
    readonly schema: Schema,
  ) {
    super('request failed its schema');
  }
}

/** Nova's message for a schema failure that reached compute's error handler, or undefined if it is not one. */
export function schemaFailureMessage(error: unknown, request: FastifyRequest): string | undefined {
  const e = error as { code?: unknown; validation?: unknown; validationContext?: unknown; schema?: unknown };
  if (e?.code !== 'FST_ERR_VALIDATION' || !Array.isArray(e.validation)) return undefined;
  const part: SchemaPart = e.validationContext === 'querystring' ? 'querystring' : 'body';
  const declared = request.routeOptions.schema as { body?: unknown; querystring?: unknown } | undefined;
  const schema = e.schema ?? (part === 'body' ? declared?.body : declared?.querystring);
  return novaMessage(e.validation as AjvFailure[], part, part === 'body' ? request.body : request.query, schema);
}

/**
 * Nova's validator also applies `minimum`/`maximum` to numbers written as strings ("10"),
 * which JSON Schema leaves alone; this is that extension, run once the schema has passed.
 */
export function checkNumericStrings(request: FastifyRequest): void {
  const declared = request.routeOptions.schema as { body?: Schema; querystring?: Schema } | undefined;
  const checked = checkedAgainst.get(request);
  const body = checked?.body ?? declared?.body;
  const query = checked?.querystring ?? declared?.querystring;
  if (body) walk(body, request.body, [], 'body');
  if (query) walk(query, request.query, [], 'querystring');
}

function walk(schema: Schema, data: unknown, path: string[], part: SchemaPart): void {
  if (typeof data === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(data.trim())) {
    const n = Number(data);
    const refuse = (reason: string) => invalidInput(path, data, `${pyRepr(n)} ${reason}`, part);
    if (typeof schema.minimum === 'number' && n < schema.minimum) throw refuse(`is less than the minimum of ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && n > schema.maximum) throw refuse(`is greater than the maximum of ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && n <= schema.exclusiveMinimum) throw refuse(`is less than or equal to the minimum of ${schema.exclusiveMinimum}`);
    return;
  }
  if (Array.isArray(data)) {
    const items = schema.items as Schema | undefined;
    if (items) data.forEach((item, i) => walk(items, item, [...path, String(i)], part));
    return;
  }
  if (typeof data !== 'object' || data === null) return;
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>);
  for (const [key, value] of Object.entries(data)) {
    const direct = properties[key];
    if (direct) walk(direct, value, [...path, key], part);
    for (const [pattern, sub] of patterns) if (new RegExp(pattern, 'u').test(key)) walk(sub, value, [...path, key], part);
  }
}
