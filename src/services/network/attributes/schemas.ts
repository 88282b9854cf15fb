import type { FastifyRequest } from 'fastify';
import type { JsonSchema, SchemaFailure } from '../../../core/http/route-schemas.js';
import { NeutronError } from '../context.js';
import { invalidFor, shown, text, type Kind } from './kinds.js';
import type { ResourceAttributes } from './resources.js';

/**
 * The body schemas the network routes declare to Fastify, derived from the attribute maps
 * (resources.ts), and Neutron's words for what they refuse. A route's `config.neutronSchema`
 * words its failures; the plugin's error handler (plugin.ts) asks it, so other services'
 * wording (core/http/errors.ts) is untouched.
 */

/** Words a schema failure of a route: Ajv's failures (the first is the one that stopped it), where (`body`, `params`), the request. */
export type SchemaFailureWording = (failures: SchemaFailure[], context: string, request: FastifyRequest) => NeutronError;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Neutron's words for this route's schema failures (network service). */
    neutronSchema?: SchemaFailureWording;
  }
}

export type Action = 'create' | 'update';

const badRequest = (message: string) => new NeutronError(400, 'HTTPBadRequest', message);
const refusal = (r: { type: string; message: string }) => new NeutronError(400, r.type, r.message);

/** `/network/name` as the keys it walks. */
const pathOf = (failure: SchemaFailure) =>
  failure.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));

function valueAt(root: unknown, path: string[]): unknown {
  let value = root;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** One resource's object in a request, as the action takes it. */
function memberSchema(r: ResourceAttributes, action: Action, required: readonly string[] = []): JsonSchema {
  const entries = Object.entries(r.attributes);
  const takes = ([, a]: (typeof entries)[number]) => (action === 'create' ? a.post !== false : a.put !== false);
  const needed = [...required, ...(action === 'create' ? entries.filter(([, a]) => a.post === 'required').map(([name]) => name) : [])];
  return {
    type: 'object',
    // Neutron's order: unknown attributes first (verify_attributes), then missing and refused ones, then values.
    allOf: [{ type: 'object', additionalProperties: false, properties: Object.fromEntries(entries.map(([name]) => [name, true])) }],
    ...(needed.length > 0 ? { required: needed } : {}),
    properties: Object.fromEntries([
      ...entries.filter((e) => !takes(e)).map(([name]) => [name, false]),
      ...entries.filter(takes).map(([name, a]) => [name, a.kind.schema]),
    ]),
  };
}

/** POST: `{"network": {...}}`, or a bulk create's `{"networks": [{...}, ...]}`. */
export function createBody(r: ResourceAttributes): JsonSchema {
  const member = memberSchema(r, 'create');
  return {
    type: 'object',
    anyOf: [
      { type: 'object', required: [r.member] },
      { type: 'object', required: [r.collection] },
    ],
    properties: { [r.member]: member, [r.collection]: { type: 'array', minItems: 1, items: member } },
  };
}

/** PUT: `{"network": {...}}`; `required` names attributes this body must have (extraroute-atomic's routes). */
export function updateBody(r: ResourceAttributes, required: readonly string[] = []): JsonSchema {
  return { type: 'object', required: [r.member], properties: { [r.member]: memberSchema(r, 'update', required) } };
}

/**
 * Neutron's answers for a resource body (prepare_request_body): "Resource body required",
 * "Unrecognized attribute(s)", "Failed to parse request. Required attribute", "not allowed in
 * POST", "Cannot update read-only attribute", then the attribute's kind's own words.
 */
export function resourceWording(r: ResourceAttributes, action: Action): SchemaFailureWording {
  return (failures, _context, request) => {
    const failure = failures[0];
    const bodyRequired = new NeutronError(400, 'BadRequest', `Bad ${r.member} request: Resource body required.`);
    if (!failure) return bodyRequired;
    const path = pathOf(failure);
    if (path.length === 0) return bodyRequired;
    let depth = 1;
    if (path[0] === r.collection) {
      if (path.length === 1) return failure.keyword === 'minItems' ? new NeutronError(400, 'BadRequest', 'Resources required') : bodyRequired;
      depth = 2;
    }
    if (path.length === depth) {
      if (failure.keyword === 'required') return badRequest(`Failed to parse request. Required attribute '${String(failure.params.missingProperty)}' not specified`);
      const member = valueAt(request.body, path);
      if (failure.keyword === 'additionalProperties' && typeof member === 'object' && member !== null) {
        const unknown = Object.keys(member).filter((k) => !(k in r.attributes));
        return badRequest(`Unrecognized attribute(s) '${unknown.map((k) => k.slice(0, 64)).join(', ')}'`);
      }
      return bodyRequired;
    }
    const attribute = path[depth] as string;
    const spec = r.attributes[attribute];
    if (!spec || failure.keyword === 'false schema') {
      return badRequest(action === 'create' ? `Attribute '${attribute}' not allowed in POST` : `Cannot update read-only attribute ${attribute}`);
    }
    return refusal(spec.kind.refuse(attribute, valueAt(request.body, path.slice(0, depth + 1))));
  };
}

/** A route with this body: its schema and its wording, as Fastify route options. */
export function resourceRoute(r: ResourceAttributes, action: Action, required: readonly string[] = []) {
  return {
    schema: { body: action === 'create' ? createBody(r) : updateBody(r, required) },
    config: { neutronSchema: resourceWording(r, action) },
  };
}

/** Neutron's router interface body (`{"subnet_id": ...}` or `{"port_id": ...}`), as l3_db's _validate_interface_info words it. */
export function routerInterfaceRoute(add: boolean) {
  const uuidSchema = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };
  const bad = (message: string) => new NeutronError(400, 'BadRequest', `Bad router request: ${message}.`);
  const wording: SchemaFailureWording = (failures, _context, request) => {
    const failure = failures[0];
    const key = failure ? pathOf(failure)[0] : undefined;
    if (key === 'subnet_id' || key === 'port_id') return bad(`'${shown(valueAt(request.body, [key]))}' is not a valid UUID`);
    if (failure?.keyword === 'not') return bad('Cannot specify both subnet-id and port-id');
    return bad('Either subnet_id or port_id must be specified');
  };
  return {
    schema: {
      body: {
        type: 'object',
        properties: { subnet_id: uuidSchema, port_id: uuidSchema },
        anyOf: [
          { type: 'object', required: ['subnet_id'] },
          { type: 'object', required: ['port_id'] },
        ],
        ...(add ? { not: { type: 'object', required: ['subnet_id', 'port_id'] } } : {}),
      },
    },
    config: { neutronSchema: wording },
  };
}

/** A tag (standard-attr-tag): 1-60 characters, no comma (filters list tags with commas). */
export const TAG: Kind = text(60, { min: 1, pattern: '^[^,]*$', reason: 'is not a valid tag' });

/** PUT /{collection}/{id}/tags: `{"tags": [...]}`, as Neutron's tagging validate_tags words it. */
export function tagsRoute() {
  const wording: SchemaFailureWording = (failures, _context, request) => {
    const failure = failures[0];
    if (!failure || pathOf(failure).length === 0) return badRequest('Invalid tags body');
    const tags = valueAt(request.body, ['tags']);
    if (!Array.isArray(tags)) return refusal(invalidFor('tags', `'${shown(tags)}' is not a list`));
    return refusal(TAG.refuse('tags', valueAt(request.body, pathOf(failure).slice(0, 2))));
  };
  return {
    schema: { body: { type: 'object', required: ['tags'], properties: { tags: { type: 'array', items: TAG.schema } } } },
    config: { neutronSchema: wording },
  };
}

/** PUT /{collection}/{id}/tags/{tag}: the tag in the path. */
export function tagParamRoute() {
  const wording: SchemaFailureWording = (_failures, _context, request) => refusal(TAG.refuse('tag', valueAt(request.params, ['tag'])));
  return { schema: { params: { type: 'object', properties: { tag: TAG.schema } } }, config: { neutronSchema: wording } };
}
