import { ApiError, badRequest, conflict, notFound } from '../../../core/http/errors.js';
import type { Enforcer } from '../../../core/policy/index.js';
import type { Caller } from '../context.js';
import { glanceTime } from '../images.js';
import type { MetadefAssociationRow, MetadefItemRow, MetadefNamespaceRow } from '../tables.js';
import type { ItemKind, MetadefRecords, NamespaceBundle } from './store.js';
import {
  checkName,
  checkObjectBody,
  checkPropertyDefinition,
  checkPropertyMap,
  optionalBoolean,
  optionalString,
  refuseReadOnly,
  refuseUnknown,
  requiredString,
  requireObject,
  type Json,
} from './validate.js';

/**
 * Glance's metadata definitions: catalogues of the properties an image, flavor, volume or
 * server may carry, which Horizon's "Update Metadata" dialogs offer. Everyone reads public
 * namespaces and their own project's private ones; only admins write (Glance's defaults).
 */
export interface MetadefContext {
  metadefs: MetadefRecords;
  enforcer: Enforcer;
}

const NAMESPACE_KEYS = ['namespace', 'display_name', 'description', 'visibility', 'protected', 'owner', 'resource_type_associations', 'properties', 'objects', 'tags'];
const SORT_KEYS = ['created_at', 'updated_at', 'namespace', 'display_name'];
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;

function authorize(ctx: MetadefContext, caller: Caller, action: string, target: Json = {}): void {
  if (!ctx.enforcer.enforce(action, { project_id: caller.projectId, ...target }, caller.credentials)) {
    throw new ApiError(403, `You are not authorized to complete ${action} action.`);
  }
}

function visible(caller: Caller, row: MetadefNamespaceRow): boolean {
  return caller.isAdmin || row.visibility === 'public' || (caller.projectId !== null && row.owner === caller.projectId);
}

/** A namespace the caller may see, else 404 (an invisible one does not exist for them). */
export async function visibleNamespace(ctx: MetadefContext, caller: Caller, name: string): Promise<MetadefNamespaceRow> {
  const row = await ctx.metadefs.getNamespace(name);
  if (!row || !visible(caller, row)) throw notFound(`Metadata definition namespace=${name} was not found.`);
  return row;
}

/** The namespace a write goes to: visible, and the rule for this action passes. */
async function writableNamespace(ctx: MetadefContext, caller: Caller, name: string, action: string): Promise<MetadefNamespaceRow> {
  const row = await visibleNamespace(ctx, caller, name);
  authorize(ctx, caller, action, { owner: row.owner, namespace: row.namespace });
  return row;
}

async function duplicateIsConflict<T>(ctx: MetadefContext, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (ctx.metadefs.isDuplicate(error)) throw conflict(`${what} already exists.`);
    throw error;
  }
}

// ---------------------------------------------------------------- rendering

const namespaceHref = (ns: string) => `/v2/metadefs/namespaces/${ns}`;

function renderAssociation(row: MetadefAssociationRow): Json {
  return {
    name: row.resource_type,
    ...(row.prefix !== null ? { prefix: row.prefix } : {}),
    ...(row.properties_target !== null ? { properties_target: row.properties_target } : {}),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function renderNamespaceRow(row: MetadefNamespaceRow, associations: MetadefAssociationRow[]): Json {
  const out: Json = {
    namespace: row.namespace,
    ...(row.display_name !== null ? { display_name: row.display_name } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    visibility: row.visibility,
    protected: row.protected === 1,
    owner: row.owner,
    created_at: row.created_at,
    updated_at: row.updated_at,
    schema: '/v2/schemas/metadefs/namespace',
    self: namespaceHref(row.namespace),
  };
  if (associations.length > 0) out.resource_type_associations = associations.map(renderAssociation);
  return out;
}

function renderObject(namespace: string, row: MetadefItemRow, prefix = ''): Json {
  const body = JSON.parse(row.body) as Json;
  const properties = (body.properties ?? {}) as Record<string, Json>;
  return {
    name: row.name,
    ...(body.description !== undefined ? { description: body.description } : {}),
    ...(Array.isArray(body.required) && body.required.length > 0 ? { required: (body.required as string[]).map((r) => prefix + r) } : {}),
    properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [prefix + k, v])),
    created_at: row.created_at,
    updated_at: row.updated_at,
    schema: '/v2/schemas/metadefs/object',
    self: `${namespaceHref(namespace)}/objects/${row.name}`,
  };
}

function renderProperty(row: MetadefItemRow): Json {
  return { name: row.name, ...(JSON.parse(row.body) as Json) };
}

function renderTag(row: MetadefItemRow): Json {
  return { name: row.name, created_at: row.created_at, updated_at: row.updated_at };
}

// ---------------------------------------------------------------- namespaces

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n)) throw badRequest('limit param must be an integer');
  return Math.min(n, MAX_LIMIT);
}

/** GET /v2/metadefs/namespaces: visibility, resource_types, sorting and marker paging as Glance has them. */
export async function listNamespaces(ctx: MetadefContext, caller: Caller, query: Record<string, string | undefined>): Promise<{ namespaces: Json[]; next?: string }> {
  authorize(ctx, caller, 'get_metadef_namespaces');
  const visibility = query.visibility;
  if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') {
    throw badRequest(`Invalid visibility value: ${visibility.slice(0, 32)}`);
  }
  const sortKey = query.sort_key ?? 'created_at';
  if (!SORT_KEYS.includes(sortKey)) throw badRequest(`Invalid sort key: ${sortKey.slice(0, 32)}`);
  const sortDir = query.sort_dir ?? 'desc';
  if (sortDir !== 'asc' && sortDir !== 'desc') throw badRequest(`Invalid sort direction: ${sortDir.slice(0, 16)}`);
  const limit = parseLimit(query.limit);

  let rows = (await ctx.metadefs.listNamespaces()).filter((r) => visible(caller, r) && (visibility === undefined || r.visibility === visibility));
  const associations = await ctx.metadefs.associations();
  const byNamespace = new Map<string, MetadefAssociationRow[]>();
  for (const a of associations) byNamespace.set(a.namespace, [...(byNamespace.get(a.namespace) ?? []), a]);
  if (query.resource_types !== undefined) {
    const wanted = new Set(query.resource_types.split(',').map((s) => s.trim()).filter(Boolean));
    rows = rows.filter((r) => (byNamespace.get(r.namespace) ?? []).some((a) => wanted.has(a.resource_type)));
  }
  const key = sortKey as keyof MetadefNamespaceRow;
  rows.sort((a, b) => {
    const x = String(a[key] ?? '');
    const y = String(b[key] ?? '');
    const order = x < y ? -1 : x > y ? 1 : a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
    return sortDir === 'asc' ? order : -order;
  });
  if (query.marker !== undefined) {
    const index = rows.findIndex((r) => r.namespace === query.marker);
    if (index < 0) throw notFound(`Metadata definition namespace=${query.marker.slice(0, 80)} was not found.`);
    rows = rows.slice(index + 1);
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    namespaces: page.map((r) => renderNamespaceRow(r, byNamespace.get(r.namespace) ?? [])),
    ...(last && page.length === limit && rows.length > limit ? { next: last.namespace } : {}),
  };
}

/** GET /v2/metadefs/namespaces/{ns}: everything in it; with resource_type, names carry that type's prefix. */
export async function showNamespace(ctx: MetadefContext, caller: Caller, name: string, resourceType?: string): Promise<Json> {
  const row = await visibleNamespace(ctx, caller, name);
  authorize(ctx, caller, 'get_metadef_namespace', { owner: row.owner });
  const associations = await ctx.metadefs.associations([name]);
  const out = renderNamespaceRow(row, associations);
  const prefix = (resourceType !== undefined ? associations.find((a) => a.resource_type === resourceType)?.prefix : undefined) ?? '';
  const properties = await ctx.metadefs.items(name, 'property');
  if (properties.length > 0) out.properties = Object.fromEntries(properties.map((p) => [prefix + p.name, JSON.parse(p.body) as Json]));
  const objects = await ctx.metadefs.items(name, 'object');
  if (objects.length > 0) out.objects = objects.map((o) => renderObject(name, o, prefix));
  const tags = await ctx.metadefs.items(name, 'tag');
  if (tags.length > 0) out.tags = tags.map((t) => ({ name: t.name }));
  return out;
}

function namespaceFields(body: Json): Pick<MetadefNamespaceRow, 'namespace' | 'display_name' | 'description'> & { visibility?: string; protected?: boolean; owner?: string } {
  refuseReadOnly(body);
  refuseUnknown(body, NAMESPACE_KEYS);
  const namespace = requiredString(body, 'namespace', 80);
  checkName(namespace, 'namespace');
  const visibility = optionalString(body, 'visibility', 32);
  if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') {
    throw badRequest(`visibility: '${visibility.slice(0, 32)}' is not one of ['public', 'private']`);
  }
  const isProtected = optionalBoolean(body, 'protected');
  const owner = optionalString(body, 'owner', 255);
  return {
    namespace,
    display_name: optionalString(body, 'display_name', 80) ?? null,
    description: optionalString(body, 'description', 500) ?? null,
    ...(visibility !== undefined ? { visibility } : {}),
    ...(isProtected !== undefined ? { protected: isProtected } : {}),
    ...(owner !== undefined ? { owner } : {}),
  };
}

/** The whole of a namespace document (a create request, or a definition file) as rows. */
export function namespaceBundle(body: Json, owner: string, now: string): NamespaceBundle {
  const fields = namespaceFields(body);
  const namespace: MetadefNamespaceRow = {
    namespace: fields.namespace,
    display_name: fields.display_name,
    description: fields.description,
    visibility: fields.visibility ?? 'private',
    protected: fields.protected ? 1 : 0,
    owner: fields.owner ?? owner,
    created_at: now,
    updated_at: now,
  };
  const associations: NamespaceBundle['associations'] = [];
  if (body.resource_type_associations !== undefined) {
    if (!Array.isArray(body.resource_type_associations)) throw badRequest('resource_type_associations: expected an array');
    for (const raw of body.resource_type_associations) associations.push(associationFields(requireObject(raw, 'resource type association'), now));
  }
  const items: NamespaceBundle['items'] = [];
  for (const [name, definition] of Object.entries(checkPropertyMap(body.properties, 'properties'))) {
    items.push({ kind: 'property', name, body: JSON.stringify(definition), created_at: now, updated_at: now });
  }
  if (body.objects !== undefined) {
    if (!Array.isArray(body.objects)) throw badRequest('objects: expected an array');
    for (const raw of body.objects) {
      const object = checkObjectBody(requireObject(raw, 'object'));
      items.push({ kind: 'object', name: object.name, body: JSON.stringify(object.body), created_at: now, updated_at: now });
    }
  }
  if (body.tags !== undefined) {
    if (!Array.isArray(body.tags)) throw badRequest('tags: expected an array');
    for (const raw of body.tags) items.push({ kind: 'tag', name: tagName(requireObject(raw, 'tag')), body: '{}', created_at: now, updated_at: now });
  }
  const seen = new Set<string>();
  for (const item of items) {
    const key = `${item.kind}:${item.name}`;
    if (seen.has(key)) throw conflict(`Duplicate ${item.kind} ${item.name} in namespace ${namespace.namespace}.`);
    seen.add(key);
  }
  return { namespace, associations, items };
}

export async function createNamespace(ctx: MetadefContext, caller: Caller, rawBody: unknown): Promise<Json> {
  const body = requireObject(rawBody, 'namespace');
  authorize(ctx, caller, 'add_metadef_namespace', { owner: caller.projectId });
  const bundle = namespaceBundle(body, caller.projectId ?? '', glanceTime());
  await duplicateIsConflict(ctx, `Metadata definition namespace=${bundle.namespace.namespace}`, () => ctx.metadefs.createBundle(bundle));
  return showNamespace(ctx, caller, bundle.namespace.namespace);
}

/** PUT /v2/metadefs/namespaces/{ns}: Glance replaces the namespace's own fields (not its contents). */
export async function updateNamespace(ctx: MetadefContext, caller: Caller, name: string, rawBody: unknown): Promise<Json> {
  const row = await writableNamespace(ctx, caller, name, 'modify_metadef_namespace');
  const fields = namespaceFields(requireObject(rawBody, 'namespace'));
  const updated: MetadefNamespaceRow = {
    ...row,
    namespace: fields.namespace,
    display_name: fields.display_name,
    description: fields.description,
    visibility: fields.visibility ?? 'private',
    protected: fields.protected ? 1 : 0,
    owner: fields.owner ?? caller.projectId ?? row.owner,
    updated_at: glanceTime(),
  };
  await duplicateIsConflict(ctx, `Metadata definition namespace=${updated.namespace}`, () => ctx.metadefs.updateNamespace(name, updated));
  return renderNamespaceRow(updated, await ctx.metadefs.associations([updated.namespace]));
}

export async function deleteNamespace(ctx: MetadefContext, caller: Caller, name: string): Promise<void> {
  const row = await writableNamespace(ctx, caller, name, 'delete_metadef_namespace');
  if (row.protected === 1) throw new ApiError(403, `Namespace ${name} is protected and cannot be deleted.`);
  await ctx.metadefs.deleteNamespace(name);
}

const KIND_WORDS: Record<ItemKind, string> = { object: 'object', property: 'property', tag: 'tag' };
const DELETE_ALL_ACTION: Record<ItemKind, string> = { object: 'delete_metadef_namespace', property: 'delete_metadef_namespace', tag: 'delete_metadef_tags' };

/** DELETE /v2/metadefs/namespaces/{ns}/objects (properties, tags): all of that kind, unless protected. */
export async function deleteAllItems(ctx: MetadefContext, caller: Caller, name: string, kind: ItemKind): Promise<void> {
  const row = await writableNamespace(ctx, caller, name, DELETE_ALL_ACTION[kind]);
  if (row.protected === 1) throw new ApiError(403, `Namespace ${name} is protected and cannot be deleted.`);
  await ctx.metadefs.deleteItems(name, kind);
}

// ---------------------------------------------------------------- objects, properties, tags

async function existingItem(ctx: MetadefContext, namespace: string, kind: ItemKind, name: string): Promise<MetadefItemRow> {
  const row = await ctx.metadefs.item(namespace, kind, name);
  if (!row) throw notFound(`Metadata definition ${KIND_WORDS[kind]} not found for namespace=${namespace} and ${KIND_WORDS[kind]}=${name}.`);
  return row;
}

async function deleteItem(ctx: MetadefContext, caller: Caller, namespace: string, kind: ItemKind, name: string, action: string): Promise<void> {
  const row = await writableNamespace(ctx, caller, namespace, action);
  await existingItem(ctx, namespace, kind, name);
  if (row.protected === 1) throw new ApiError(403, `Metadata definition ${KIND_WORDS[kind]} ${name} is protected and cannot be deleted.`);
  await ctx.metadefs.deleteItem(namespace, kind, name);
}

export async function listObjects(ctx: MetadefContext, caller: Caller, namespace: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_objects');
  const rows = await ctx.metadefs.items(namespace, 'object');
  return { objects: rows.map((r) => renderObject(namespace, r)), schema: '/v2/schemas/metadefs/objects' };
}

export async function showObject(ctx: MetadefContext, caller: Caller, namespace: string, name: string, resourceType?: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_object');
  const prefix = resourceType !== undefined ? ((await ctx.metadefs.associations([namespace])).find((a) => a.resource_type === resourceType)?.prefix ?? '') : '';
  return renderObject(namespace, await existingItem(ctx, namespace, 'object', name), prefix);
}

export async function createObject(ctx: MetadefContext, caller: Caller, namespace: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'add_metadef_object');
  const body = requireObject(rawBody, 'object');
  refuseReadOnly(body);
  refuseUnknown(body, ['name', 'description', 'required', 'properties']);
  const object = checkObjectBody(body);
  const now = glanceTime();
  const row: MetadefItemRow = { namespace, kind: 'object', name: object.name, body: JSON.stringify(object.body), created_at: now, updated_at: now };
  await duplicateIsConflict(ctx, `Metadata definition object with name=${object.name} in namespace=${namespace}`, () => ctx.metadefs.addItem(row));
  return renderObject(namespace, row);
}

export async function updateObject(ctx: MetadefContext, caller: Caller, namespace: string, name: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'modify_metadef_object');
  const existing = await existingItem(ctx, namespace, 'object', name);
  const body = requireObject(rawBody, 'object');
  refuseReadOnly(body);
  refuseUnknown(body, ['name', 'description', 'required', 'properties']);
  const object = checkObjectBody(body);
  const row: MetadefItemRow = { ...existing, name: object.name, body: JSON.stringify(object.body), updated_at: glanceTime() };
  await duplicateIsConflict(ctx, `Metadata definition object with name=${object.name} in namespace=${namespace}`, () => ctx.metadefs.replaceItem('object', name, row));
  return renderObject(namespace, row);
}

export const deleteObject = (ctx: MetadefContext, caller: Caller, namespace: string, name: string) =>
  deleteItem(ctx, caller, namespace, 'object', name, 'delete_metadef_object');

export async function listProperties(ctx: MetadefContext, caller: Caller, namespace: string, resourceType?: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_properties');
  const prefix = resourceType !== undefined ? ((await ctx.metadefs.associations([namespace])).find((a) => a.resource_type === resourceType)?.prefix ?? '') : '';
  const rows = await ctx.metadefs.items(namespace, 'property');
  return { properties: Object.fromEntries(rows.map((r) => [prefix + r.name, JSON.parse(r.body) as Json])) };
}

/** GET .../properties/{name}: a name given with the resource type's prefix is found without it, as in Glance. */
export async function showProperty(ctx: MetadefContext, caller: Caller, namespace: string, name: string, resourceType?: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_property');
  let bare = name;
  if (resourceType !== undefined) {
    const prefix = (await ctx.metadefs.associations([namespace])).find((a) => a.resource_type === resourceType)?.prefix;
    if (!prefix || !name.startsWith(prefix)) throw notFound(`Metadata definition property not found for namespace=${namespace} and property=${name}.`);
    bare = name.slice(prefix.length);
  }
  return renderProperty(await existingItem(ctx, namespace, 'property', bare));
}

function propertyFromBody(rawBody: unknown): { name: string; definition: Json } {
  const body = requireObject(rawBody, 'property');
  refuseReadOnly(body);
  const name = requiredString(body, 'name', 255);
  checkName(name, 'property name');
  return { name, definition: checkPropertyDefinition(body, 'property') };
}

export async function createProperty(ctx: MetadefContext, caller: Caller, namespace: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'add_metadef_property');
  const { name, definition } = propertyFromBody(rawBody);
  const now = glanceTime();
  const row: MetadefItemRow = { namespace, kind: 'property', name, body: JSON.stringify(definition), created_at: now, updated_at: now };
  await duplicateIsConflict(ctx, `Metadata definition property with name=${name} in namespace=${namespace}`, () => ctx.metadefs.addItem(row));
  return renderProperty(row);
}

export async function updateProperty(ctx: MetadefContext, caller: Caller, namespace: string, name: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'modify_metadef_property');
  const existing = await existingItem(ctx, namespace, 'property', name);
  const property = propertyFromBody(rawBody);
  const row: MetadefItemRow = { ...existing, name: property.name, body: JSON.stringify(property.definition), updated_at: glanceTime() };
  await duplicateIsConflict(ctx, `Metadata definition property with name=${property.name} in namespace=${namespace}`, () => ctx.metadefs.replaceItem('property', name, row));
  return renderProperty(row);
}

export const deleteProperty = (ctx: MetadefContext, caller: Caller, namespace: string, name: string) =>
  deleteItem(ctx, caller, namespace, 'property', name, 'remove_metadef_property');

function tagName(body: Json): string {
  const name = requiredString(body, 'name', 255);
  checkName(name, 'tag name');
  return name;
}

export async function listTags(ctx: MetadefContext, caller: Caller, namespace: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_tags');
  return { tags: (await ctx.metadefs.items(namespace, 'tag')).map(renderTag) };
}

export async function showTag(ctx: MetadefContext, caller: Caller, namespace: string, name: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_tag');
  return renderTag(await existingItem(ctx, namespace, 'tag', name));
}

export async function createTag(ctx: MetadefContext, caller: Caller, namespace: string, name: string): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'add_metadef_tag');
  checkName(name, 'tag name');
  const now = glanceTime();
  const row: MetadefItemRow = { namespace, kind: 'tag', name, body: '{}', created_at: now, updated_at: now };
  await duplicateIsConflict(ctx, `Metadata definition tag with name=${name} in namespace=${namespace}`, () => ctx.metadefs.addItem(row));
  return renderTag(row);
}

/** POST .../tags {"tags": [...]}: replaces the namespace's tags, or adds to them with X-Openstack-Append: true. */
export async function createTags(ctx: MetadefContext, caller: Caller, namespace: string, rawBody: unknown, append: boolean): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'add_metadef_tags');
  const body = requireObject(rawBody, 'tags');
  if (!Array.isArray(body.tags)) throw badRequest("'tags' is a required property");
  const now = glanceTime();
  const names = body.tags.map((t) => tagName(requireObject(t, 'tag')));
  if (new Set(names).size !== names.length) throw conflict(`A tag is given twice for namespace=${namespace}.`);
  const rows: MetadefItemRow[] = names.map((name) => ({ namespace, kind: 'tag', name, body: '{}', created_at: now, updated_at: now }));
  await duplicateIsConflict(ctx, `A metadata definition tag in namespace=${namespace}`, () => ctx.metadefs.replaceTags(namespace, rows, append));
  return { tags: rows.map((r) => ({ name: r.name })) };
}

export async function updateTag(ctx: MetadefContext, caller: Caller, namespace: string, name: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'modify_metadef_tag');
  const existing = await existingItem(ctx, namespace, 'tag', name);
  const body = requireObject(rawBody, 'tag');
  refuseReadOnly(body);
  const row: MetadefItemRow = { ...existing, name: tagName(body), updated_at: glanceTime() };
  await duplicateIsConflict(ctx, `Metadata definition tag with name=${row.name} in namespace=${namespace}`, () => ctx.metadefs.replaceItem('tag', name, row));
  return renderTag(row);
}

export const deleteTag = (ctx: MetadefContext, caller: Caller, namespace: string, name: string) =>
  deleteItem(ctx, caller, namespace, 'tag', name, 'delete_metadef_tag');

// ---------------------------------------------------------------- resource types

function associationFields(body: Json, now: string): Omit<MetadefAssociationRow, 'namespace'> {
  refuseReadOnly(body);
  refuseUnknown(body, ['name', 'prefix', 'properties_target']);
  const name = requiredString(body, 'name', 80);
  checkName(name, 'resource type name');
  return {
    resource_type: name,
    prefix: optionalString(body, 'prefix', 80) ?? null,
    properties_target: optionalString(body, 'properties_target', 80) ?? null,
    created_at: now,
    updated_at: now,
  };
}

export async function listResourceTypes(ctx: MetadefContext, caller: Caller): Promise<Json> {
  authorize(ctx, caller, 'list_metadef_resource_types');
  const rows = await ctx.metadefs.resourceTypes();
  return { resource_types: rows.map((r) => ({ name: r.name, created_at: r.created_at, updated_at: r.updated_at })) };
}

export async function listAssociations(ctx: MetadefContext, caller: Caller, namespace: string): Promise<Json> {
  await visibleNamespace(ctx, caller, namespace);
  authorize(ctx, caller, 'get_metadef_resource_type');
  return { resource_type_associations: (await ctx.metadefs.associations([namespace])).map(renderAssociation) };
}

export async function createAssociation(ctx: MetadefContext, caller: Caller, namespace: string, rawBody: unknown): Promise<Json> {
  await writableNamespace(ctx, caller, namespace, 'add_metadef_resource_type_association');
  const fields = associationFields(requireObject(rawBody, 'resource type association'), glanceTime());
  const row: MetadefAssociationRow = { ...fields, namespace };
  await duplicateIsConflict(ctx, `Resource type association of ${fields.resource_type} with namespace=${namespace}`, () => ctx.metadefs.addAssociation(row));
  return renderAssociation(row);
}

export async function deleteAssociation(ctx: MetadefContext, caller: Caller, namespace: string, resourceType: string): Promise<void> {
  const row = await writableNamespace(ctx, caller, namespace, 'remove_metadef_resource_type_association');
  const exists = (await ctx.metadefs.associations([namespace])).some((a) => a.resource_type === resourceType);
  if (!exists) throw notFound(`Metadata definition resource-type-association not found for namespace=${namespace} and resource_type=${resourceType}.`);
  if (row.protected === 1) throw new ApiError(403, `Metadata definition resource-type-association ${resourceType} is protected and cannot be deleted.`);
  await ctx.metadefs.deleteAssociation(namespace, resourceType);
}
