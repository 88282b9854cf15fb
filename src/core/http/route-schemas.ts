/**
 * Request schemas as routes declare them to Fastify (`{ schema: { body } }`): JSON Schema that
 * Fastify's Ajv checks before the handler runs, so a handler only ever sees a body of the
 * declared shape. A failure reaches the service's error handler as a 400 (toApiError words it,
 * naming the field), in that service's OpenStack error shape. The server compiles them without
 * type coercion, defaults or removal (see server.ts): `"true"` is not a boolean, as in OpenStack.
 */
export type JsonSchema = { readonly [key: string]: unknown };

type Bounds = { min?: number; max?: number };

const lengths = (o: Bounds): JsonSchema => ({
  ...(o.min !== undefined ? { minLength: o.min } : {}),
  ...(o.max !== undefined ? { maxLength: o.max } : {}),
});

export const string = (o: Bounds & { pattern?: string } = {}): JsonSchema => ({
  type: 'string',
  ...lengths(o),
  ...(o.pattern !== undefined ? { pattern: o.pattern } : {}),
});

/** A string, or JSON null (which clears the attribute). */
export const nullableString = (o: Bounds = {}): JsonSchema => ({ type: ['string', 'null'], ...lengths(o) });

export const boolean = (): JsonSchema => ({ type: 'boolean' });

export const integer = (o: { minimum?: number; maximum?: number } = {}): JsonSchema => ({ type: 'integer', ...o });

export const stringArray = (o: { maxItems?: number; max?: number } = {}): JsonSchema => ({
  type: 'array',
  items: string(o.max !== undefined ? { max: o.max } : {}),
  ...(o.maxItems !== undefined ? { maxItems: o.maxItems } : {}),
});

/**
 * An object of these members. Others are allowed unless `closed`: OpenStack keeps attributes it
 * does not know (Keystone's extras, Glance's properties).
 */
export const object = (properties: Record<string, JsonSchema>, o: { required?: readonly string[]; closed?: boolean } = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...(o.required && o.required.length > 0 ? { required: [...o.required] } : {}),
  ...(o.closed ? { additionalProperties: false } : {}),
});

/** OpenStack's usual body: one top-level member, e.g. `{"project": {...}}`, itself an object. */
export const envelope = (key: string, properties: Record<string, JsonSchema>, o: { required?: readonly string[] } = {}): JsonSchema =>
  object({ [key]: object(properties, o) }, { required: [key] });

/** One failure as Ajv reports it (the members Fastify passes on in `error.validation`). */
export interface SchemaFailure {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  string: 'a string',
  boolean: 'a boolean',
  integer: 'an integer',
  number: 'a number',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

/**
 * A schema failure in the words the services' hand-written checks used (core/http/body.ts):
 * `Invalid input for field 'project.name': expected a string.`
 */
export function describeSchemaFailure(failure: SchemaFailure, context = 'body'): string {
  const path = failure.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  const p = failure.params;
  if (failure.keyword === 'required' && typeof p.missingProperty === 'string') {
    return `Invalid input for field '${[...path, p.missingProperty].join('.')}': it is required.`;
  }
  const field = path.length > 0 ? path.join('.') : context;
  const reason = (() => {
    switch (failure.keyword) {
      case 'type': {
        const types = Array.isArray(p.type) ? p.type : String(p.type).split(',');
        return `expected ${types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ')}.`;
      }
      case 'maxLength':
        return `longer than ${String(p.limit)} characters.`;
      case 'minLength':
        return p.limit === 1 ? 'it must not be empty.' : `shorter than ${String(p.limit)} characters.`;
      case 'maxItems':
        return `more than ${String(p.limit)} items.`;
      case 'minItems':
        return `fewer than ${String(p.limit)} items.`;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        return 'out of range.';
      case 'pattern':
        return 'not in the expected format.';
      case 'enum':
        return `expected one of ${JSON.stringify(p.allowedValues)}.`;
      case 'const':
        return `expected ${JSON.stringify(p.allowedValue)}.`;
      case 'minProperties':
        return p.limit === 1 ? 'it must not be empty.' : `fewer than ${String(p.limit)} members.`;
      case 'maxProperties':
        return `more than ${String(p.limit)} members.`;
      case 'additionalProperties':
        return `unknown member '${String(p.additionalProperty)}'.`;
      default:
        return `${failure.message ?? 'invalid'}.`;
    }
  })();
  return `Invalid input for field '${field}': ${reason}`;
}
