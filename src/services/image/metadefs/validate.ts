import { ApiError, badRequest } from '../../../core/http/errors.js';
import { isObject } from '../../../core/http/body.js';

/**
 * Request bodies of the metadefs API checked as Glance's schemas check them
 * (/v2/schemas/metadefs/...): the same members, types and bounds, and read-only attributes
 * refused with 403 as Glance's deserializers refuse them.
 */

const PROPERTY_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const READ_ONLY = ['self', 'schema', 'created_at', 'updated_at'];

export type Json = Record<string, unknown>;

export function requireObject(body: unknown, what: string): Json {
  if (!isObject(body)) throw badRequest(`The request body must be a JSON object describing the ${what}.`);
  return body;
}

export function refuseReadOnly(body: Json): void {
  for (const key of READ_ONLY) if (key in body) throw new ApiError(403, `Attribute '${key}' is read-only.`);
}

export function refuseUnknown(body: Json, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw badRequest(`Additional properties are not allowed ('${key.slice(0, 64)}' was unexpected)`);
  }
}

export function optionalString(body: Json, key: string, max: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key}: ${JSON.stringify(value).slice(0, 64)} is not of type 'string'`);
  if (value.length > max) throw badRequest(`${key}: '${value.slice(0, 32)}...' is too long (at most ${max} characters)`);
  return value;
}

export function requiredString(body: Json, key: string, max: number): string {
  const value = optionalString(body, key, max);
  if (value === undefined || value.trim() === '') throw badRequest(`'${key}' is a required property`);
  return value;
}

export function optionalBoolean(body: Json, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`${key}: ${JSON.stringify(value).slice(0, 64)} is not of type 'boolean'`);
  return value;
}

function stringArray(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw badRequest(`${where}: expected an array of strings`);
  }
  if (new Set(value).size !== value.length) throw badRequest(`${where}: has non-unique elements`);
  return value;
}

const nonNegative = (value: unknown, where: string): void => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badRequest(`${where}: expected an integer of at least 0`);
};
const numeric = (value: unknown, where: string): void => {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badRequest(`${where}: ${JSON.stringify(value).slice(0, 32)} is not of type 'number'`);
};

/**
 * One property definition (a JSON Schema fragment Glance keeps as given): title and type are
 * required, each known keyword has its type, and nothing else is stored.
 */
export function checkPropertyDefinition(value: unknown, where: string): Json {
  if (!isObject(value)) throw badRequest(`${where}: a property definition is a JSON object`);
  if (typeof value.title !== 'string') throw badRequest(`${where}: 'title' is a required property`);
  if (value.type !== null && !(typeof value.type === 'string' && PROPERTY_TYPES.includes(value.type))) {
    throw badRequest(`${where}: 'type' is a required property, one of ${PROPERTY_TYPES.join(', ')}`);
  }
  const out: Json = { title: value.title, type: value.type };
  for (const [key, v] of Object.entries(value)) {
    const at = `${where}.${key}`;
    switch (key) {
      case 'name':
      case 'title':
      case 'type':
        break;
      case 'description':
      case 'pattern':
        if (typeof v !== 'string') throw badRequest(`${at}: ${JSON.stringify(v).slice(0, 32)} is not of type 'string'`);
        if (key === 'pattern') {
          try {
            new RegExp(v, 'u');
          } catch {
            throw badRequest(`${at}: '${v.slice(0, 32)}' is not a 'regex'`);
          }
        }
        out[key] = v;
        break;
      case 'operators':
        out[key] = stringArray(v, at);
        break;
      case 'required':
        out[key] = stringArray(v, at);
        break;
      case 'minimum':
      case 'maximum':
        numeric(v, at);
        out[key] = v;
        break;
      case 'maxLength':
      case 'minLength':
      case 'maxItems':
      case 'minItems':
        nonNegative(v, at);
        out[key] = v;
        break;
      case 'enum':
        if (!Array.isArray(v)) throw badRequest(`${at}: expected an array`);
        out[key] = v;
        break;
      case 'readonly':
      case 'uniqueItems':
      case 'additionalItems':
        if (typeof v !== 'boolean') throw badRequest(`${at}: ${JSON.stringify(v).slice(0, 32)} is not of type 'boolean'`);
        out[key] = v;
        break;
      case 'default':
        out[key] = v;
        break;
      case 'items': {
        if (!isObject(v)) throw badRequest(`${at}: expected an object`);
        if (v.type !== undefined && v.type !== null && !(typeof v.type === 'string' && PROPERTY_TYPES.includes(v.type))) {
          throw badRequest(`${at}.type: one of ${PROPERTY_TYPES.join(', ')}`);
        }
        if (v.enum !== undefined && !Array.isArray(v.enum)) throw badRequest(`${at}.enum: expected an array`);
        out[key] = v;
        break;
      }
      default:
        // Glance's property schema is closed, and glanceclient validates what it reads against it.
        throw badRequest(`${where}: additional properties are not allowed ('${key.slice(0, 64)}' was unexpected)`);
    }
  }
  return out;
}

/** A map of property name to definition (a namespace's or an object's `properties`). */
export function checkPropertyMap(value: unknown, where: string): Record<string, Json> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw badRequest(`${where}: expected an object of property definitions`);
  const out: Record<string, Json> = {};
  for (const [name, definition] of Object.entries(value)) {
    checkName(name, `${where} name`);
    out[name] = checkPropertyDefinition(definition, `${where}.${name}`);
  }
  return out;
}

/** An object's body as stored: description, required and properties. */
export function checkObjectBody(body: Json, where = 'object'): { name: string; body: Json } {
  const name = requiredString(body, 'name', 80);
  checkName(name, `${where} name`);
  const out: Json = {};
  const description = optionalString(body, 'description', 65_535);
  if (description !== undefined) out.description = description;
  if (body.required !== undefined && body.required !== null) out.required = stringArray(body.required, `${where}.required`);
  out.properties = checkPropertyMap(body.properties, `${where}.properties`);
  return { name, body: out };
}

/** Names appear in paths: no slashes or control characters, as no Glance client could name them. */
export function checkName(name: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 255 || /[\u0000-\u001f/]/.test(name)) throw badRequest(`Invalid ${what}: '${name.slice(0, 64)}'`);
}
