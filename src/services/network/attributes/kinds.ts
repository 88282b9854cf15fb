import type { JsonSchema } from '../../../core/http/route-schemas.js';

/**
 * The value kinds of Neutron's attribute maps (neutron-lib's validators and converters), each
 * as the JSON Schema a route declares to Fastify and Neutron's words for a value it refuses.
 * A validator's refusal is Neutron's `HTTPBadRequest` "Invalid input for <attr>. Reason: ...";
 * a converter's (booleans, integers, a rule's protocol and ports) is the converter's own
 * error, as Neutron raises it before any validator runs.
 */

/** What Neutron answers for a refused value: its error type and message. */
export interface Refusal {
  type: string;
  message: string;
}

export interface Kind {
  schema: JsonSchema;
  /** Neutron's answer for `value`, which this kind's schema refused, given as `attribute`. */
  refuse(attribute: string, value: unknown): Refusal;
}

/** A value as Neutron's messages print it (Python's `%s`), cut short. */
export function shown(value: unknown): string {
  const python = (v: unknown): string => {
    if (v === null || v === undefined) return 'None';
    if (v === true) return 'True';
    if (v === false) return 'False';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    const quoted = (s: unknown) => (typeof s === 'string' ? `'${s}'` : python(s));
    if (Array.isArray(v)) return `[${v.map(quoted).join(', ')}]`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `'${k}': ${quoted(x)}`).join(', ')}}`;
  };
  const text = python(value);
  return text.length > 64 ? `${text.slice(0, 64)}...` : text;
}

export const invalidFor = (attribute: string, reason: string): Refusal => ({ type: 'HTTPBadRequest', message: `Invalid input for ${attribute}. Reason: ${reason}.` });
const converterError = (reason: string): Refusal => ({ type: 'InvalidInput', message: `Invalid input for operation: ${reason}.` });

const orNull = (schema: JsonSchema, nullable: boolean | undefined): JsonSchema => (nullable ? { anyOf: [schema, { type: 'null' }] } : schema);
const validator = (schema: JsonSchema, reason: (value: unknown) => string): Kind => ({ schema, refuse: (attribute, value) => invalidFor(attribute, reason(value)) });

/** Neutron's string reason: not a string, or too long (type:string, type:name_string, type:not_empty_string). */
function stringReason(value: unknown, max: number | undefined, min = 0): string {
  if (typeof value !== 'string') return `'${shown(value)}' is not a valid string`;
  if (value.length < min) return `'${value}' Blank strings are not permitted`;
  return `'${shown(value)}' exceeds maximum length of ${max}`;
}

/** type:string (`string_or_none` when nullable) with Neutron's maximum length. */
export function text(max: number, o: { min?: number; nullable?: boolean; pattern?: string; reason?: string } = {}): Kind {
  const schema: JsonSchema = { type: 'string', maxLength: max, ...(o.min ? { minLength: o.min } : {}), ...(o.pattern ? { pattern: o.pattern } : {}) };
  return validator(orNull(schema, o.nullable), (value) => {
    if (value === null || (typeof value === 'string' && value.length >= (o.min ?? 0) && value.length <= max)) return o.reason ? `'${shown(value)}' ${o.reason}` : `'${shown(value)}' is not a valid string`;
    return stringReason(value, max, o.min);
  });
}

/** Neutron's convert_to_boolean as Kumo takes it: a boolean, or "true"/"false" in any case. */
export const BOOLEAN_STRING = '^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$';
export function flag(o: { nullable?: boolean } = {}): Kind {
  return {
    schema: { anyOf: [{ type: 'boolean' }, { type: 'string', pattern: BOOLEAN_STRING }, ...(o.nullable ? [{ type: 'null' }] : [])] },
    refuse: (_attribute, value) => converterError(`'${shown(value)}' cannot be converted to boolean`),
  };
}

/** The decimal spellings convert_to_int takes from a string (Kumo refuses blanks and signs other than `-`). */
const INTEGER_STRING = '^-?[0-9]+$';
const NON_NEGATIVE_STRING = '^[0-9]+$';
const isIntegral = (value: unknown) => (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && new RegExp(INTEGER_STRING).test(value));

/**
 * convert_to_int, then the validator: `values` (type:values), `min` 0 (type:non_negative) or a
 * range (type:range). A string form must match `digits` (its range cannot be a pattern's).
 */
export function integer(o: { values?: number[]; min?: number; max?: number; nullable?: boolean; digits?: string } = {}): Kind {
  const numeric: JsonSchema = o.values
    ? { anyOf: [{ enum: o.values }, { enum: o.values.map(String) }] }
    : {
        anyOf: [
          { type: 'integer', ...(o.min !== undefined ? { minimum: o.min } : {}), ...(o.max !== undefined ? { maximum: o.max } : {}) },
          { type: 'string', pattern: o.digits ?? (o.min === 0 ? NON_NEGATIVE_STRING : INTEGER_STRING) },
        ],
      };
  return {
    schema: o.nullable ? { anyOf: [numeric, { type: 'null' }] } : numeric,
    refuse: (attribute, value) => {
      if (!isIntegral(value)) return converterError(`'${shown(value)}' is not an integer`);
      const n = Number(value);
      if (o.values) return invalidFor(attribute, `${shown(value)} is not in [${o.values.join(', ')}]`);
      if (o.min === 0 && n < 0) return invalidFor(attribute, `'${shown(value)}' should be non-negative`);
      if (o.min !== undefined && n < o.min) return invalidFor(attribute, `'${shown(value)}' is too small - must be at least '${o.min}'`);
      return invalidFor(attribute, `'${shown(value)}' is too large - must be no larger than '${o.max ?? Number.MAX_SAFE_INTEGER}'`);
    },
  };
}

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID_SCHEMA: JsonSchema = { type: 'string', pattern: UUID_PATTERN };

/** type:uuid (uuid_or_none when nullable). */
export const uuid = (o: { nullable?: boolean } = {}): Kind => validator(orNull(UUID_SCHEMA, o.nullable), (value) => `'${shown(value)}' is not a valid UUID`);

/** type:uuid_list (with convert_none_to_empty_list when nullable). */
export const uuidList = (o: { nullable?: boolean } = {}): Kind =>
  validator(orNull({ type: 'array', items: UUID_SCHEMA }, o.nullable), (value) => {
    if (!Array.isArray(value)) return `'${shown(value)}' is not a list`;
    return `'${shown(value.find((v) => typeof v !== 'string' || !new RegExp(UUID_PATTERN).test(v)))}' is not a valid UUID`;
  });

/** type:values. */
export const values = (allowed: readonly string[]): Kind =>
  validator({ enum: [...allowed] }, (value) => `${shown(value)} is not in [${allowed.map((v) => `'${v}'`).join(', ')}]`);

/** type:mac_address, in the colon form Kumo stores (any case; converted to lower case). */
export const macAddress = (): Kind => validator({ type: 'string', pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' }, (value) => `'${shown(value)}' is not a valid MAC address`);

/** type:dict_or_none. */
export const dictionary = (o: { nullable?: boolean } = {}): Kind => validator({ type: o.nullable ? ['object', 'null'] : 'object' }, (value) => `'${shown(value)}' is not a dictionary`);

/** A list of strings (type:list_of_unique_strings, type:subnet_list, availability zone hints), each at most `max` long. */
export const stringList = (max: number, o: { nullable?: boolean; minItems?: number } = {}): Kind =>
  validator(orNull({ type: 'array', items: { type: 'string', maxLength: max }, ...(o.minItems ? { minItems: o.minItems } : {}) }, o.nullable), (value) => {
    if (!Array.isArray(value)) return `'${shown(value)}' is not a list`;
    if (value.length < (o.minItems ?? 0)) return 'List should not be empty';
    return stringReason(value.find((v) => typeof v !== 'string' || v.length > max), max);
  });

/** One key of a dictionary kind: its schema, and whether the dictionary must have it. */
export interface Key {
  schema: JsonSchema;
  required?: boolean;
}

/**
 * A dictionary of these keys and no others (type:dict), or a list of them (type:fixed_ips,
 * type:ip_pools, type:hostroutes, ...). `word` names an entry in Neutron's "Invalid data
 * format for <word>" message. `minKeys` refuses an empty dictionary.
 */
export function records(word: string, keys: Record<string, Key>, o: { list?: boolean; nullable?: boolean; minKeys?: number; emptyIsNone?: boolean } = {}): Kind {
  const required = Object.entries(keys).filter(([, k]) => k.required).map(([name]) => name);
  const entry: JsonSchema = {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(keys).map(([name, k]) => [name, k.schema])),
    ...(o.minKeys ? { minProperties: o.minKeys } : {}),
    // An empty dictionary clears (external_gateway_info's dict_or_nodata): only a given one needs its keys.
    ...(required.length > 0 ? (o.emptyIsNone ? { anyOf: [{ type: 'object', maxProperties: 0 }, { type: 'object', required }] } : { required }) : {}),
  };
  const whole = o.list ? { type: 'array', items: entry } : entry;
  const entryFits = (value: unknown): boolean =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length >= (o.minKeys ?? 0) &&
    required.every((k) => k in value) &&
    Object.entries(value as Record<string, unknown>).every(([k, v]) => matches(keys[k]?.schema, v));
  const explainEntry = (value: unknown): string => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return `Invalid data format for ${word}: '${shown(value)}'`;
    const given = Object.keys(value);
    const optional = Object.keys(keys).filter((k) => !required.includes(k));
    if (given.some((k) => !(k in keys)) || required.some((k) => !given.includes(k)) || given.length < (o.minKeys ?? 0)) {
      const set = (names: string[]) => `{${names.map((n) => `'${n.slice(0, 40)}'`).join(', ')}}`;
      return `Validation of dictionary's keys failed. Expected keys: ${set(required)} Optional keys: ${set(optional)} Provided keys: ${set(given)}`;
    }
    const [name, bad] = Object.entries(value as Record<string, unknown>).find(([k, v]) => !matches(keys[k]?.schema, v)) ?? ['', undefined];
    return `'${shown(bad)}' is not a valid value for ${name}`;
  };
  return validator(orNull(whole, o.nullable), (value) => {
    if (!o.list) return explainEntry(value);
    if (!Array.isArray(value)) return `Invalid data format for ${word}: '${shown(value)}'`;
    return explainEntry(value.find((v) => !entryFits(v)));
  });
}

/** Whether `value` fits the small schemas `records` keys use (a type, a pattern, a length, a list of those). */
function matches(schema: JsonSchema | undefined, value: unknown): boolean {
  if (!schema) return false;
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).some((s) => matches(s, value));
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[]).includes(value);
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const typeOf = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (!types.includes(typeOf) && !(typeOf === 'integer' && types.includes('number'))) return false;
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return false;
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) return false;
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) return false;
  }
  if (Array.isArray(value) && schema.items) return value.every((v) => matches(schema.items as JsonSchema, v));
  return true;
}

/** A kind of its own: Neutron's converter for one attribute (a rule's protocol and ports), with its own error. */
export const converted = (schema: JsonSchema, refuse: (value: unknown) => Refusal): Kind => ({ schema, refuse: (_attribute, value) => refuse(value) });
