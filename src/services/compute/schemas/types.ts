import { formatPattern, nameReason } from './messages.js';

/**
 * Nova's parameter types (nova/api/validation/parameter_types.py) as JSON Schema for
 * Fastify's Ajv. Nova's `format`s that Ajv does not know (name, base64, Nova's lenient uuid)
 * are patterns here; a `name` mismatch is still worded as Nova's InvalidName (messages.ts).
 */
export type Schema = Record<string, unknown>;

/** Printable characters (Unicode categories other than C and the non-space Z), no space at either end. */
export const NAME_PATTERN = nameReason(
  '^(?![\\p{C}\\p{Z}])[^\\p{C}\\p{Zl}\\p{Zp}]*(?<![\\p{C}\\p{Z}])$',
  'printable characters. Can not start or end with whitespace.',
);
const NAME_WITH_SPACES_PATTERN = nameReason(
  '^[^\\p{C}\\p{Zl}\\p{Zp}]*[^\\p{C}\\p{Z}][^\\p{C}\\p{Zl}\\p{Zp}]*$',
  'printable characters with at least one non space character',
);

export const name: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: NAME_PATTERN };
export const nameWithLeadingTrailingSpaces: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: NAME_WITH_SPACES_PATTERN };
export const description: Schema = { type: ['string', 'null'], minLength: 0, maxLength: 255, pattern: '^[^\\p{C}\\p{Zl}\\p{Zp}]*$' };

/** oslo's boolean strings, as Nova's `parameter_types.boolean` lists them. */
export const boolean: Schema = {
  type: ['boolean', 'string'],
  enum: [true, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', false, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'],
};

/** Integers may come as strings of digits; Nova checks their range as numbers (numeric-strings.ts). */
export const positiveInteger: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 1, minLength: 1 };
export const nonNegativeInteger: Schema = { type: ['integer', 'string'], pattern: '^[0-9]*$', minimum: 0, minLength: 1 };

/** oslo's is_uuid_like: 32 hex digits, hyphens anywhere Python's uuid.UUID drops them, any case. */
export const uuid: Schema = {
  type: 'string',
  pattern: formatPattern('^\\{?(urn:uuid:)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\\}?$', 'uuid'),
};
export const flavorRef: Schema = { type: ['string', 'integer'], minLength: 1 };
export const adminPassword: Schema = { type: 'string' };
export const diskConfig: Schema = { type: 'string', enum: ['AUTO', 'MANUAL'] };
export const accessIPv4: Schema = { type: 'string', format: 'ipv4' };
export const accessIPv6: Schema = { type: 'string', format: 'ipv6' };
export const ipAddress: Schema = { type: 'string', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] };
export const tag: Schema = { type: 'string', maxLength: 60, pattern: '^[^,/]*$' };
export const fqdn: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' };
/** What Python's base64.decodebytes takes: whole groups of four (spaces ignored), padded. */
export const base64: Schema = {
  type: 'string',
  maxLength: 65535,
  pattern: formatPattern('^\\s*(?:(?:[A-Za-z0-9+/]\\s*){4})*(?:(?:[A-Za-z0-9+/]\\s*){2}=\\s*=|(?:[A-Za-z0-9+/]\\s*){3}=)?\\s*$', 'base64'),
};

export const METADATA_KEY_PATTERN = '^[a-zA-Z0-9-_:. ]{1,255}$';
export const metadata: Schema = {
  type: 'object',
  patternProperties: { [METADATA_KEY_PATTERN]: { type: 'string', maxLength: 255 } },
  additionalProperties: false,
};
/** Nova's `metadata_with_null`: a value may be null (flavor extra specs, aggregate metadata). */
export const metadataWithNull: Schema = {
  type: 'object',
  patternProperties: { [METADATA_KEY_PATTERN]: { type: ['string', 'null'], maxLength: 255 } },
  additionalProperties: false,
};

/** `{ key: {...} }`: the usual request envelope, closed as Nova's schemas close it. */
export function envelope(key: string, inner: Schema): Schema {
  return { type: 'object', properties: { [key]: inner }, required: [key], additionalProperties: false };
}

export function closedObject(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  return { type: 'object', properties, ...(required.length > 0 ? { required: [...required] } : {}), additionalProperties: false };
}

/**
 * A query parameter: Nova validates each parameter as the list of its values
 * (`multi_params`); Fastify gives one value as a string and repeated ones as an array,
 * so both shapes are checked against the same item schema.
 */
export function queryParam(item: Schema = { type: 'string' }): Schema {
  const { type: _type, ...constraints } = item;
  // A repeated parameter (Horizon sends sort_key three times) arrives as an array, each value
  // checked alone as Nova's multi_params checks it; a single value must meet the same constraints.
  return { type: ['string', 'array'], items: item, if: { type: 'string' }, then: constraints };
}

/** Nova's query schemas mostly allow parameters they do not name (additionalProperties: true). */
export function query(properties: Record<string, Schema>, closed = false): Schema {
  return { type: 'object', properties, additionalProperties: !closed };
}
