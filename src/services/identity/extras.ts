import type { Json } from '../../core/http/body.js';
import { badRequest } from '../../core/http/errors.js';

/**
 * Keystone keeps attributes it does not know (email, custom fields) on the entity and
 * returns them; these are the ones it refuses to store that way.
 */
const RESERVED = new Set(['id', 'links', 'password', 'original_password', 'domain', 'is_domain', 'options']);

export function extraAttributes(body: Json, known: readonly string[]): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (known.includes(key) || RESERVED.has(key)) continue;
    if (key.length > 255) throw badRequest(`Invalid attribute name '${key.slice(0, 32)}...'.`);
    if (JSON.stringify(value).length > 65_536) throw badRequest(`Invalid input for field '${key}': too large.`);
    extra[key] = value;
  }
  return extra;
}

/** Names Keystone accepts: 1..255 characters, not only whitespace. */
export function checkName(name: string, field = 'name', max = 255): string {
  if (name.trim().length === 0) throw badRequest(`Invalid input for field '${field}': it must not be blank.`);
  if (name.length > max) throw badRequest(`Invalid input for field '${field}': longer than ${max} characters.`);
  return name;
}
