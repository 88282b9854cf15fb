import type { Json } from '../../../core/http/body.js';

/**
 * /v2/schemas/metadefs/*: the JSON Schemas Glance publishes for its metadata definitions.
 * python-glanceclient builds its models from them (warlock) and validates every namespace,
 * object, property and tag it reads against them, so members and closure match Glance's.
 */

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];

const definitions = (): Json => ({
  positiveInteger: { type: 'integer', minimum: 0 },
  positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
  stringArray: { type: 'array', items: { type: 'string' }, uniqueItems: true },
  property: {
    type: 'object',
    additionalProperties: { type: 'object', required: ['title', 'type'], properties: propertyMembers() },
  },
});

/** The keywords a property definition may use (Glance's PropertyType). */
function propertyMembers(): Json {
  return {
    name: { type: 'string', maxLength: 255 },
    title: { type: 'string' },
    description: { type: 'string' },
    operators: { type: 'array', items: { type: 'string' } },
    type: { type: 'string', enum: TYPES },
    required: { $ref: '#/definitions/stringArray' },
    minimum: { type: 'number' },
    maximum: { type: 'number' },
    maxLength: { $ref: '#/definitions/positiveInteger' },
    minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
    pattern: { type: 'string', format: 'regex' },
    enum: { type: 'array' },
    readonly: { type: 'boolean' },
    default: {},
    items: {
      type: 'object',
      properties: { type: { type: 'string', enum: TYPES }, enum: { type: 'array' } },
    },
    maxItems: { $ref: '#/definitions/positiveInteger' },
    minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
    uniqueItems: { type: 'boolean', default: false },
    additionalItems: { type: 'boolean' },
  };
}

const time = (what: string): Json => ({ type: 'string', readOnly: true, description: `Date and time of ${what} (READ-ONLY)`, format: 'date-time' });

function collection(name: string, member: string, items: Json): Json {
  return {
    name,
    properties: {
      [member]: items,
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function namespaceSchema(): Json {
  return {
    name: 'namespace',
    properties: {
      namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
      display_name: { type: 'string', description: 'The user friendly name for the namespace. Used by UI if available.', maxLength: 80 },
      description: { type: 'string', description: 'Provides a user friendly description of the namespace.', maxLength: 500 },
      visibility: { type: 'string', description: 'Scope of namespace accessibility.', enum: ['public', 'private'] },
      protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
      owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
      created_at: time('namespace creation'),
      updated_at: time('the last namespace modification'),
      schema: { readOnly: true, type: 'string' },
      self: { readOnly: true, type: 'string' },
      resource_type_associations: {
        type: 'array',
        items: { type: 'object', properties: { name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } },
      },
      properties: { $ref: '#/definitions/property' },
      objects: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            description: { type: 'string' },
            required: { $ref: '#/definitions/stringArray' },
            properties: { $ref: '#/definitions/property' },
          },
        },
      },
      tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
    },
    additionalProperties: false,
    definitions: definitions(),
    required: ['namespace'],
  };
}

export function objectSchema(): Json {
  return {
    name: 'object',
    properties: {
      name: { type: 'string', maxLength: 80 },
      description: { type: 'string' },
      required: { $ref: '#/definitions/stringArray' },
      properties: { $ref: '#/definitions/property' },
      schema: { readOnly: true, type: 'string' },
      self: { readOnly: true, type: 'string' },
      created_at: time('object creation'),
      updated_at: time('the last object modification'),
    },
    additionalProperties: false,
    definitions: definitions(),
    required: ['name'],
  };
}

export function propertySchema(): Json {
  const { property: _property, ...rest } = definitions() as Record<string, Json>;
  return { name: 'property', properties: propertyMembers(), additionalProperties: false, definitions: rest, required: ['name', 'title', 'type'] };
}

export function tagSchema(): Json {
  return {
    name: 'tag',
    properties: {
      name: { type: 'string', maxLength: 255 },
      created_at: time('tag creation'),
      updated_at: time('the last tag modification'),
    },
    additionalProperties: false,
    required: ['name'],
  };
}

export function resourceTypeSchema(): Json {
  return {
    name: 'resource_type_association',
    properties: {
      name: { type: 'string', description: 'Resource type names should be aligned with Heat resource types whenever possible.', maxLength: 80 },
      prefix: { type: 'string', description: 'Specifies the prefix to use for the given resource type.', maxLength: 80 },
      properties_target: { type: 'string', description: 'Some resource types allow more than one key / value pair per instance.', maxLength: 80 },
      created_at: time('resource type association'),
      updated_at: time('the last resource type association modification'),
    },
    additionalProperties: false,
    required: ['name'],
  };
}

/** Every document under /v2/schemas/metadefs/, by its last path segment. */
export function metadefSchemas(): Record<string, () => Json> {
  return {
    namespace: namespaceSchema,
    namespaces: () => collection('namespaces', 'namespaces', { type: 'array', items: namespaceSchema() }),
    object: objectSchema,
    objects: () => collection('objects', 'objects', { type: 'array', items: objectSchema() }),
    property: propertySchema,
    properties: () => {
      const { name: _name, ...members } = propertyMembers() as Record<string, Json>;
      return {
        ...collection('properties', 'properties', { type: 'object', additionalProperties: { type: 'object', required: ['title', 'type'], properties: members } }),
        definitions: (({ property: _p, ...rest }) => rest)(definitions() as Record<string, Json>),
      };
    },
    tag: tagSchema,
    tags: () => collection('tags', 'tags', { type: 'array', items: tagSchema() }),
    resource_type: resourceTypeSchema,
    resource_types: () => collection('resource_type_associations', 'resource_type_associations', { type: 'array', items: resourceTypeSchema() }),
  };
}
