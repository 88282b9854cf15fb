import { badRequest } from './errors.js';

/**
 * Small typed readers over untrusted JSON. Every request body goes through these (or a
 * schema), so a wrong type becomes a 400 that names the field, never a crash later.
 */
export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireObject(value: unknown, field: string): Json {
  if (!isObject(value)) throw badRequest(`Invalid input for field '${field}': expected an object.`);
  return value;
}

/** The body's single top-level member, e.g. `{"project": {...}}`. */
export function envelope(body: unknown, key: string): Json {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  return requireObject(body[key], key);
}

export function optString(obj: Json, field: string, opts: { max?: number; min?: number } = {}): string | undefined {
  const value = obj[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`Invalid input for field '${field}': expected a string.`);
  if (opts.max !== undefined && value.length > opts.max) {
    throw badRequest(`Invalid input for field '${field}': longer than ${opts.max} characters.`);
  }
  if (opts.min !== undefined && value.length < opts.min) {
    throw badRequest(`Invalid input for field '${field}': shorter than ${opts.min} characters.`);
  }
  return value;
}

export function reqString(obj: Json, field: string, opts: { max?: number; min?: number } = {}): string {
  const value = optString(obj, field, { min: 1, ...opts });
  if (value === undefined) throw badRequest(`Invalid input for field '${field}': it is required.`);
  return value;
}

/** A string or null (JSON null clears the attribute). */
export function optNullableString(obj: Json, field: string, opts: { max?: number } = {}): string | null | undefined {
  if (obj[field] === null) return null;
  return optString(obj, field, opts);
}

/** A string where JSON null means empty (OpenStack's nullable descriptions). */
export function optClearableString(obj: Json, field: string, opts: { max?: number } = {}): string | undefined {
  const value = optNullableString(obj, field, opts);
  return value === null ? '' : value;
}

export function optBool(obj: Json, field: string): boolean | undefined {
  const value = obj[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`Invalid input for field '${field}': expected a boolean.`);
  return value;
}

export function optInt(obj: Json, field: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const value = obj[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw badRequest(`Invalid input for field '${field}': expected an integer.`);
  }
  if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
    throw badRequest(`Invalid input for field '${field}': out of range.`);
  }
  return value;
}

export function optStringArray(obj: Json, field: string, opts: { maxItems?: number; max?: number } = {}): string[] | undefined {
  const value = obj[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw badRequest(`Invalid input for field '${field}': expected a list of strings.`);
  }
  if (opts.maxItems !== undefined && value.length > opts.maxItems) {
    throw badRequest(`Invalid input for field '${field}': more than ${opts.maxItems} items.`);
  }
  if (opts.max !== undefined && value.some((v: string) => v.length > opts.max!)) {
    throw badRequest(`Invalid input for field '${field}': an item is longer than ${opts.max} characters.`);
  }
  return value as string[];
}

/** Query parameters may repeat; OpenStack APIs use the first (or the one) value. */
export function queryString(query: unknown, name: string): string | undefined {
  if (!isObject(query)) return undefined;
  const value = query[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** OpenStack accepts true/false in several spellings in query strings. */
export function queryBool(query: unknown, name: string): boolean | undefined {
  const value = queryString(query, name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on', ''].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw badRequest(`Invalid value for query parameter '${name}': expected a boolean.`);
}
