import { isObject, type Json } from '../../core/http/body.js';
import { newUuid } from '../../core/ids.js';
import { NeutronError } from './context.js';

export const invalidInput = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}`);

/** `{"network": {...}}` → the inner object, or Neutron's 400. */
export function resourceBody(body: unknown, key: string): Json {
  if (!isObject(body) || !isObject(body[key])) {
    throw new NeutronError(400, 'BadRequest', `Bad ${key} request: Resource body required.`);
  }
  return body[key] as Json;
}

/** Rejects attributes the resource does not have, as Neutron's attribute validation does. */
export function onlyAttributes(body: Json, allowed: readonly string[], resource: string): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new NeutronError(400, 'HTTPBadRequest', `Unrecognized attribute(s) '${key.slice(0, 64)}' for ${resource}.`);
    }
  }
}

export function str(body: Json, key: string, max = 255): string | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidInput(`'${JSON.stringify(v)?.slice(0, 40)}' is not a valid string for ${key}.`);
  if (v.length > max) throw invalidInput(`'${v.slice(0, 40)}...' exceeds maximum length of ${max} for ${key}.`);
  return v;
}

/** Neutron accepts booleans and their string spellings ("true", "False"). */
export function bool(body: Json, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false'].includes(v.toLowerCase())) return v.toLowerCase() === 'true';
  throw invalidInput(`'${JSON.stringify(v)?.slice(0, 40)}' cannot be converted to boolean for ${key}.`);
}

export function int(body: Json, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalidInput(`'${JSON.stringify(v)?.slice(0, 40)}' is not an integer for ${key}.`);
  return n;
}

export function tagList(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t.length === 0 || t.length > 60 || t.includes(','))) {
    throw invalidInput('tags must be a list of strings of 1 to 60 characters without commas.');
  }
  return [...new Set(value as string[])];
}

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The standard attributes of a resource being created from a request body. */
export function newResource(body: Json, projectId: string, revisionNumber = 1) {
  const stamp = now();
  return {
    id: newUuid(),
    projectId,
    name: str(body, 'name') ?? '',
    description: str(body, 'description') ?? '',
    createdAt: stamp,
    updatedAt: stamp,
    revisionNumber,
    tags: [] as string[],
  };
}

export function uuidOrThrow(value: unknown, key: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    throw invalidInput(`'${JSON.stringify(value)?.slice(0, 40)}' is not a valid UUID for ${key}.`);
  }
  return value.toLowerCase();
}

export { newUuid };
