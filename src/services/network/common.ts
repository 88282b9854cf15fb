import type { Json } from '../../core/http/body.js';
import { newUuid } from '../../core/ids.js';
import { NeutronError } from './context.js';

export const invalidInput = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}`);

/*
 * Request bodies reach the domain already checked against the route's schema (attributes/):
 * their types, lengths and keys are as the resource's attribute map says. What is left here
 * is Neutron's conversion of what the schema let through. In-process callers (client/,
 * default networks) pass values of these types too.
 */

/** A string attribute, or undefined when absent. */
export const str = (body: Json, key: string): string | undefined => body[key] as string | undefined;

/** convert_to_boolean: the schema let through a boolean or "true"/"false" in any case (null: not given). */
export function bool(body: Json, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'boolean' ? v : String(v).toLowerCase() === 'true';
}

/** convert_to_int: the schema let through an integer or its decimal string (null: not given). */
export function int(body: Json, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return Number(v);
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

/** An id the schema checked is a UUID, as Neutron stores it (lower case). */
export const uuidOf = (value: unknown): string => String(value).toLowerCase();

export { newUuid };
