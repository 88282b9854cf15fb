import { isIPv4, isIPv6 } from 'node:net';
import { badRequest } from './context.js';

/**
 * Nova checks request bodies with JSON schema and answers 400 with
 * `Invalid input for field/attribute <path>. Value: <value>. <reason>`; these helpers give
 * the same messages for the schemas this service needs.
 */

export type Body = Record<string, unknown>;

/** Python's repr, roughly: what Nova's messages print for a value. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `'${k}': ${pyRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

export function invalidInput(path: string, value: unknown, reason: string): Error {
  return badRequest(`Invalid input for field/attribute ${path}. Value: ${pyRepr(value)}. ${reason}`);
}

const isObject = (value: unknown): value is Body => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body's one top-level member (`{"flavor": {...}}`), which must be an object. */
export function member(body: unknown, name: string): Body {
  if (!isObject(body)) throw invalidInput(name, body, `'${name}' is a required property`);
  if (!(name in body)) throw invalidInput(name, body, `'${name}' is a required property`);
  const value = body[name];
  if (!isObject(value)) throw invalidInput(name, value, `${pyRepr(value)} is not of type 'object'`);
  return value;
}

export function requireKeys(obj: Body, path: string, keys: readonly string[]): void {
  for (const key of keys) if (!(key in obj)) throw invalidInput(path, obj, `'${key}' is a required property`);
}

export function noExtraKeys(obj: Body, path: string, allowed: readonly string[]): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    const list = extra.map((k) => `'${k}'`).join(', ');
    throw invalidInput(path, obj, `Additional properties are not allowed (${list} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  }
}

/** Nova's `parameter_types.name`: 1-255 printable characters, no leading or trailing space. */
export function name(value: unknown, path = 'name'): string {
  const text = string(value, path, 1, 255);
  if (/^\s|\s$/.test(text) || /[\u0000-\u001f\u007f]/.test(text)) {
    throw invalidInput(path, value, `${pyRepr(value)} does not match the name pattern (printable characters, no leading or trailing whitespace)`);
  }
  return text;
}

export function string(value: unknown, path: string, minLength = 0, maxLength = 255): string {
  if (typeof value !== 'string') throw invalidInput(path, value, `${pyRepr(value)} is not of type 'string'`);
  if (value.length < minLength) throw invalidInput(path, value, `${pyRepr(value)} is too short`);
  if (value.length > maxLength) throw invalidInput(path, value, `${pyRepr(value)} is too long`);
  return value;
}

/**
 * accessIPv4 / accessIPv6: Nova's schema formats `ipv4` / `ipv6`; Nova stores the address
 * as netaddr prints it, so an IPv6 address comes back compressed (`::babe:dc0c:1602`).
 * An empty string stays empty (no address).
 */
export function accessIp(value: unknown, path: 'accessIPv4' | 'accessIPv6'): string {
  const text = string(value, path, 0, 64);
  if (text === '') return text;
  if (path === 'accessIPv4') {
    if (!isIPv4(text)) throw invalidInput(path, value, `${pyRepr(value)} is not a 'ipv4'`);
    return text;
  }
  if (!isIPv6(text)) throw invalidInput(path, value, `${pyRepr(value)} is not a 'ipv6'`);
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

const MAX_INT = 2147483647;

/** An integer, or a string of digits, within [minimum, MAX_INT]: Nova's flavor and quota integers. */
export function integer(value: unknown, path: string, minimum: number, maximum = MAX_INT): number {
  let n: number;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^-?[0-9]+$/.test(value.trim())) n = Number(value.trim());
  else throw invalidInput(path, value, `${pyRepr(value)} is not of type 'integer', 'string'`);
  if (n < minimum) throw invalidInput(path, value, `${pyRepr(value)} is less than the minimum of ${minimum}`);
  if (n > maximum) throw invalidInput(path, value, `${pyRepr(value)} is greater than the maximum of ${maximum}`);
  return n;
}

/** oslo's bool_from_string as `parameter_types.boolean` accepts it. */
export function boolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (['true', '1', 'yes', 'on', 't', 'y'].includes(v)) return true;
    if (['false', '0', 'no', 'off', 'f', 'n'].includes(v)) return false;
  }
  throw invalidInput(path, value, `${pyRepr(value)} is not of type 'boolean', 'string'`);
}

/** A query parameter's single value (the last, when repeated). */
export function queryValue(query: unknown, key: string): string | undefined {
  if (!isObject(query)) return undefined;
  const value = query[key];
  if (Array.isArray(value)) return value.length > 0 ? String(value[value.length - 1]) : undefined;
  return typeof value === 'string' ? value : undefined;
}
