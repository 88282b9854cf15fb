import type { FastifyRequest, RawServerDefault, RouteGenericInterface, RouteShorthandOptions } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidInput, novaMessage, pyRepr, type AjvFailure, type SchemaPart } from './messages.js';
import type { Schema } from './types.js';

/**
 * How compute's routes declare their request schemas. A route whose body is the same at
 * every microversion declares it to Fastify as usual (`{ schema: { body } }`). A route whose
 * body changes with the microversion (as Nova picks a schema per version range) declares them
 * all with `bodyByVersion`, whose preValidation hook checks the body with Fastify's own
 * validator compiler against the one the request's microversion selects.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A compute route's body schemas by microversion (bodyByVersion). */
    bodySchemas?: Readonly<Record<string, Record<string, unknown> | null>>;
  }
}

/** The body schema a request was checked against (so the numeric-string check reads the same one). */
const checkedAgainst = new WeakMap<FastifyRequest, Schema>();

/**
 * Nova's versioned schemas: `{ '2.1': schema, '2.19': schema }`, each from its version on. Before
 * the first, or from a version mapped to null, the route does not exist and its handler says so
 * (404), as Nova's router would before looking at the body.
 */
export function bodyByVersion<Route extends RouteGenericInterface = RouteGenericInterface>(
  versions: Readonly<Record<string, Schema | null>>,
): RouteShorthandOptions<RawServerDefault, IncomingMessage, ServerResponse, Route> {
  const ordered = Object.entries(versions).sort(([a], [b]) => minorOf(b) - minorOf(a));
  const preValidation = async (request: FastifyRequest<Route>): Promise<void> => {
    const found = ordered.find(([since]) => request.computeVersion.atLeast(since));
    const schema = found?.[1];
    if (!schema) return;
    const validate = request.compileValidationSchema(schema, 'body');
    if (!validate(request.body)) throw new SchemaFailure((validate.errors ?? []) as AjvFailure[], 'body', schema);
    checkedAgainst.set(request as FastifyRequest, schema);
  };
  return { preValidation, config: { bodySchemas: versions } };
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
  const schema = checkedAgainst.get(request) ?? ((request.routeOptions.schema as { body?: Schema } | undefined)?.body);
  if (schema) walk(schema, request.body, []);
}

function walk(schema: Schema, data: unknown, path: string[]): void {
  if (typeof data === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(data.trim())) {
    const n = Number(data);
    if (typeof schema.minimum === 'number' && n < schema.minimum) throw invalidInput(path, data, `${pyRepr(n)} is less than the minimum of ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && n > schema.maximum) throw invalidInput(path, data, `${pyRepr(n)} is greater than the maximum of ${schema.maximum}`);
    if (typeof schema.exclusiveMinimum === 'number' && n <= schema.exclusiveMinimum) {
      throw invalidInput(path, data, `${pyRepr(n)} is less than or equal to the minimum of ${schema.exclusiveMinimum}`);
    }
    return;
  }
  if (Array.isArray(data)) {
    const items = schema.items as Schema | undefined;
    if (items) data.forEach((item, i) => walk(items, item, [...path, String(i)]));
    return;
  }
  if (typeof data !== 'object' || data === null) return;
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>);
  for (const [key, value] of Object.entries(data)) {
    const direct = properties[key];
    if (direct) walk(direct, value, [...path, key]);
    for (const [pattern, sub] of patterns) if (new RegExp(pattern, 'u').test(key)) walk(sub, value, [...path, key]);
  }
}
