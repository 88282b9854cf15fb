import { badRequest } from '../context.js';

/**
 * Nova's 400 for a request its JSON schema refuses (nova/api/validation/validators.py):
 * `Invalid input for field/attribute <last path key>. Value: <str(value)>. <jsonschema message>`,
 * `Invalid input for query parameters <name>. ...` for a query string, and the bare
 * jsonschema message when the failure is at the top of the body. The messages are Python
 * jsonschema's (4.x) words; values are printed as Python prints them.
 */

/** One failure as Ajv reports it (what Fastify passes on in `error.validation`). */
export interface AjvFailure {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}

export type SchemaPart = 'body' | 'querystring';

/** Python's repr of a JSON value. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return pyStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${pyStringRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  return String(value);
}

/** Python's str(): a string as itself, anything else as its repr. */
export function pyStr(value: unknown): string {
  return typeof value === 'string' ? value : pyRepr(value);
}

function pyStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of text) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${quote}${out}${quote}`;
}

/** The JSON pointer's keys, unescaped. */
function pointerKeys(pointer: string): string[] {
  return pointer === '' ? [] : pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function valueAt(root: unknown, keys: readonly string[]): unknown {
  let at: unknown = root;
  for (const key of keys) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The schema object a failure's schemaPath points into (its keyword's parent). */
function schemaAt(root: unknown, schemaPath: string): Record<string, unknown> | undefined {
  const keys = pointerKeys(schemaPath.replace(/^#/, ''));
  const parent = valueAt(root, keys.slice(0, -1));
  return typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>) : undefined;
}

/** Names the Nova `name` patterns carry: a mismatch is Nova's InvalidName, not a pattern message. */
const NAME_REASONS = new Map<string, string>();
export function nameReason(pattern: string, reason: string): string {
  NAME_REASONS.set(pattern, reason);
  return pattern;
}

/** Patterns standing for a Nova `format` Ajv lacks: a mismatch reads `... is not a 'uuid'`. */
const FORMATS = new Map<string, string>();
export function formatPattern(pattern: string, format: string): string {
  FORMATS.set(pattern, format);
  return pattern;
}

/** jsonschema's own message for one failure of `value`. */
function jsonschemaMessage(failure: AjvFailure, value: unknown, schema: Record<string, unknown> | undefined): string {
  const p = failure.params;
  const v = pyRepr(value);
  switch (failure.keyword) {
    case 'type': {
      const declared = schema?.type ?? p.type;
      const types = Array.isArray(declared) ? declared : String(declared).split(',');
      return `${v} is not of type ${types.map((t) => pyRepr(String(t))).join(', ')}`;
    }
    case 'required':
      return `${pyRepr(String(p.missingProperty))} is a required property`;
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const patterns = schema?.patternProperties;
      if (typeof patterns === 'object' && patterns !== null) {
        return `${pyRepr(extra)} does not match any of the regexes: ${Object.keys(patterns).sort().map(pyRepr).join(', ')}`;
      }
      return `Additional properties are not allowed (${pyRepr(extra)} was unexpected)`;
    }
    case 'enum':
      return `${v} is not one of ${pyRepr(p.allowedValues)}`;
    case 'const':
      return `${pyRepr(p.allowedValue)} was expected`;
    case 'pattern': {
      const format = FORMATS.get(String(p.pattern));
      if (format !== undefined) return `${v} is not a ${pyRepr(format)}`;
      return `${v} does not match ${pyRepr(String(p.pattern))}`;
    }
    case 'format':
      return `${v} is not a ${pyRepr(String(p.format))}`;
    case 'minimum':
      return `${v} is less than the minimum of ${String(p.limit)}`;
    case 'maximum':
      return `${v} is greater than the maximum of ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `${v} is less than or equal to the minimum of ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `${v} is greater than or equal to the maximum of ${String(p.limit)}`;
    case 'minLength':
    case 'minItems':
      return `${v} ${p.limit === 1 ? 'should be non-empty' : 'is too short'}`;
    case 'maxLength':
    case 'maxItems':
      return `${v} ${p.limit === 0 ? 'is expected to be empty' : 'is too long'}`;
    case 'minProperties':
      return `${v} ${p.limit === 1 ? 'should be non-empty' : 'does not have enough properties'}`;
    case 'maxProperties':
      return `${v} ${p.limit === 0 ? 'is expected to be empty' : 'has too many properties'}`;
    case 'uniqueItems':
      return `${v} has non-unique elements`;
    case 'oneOf':
    case 'anyOf':
      return p.passingSchemas ? `${v} is valid under each of the given schemas` : `${v} is not valid under any of the given schemas`;
    case 'not':
      return `${v} should not be valid under ${pyRepr(schema?.not)}`;
    default:
      return `${v} is not valid: ${failure.message ?? failure.keyword}`;
  }
}

/**
 * Nova's message for Ajv's failures. With `allErrors` off Ajv stops at the first failing
 * keyword; a oneOf/anyOf lists its branches' failures before its own, which comes last and is
 * the one jsonschema reports too.
 */
export function novaMessage(failures: readonly AjvFailure[], part: SchemaPart, data: unknown, rootSchema: unknown): string {
  const failure = failures[failures.length - 1];
  if (!failure) return 'Invalid input.';
  const keys = pointerKeys(failure.instancePath);
  const value = valueAt(data, keys);
  const schema = schemaAt(rootSchema, failure.schemaPath);
  if (failure.keyword === 'pattern' && typeof value === 'string') {
    const reason = NAME_REASONS.get(String(failure.params.pattern));
    if (reason !== undefined) return `An invalid 'name' value was provided. The name must be: ${reason}`;
  }
  const message = jsonschemaMessage(failure, value, schema);
  if (keys.length === 0) return message;
  if (part === 'querystring') return `Invalid input for query parameters ${keys[0]}. Value: ${pyStr(value)}. ${message}`;
  return `Invalid input for field/attribute ${keys[keys.length - 1]}. Value: ${pyStr(value)}. ${message}`;
}

/** A 400 worded as Nova words a schema failure of `value` at `path` (for checks Ajv cannot make). */
export function invalidInput(path: readonly string[], value: unknown, reason: string, part: SchemaPart = 'body'): Error {
  if (path.length === 0) return badRequest(reason);
  if (part === 'querystring') return badRequest(`Invalid input for query parameters ${path[0]}. Value: ${pyStr(value)}. ${reason}`);
  return badRequest(`Invalid input for field/attribute ${path[path.length - 1]}. Value: ${pyStr(value)}. ${reason}`);
}
