import { randomUUID } from 'node:crypto';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import type { VolumeTypeRow } from './tables.js';

/** Cinder's default type, made on first start (its `default_volume_type`). */
export const DEFAULT_TYPE_NAME = '__DEFAULT__';

export async function ensureDefaultType(ctx: VolumeContext): Promise<void> {
  const existing = await ctx.db.selectFrom('volume_type').select('id').where('name', '=', DEFAULT_TYPE_NAME).executeTakeFirst();
  if (existing) return;
  await ctx.db
    .insertInto('volume_type')
    .values({ id: randomUUID(), name: DEFAULT_TYPE_NAME, description: 'Default Volume Type', is_public: 1, extra_specs: '{}', created_at: nowIso(), qos_specs_id: null })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export const specsOf = (row: VolumeTypeRow): Record<string, string> => JSON.parse(row.extra_specs) as Record<string, string>;

/** Whether a type allows several attachments at once (`multiattach: "<is> True"`). */
export function isMultiattach(row: VolumeTypeRow): boolean {
  const value = specsOf(row).multiattach;
  return typeof value === 'string' && /^(<is>\s*)?true$/i.test(value.trim());
}

async function accessible(ctx: VolumeContext, caller: Caller, row: VolumeTypeRow): Promise<boolean> {
  if (row.is_public === 1 || caller.isAdmin) return true;
  const access = await ctx.db
    .selectFrom('volume_type_access')
    .select('project_id')
    .where('volume_type_id', '=', row.id)
    .where('project_id', '=', caller.projectId)
    .executeTakeFirst();
  return access !== undefined;
}

/** A type by id or name, as the caller may see it; 404 otherwise. */
export async function findType(ctx: VolumeContext, caller: Caller, idOrName: string): Promise<VolumeTypeRow> {
  const row =
    (await ctx.db.selectFrom('volume_type').selectAll().where('id', '=', idOrName).executeTakeFirst()) ??
    (await ctx.db.selectFrom('volume_type').selectAll().where('name', '=', idOrName).executeTakeFirst());
  if (!row || !(await accessible(ctx, caller, row))) throw new ApiError(404, `Volume type ${idOrName} could not be found.`);
  return row;
}

export async function typeById(ctx: VolumeContext, id: string): Promise<VolumeTypeRow | undefined> {
  return ctx.db.selectFrom('volume_type').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function defaultType(ctx: VolumeContext): Promise<VolumeTypeRow> {
  await ensureDefaultType(ctx);
  return ctx.db.selectFrom('volume_type').selectAll().where('name', '=', DEFAULT_TYPE_NAME).executeTakeFirstOrThrow();
}

export async function listTypes(ctx: VolumeContext, caller: Caller, isPublic?: string): Promise<VolumeTypeRow[]> {
  authorize(ctx, caller, 'volume_extension:type_get_all');
  const rows = await ctx.db.selectFrom('volume_type').selectAll().orderBy('name').execute();
  const out: VolumeTypeRow[] = [];
  for (const row of rows) {
    // Admins see private types only when asking (is_public=None or false), as Cinder answers.
    if (caller.isAdmin && isPublic !== undefined) {
      const want = isPublic.toLowerCase();
      if (want === 'none' || (want === 'false' && row.is_public === 0) || (want === 'true' && row.is_public === 1)) out.push(row);
      continue;
    }
    if (row.is_public === 1 || (await accessible(ctx, caller, row))) out.push(row);
  }
  return out;
}

function checkSpecs(specs: unknown): Record<string, string> {
  if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) throw new ApiError(400, 'Invalid input: extra_specs must be an object.');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(specs)) {
    if (key.length === 0 || key.length > 255) throw new ApiError(400, 'Invalid input: extra spec keys are 1 to 255 characters.');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new ApiError(400, `Invalid input: the value of extra spec ${key} must be a string.`);
    const text = String(value);
    if (text.length > 255) throw new ApiError(400, `Invalid input: the value of extra spec ${key} is longer than 255 characters.`);
    out[key] = text;
  }
  return out;
}

export async function createType(
  ctx: VolumeContext,
  caller: Caller,
  body: { name: string; description?: string | null; 'os-volume-type-access:is_public'?: boolean | string; extra_specs?: unknown },
): Promise<VolumeTypeRow> {
  authorize(ctx, caller, 'volume_extension:type_create');
  const name = body.name.trim();
  if (name.length === 0 || name.length > 255) throw new ApiError(400, 'Volume type name can not be empty.');
  const specs = body.extra_specs === undefined ? {} : checkSpecs(body.extra_specs);
  const pub = body['os-volume-type-access:is_public'];
  const row: VolumeTypeRow = {
    id: randomUUID(),
    name,
    description: body.description ?? null,
    is_public: pub === false || String(pub).toLowerCase() === 'false' ? 0 : 1,
    extra_specs: JSON.stringify(specs),
    created_at: nowIso(),
    qos_specs_id: null,
  };
  try {
    await ctx.db.insertInto('volume_type').values(row).execute();
  } catch (error) {
    if (ctx.database.isUniqueViolation(error)) throw new ApiError(409, `Volume Type ${name} already exists.`);
    throw error;
  }
  return row;
}

export async function updateType(ctx: VolumeContext, caller: Caller, id: string, body: { name?: string; description?: string | null; is_public?: boolean }): Promise<VolumeTypeRow> {
  authorize(ctx, caller, 'volume_extension:type_update');
  const row = await findType(ctx, caller, id);
  if (body.name === undefined && body.description === undefined && body.is_public === undefined) {
    throw new ApiError(400, 'Specify volume type name, description, is_public or a combination thereof.');
  }
  if (row.name === DEFAULT_TYPE_NAME && body.name !== undefined && body.name !== row.name) throw new ApiError(400, 'The default volume type cannot be renamed.');
  const next = {
    name: body.name?.trim() ?? row.name,
    description: body.description === undefined ? row.description : body.description,
    is_public: body.is_public === undefined ? row.is_public : body.is_public ? 1 : 0,
  };
  if (next.name.length === 0) throw new ApiError(400, 'Volume type name can not be empty.');
  try {
    await ctx.db.updateTable('volume_type').set(next).where('id', '=', row.id).execute();
  } catch (error) {
    if (ctx.database.isUniqueViolation(error)) throw new ApiError(409, `Volume Type ${next.name} already exists.`);
    throw error;
  }
  return { ...row, ...next };
}

export async function deleteType(ctx: VolumeContext, caller: Caller, id: string): Promise<void> {
  authorize(ctx, caller, 'volume_extension:type_delete');
  const row = await findType(ctx, caller, id);
  if (row.name === DEFAULT_TYPE_NAME) throw new ApiError(400, 'Default volume type can not be deleted.');
  const used = await ctx.db.selectFrom('volume_volume').select('id').where('volume_type_id', '=', row.id).executeTakeFirst();
  if (used) throw new ApiError(400, `Target volume type ${row.id} is still in use.`);
  await ctx.db.deleteFrom('volume_type_access').where('volume_type_id', '=', row.id).execute();
  await ctx.db.deleteFrom('volume_type').where('id', '=', row.id).execute();
}

export async function setSpecs(ctx: VolumeContext, caller: Caller, id: string, specs: unknown): Promise<Record<string, string>> {
  authorize(ctx, caller, 'volume_extension:types_extra_specs:create');
  const row = await findType(ctx, caller, id);
  const merged = { ...specsOf(row), ...checkSpecs(specs) };
  // A type in use may not change what placed its volumes (Cinder refuses some keys; we refuse the backend).
  await ctx.db.updateTable('volume_type').set({ extra_specs: JSON.stringify(merged) }).where('id', '=', row.id).execute();
  return merged;
}

export async function unsetSpec(ctx: VolumeContext, caller: Caller, id: string, key: string): Promise<void> {
  authorize(ctx, caller, 'volume_extension:types_extra_specs:delete');
  const row = await findType(ctx, caller, id);
  const specs = specsOf(row);
  if (!(key in specs)) throw new ApiError(404, `Volume Type ${row.id} has no extra specs with key ${key}.`);
  delete specs[key];
  await ctx.db.updateTable('volume_type').set({ extra_specs: JSON.stringify(specs) }).where('id', '=', row.id).execute();
}

export async function typeAccess(ctx: VolumeContext, caller: Caller, id: string): Promise<Array<{ volume_type_id: string; project_id: string }>> {
  authorize(ctx, caller, 'volume_extension:volume_type_access');
  const row = await findType(ctx, caller, id);
  if (row.is_public === 1) throw new ApiError(404, 'Access list not available for public volume types.');
  return ctx.db.selectFrom('volume_type_access').selectAll().where('volume_type_id', '=', row.id).orderBy('project_id').execute();
}

export async function changeAccess(ctx: VolumeContext, caller: Caller, id: string, projectId: string, add: boolean): Promise<void> {
  authorize(ctx, caller, add ? 'volume_extension:volume_type_access:addProjectAccess' : 'volume_extension:volume_type_access:removeProjectAccess');
  const row = await findType(ctx, caller, id);
  if (row.is_public === 1) throw new ApiError(400, 'Invalid volume type: Type access modification is not applicable to public volume type.');
  if (add) {
    try {
      await ctx.db.insertInto('volume_type_access').values({ volume_type_id: row.id, project_id: projectId }).execute();
    } catch (error) {
      if (ctx.database.isUniqueViolation(error)) throw new ApiError(409, `Volume type access for ${row.id} / ${projectId} combination already exists.`);
      throw error;
    }
  } else {
    const result = await ctx.db.deleteFrom('volume_type_access').where('volume_type_id', '=', row.id).where('project_id', '=', projectId).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new ApiError(404, `Volume type access not found for ${row.id} / ${projectId} combination.`);
  }
}

export function renderType(row: VolumeTypeRow, showSpecs: boolean): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    is_public: row.is_public === 1,
    'os-volume-type-access:is_public': row.is_public === 1,
    extra_specs: showSpecs ? specsOf(row) : {},
    qos_specs_id: row.qos_specs_id,
  };
}
