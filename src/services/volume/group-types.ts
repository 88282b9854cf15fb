import { randomUUID } from 'node:crypto';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import type { GroupTypeRow } from './tables.js';

/**
 * Cinder's group types (3.11): admins define them, with group_specs; anyone lists the public
 * ones. Kumo keeps no per-project access list for private group types (Cinder's API has no
 * call to grant one either), so a private group type is seen and used by admins only.
 */
export const specsOfGroupType = (row: GroupTypeRow): Record<string, string> => JSON.parse(row.group_specs) as Record<string, string>;

/** Cinder's bool_from_string(strict=True): true/false/yes/no/on/off/1/0, anything else is a 400. */
export function strictBool(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  const text = String(value).toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(text)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(text)) return false;
  throw new ApiError(400, `Invalid input received: ${name} must be a boolean, not '${String(value)}'.`);
}

function checkGroupSpecs(specs: unknown): Record<string, string> {
  if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) throw new ApiError(400, 'Invalid input received: group_specs must be an object.');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(specs)) {
    if (key.length === 0 || key.length > 255) throw new ApiError(400, 'Invalid input received: group spec keys are 1 to 255 characters.');
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new ApiError(400, `Invalid input received: the value of group spec ${key} must be a string.`);
    const text = String(value);
    if (text.length > 255) throw new ApiError(400, `Invalid input received: the value of group spec ${key} is longer than 255 characters.`);
    out[key] = text;
  }
  return out;
}

export class GroupTypes {
  constructor(private readonly ctx: VolumeContext) {}

  /** A group type by id or name, as the caller may see it; 404 otherwise. */
  async find(caller: Caller, idOrName: string): Promise<GroupTypeRow> {
    const db = this.ctx.db;
    const row =
      (await db.selectFrom('volume_group_type').selectAll().where('id', '=', idOrName).executeTakeFirst()) ??
      (await db.selectFrom('volume_group_type').selectAll().where('name', '=', idOrName).executeTakeFirst());
    if (!row || (row.is_public === 0 && !caller.isAdmin)) throw new ApiError(404, `Group type with id ${idOrName} could not be found.`);
    return row;
  }

  /** Non-admins see public types; admins choose with is_public (default public only, `None` for all), as Cinder. */
  async list(caller: Caller, isPublic: string | undefined): Promise<GroupTypeRow[]> {
    const rows = await this.ctx.db.selectFrom('volume_group_type').selectAll().execute();
    let want: boolean | null = true;
    if (caller.isAdmin && isPublic !== undefined) want = isPublic.toLowerCase() === 'none' ? null : strictBool(isPublic, 'is_public');
    return rows.filter((r) => want === null || (r.is_public === 1) === want);
  }

  async create(caller: Caller, body: { name: string; description?: string | null; is_public?: unknown; group_specs?: unknown }): Promise<GroupTypeRow> {
    authorize(this.ctx, caller, 'group:group_types:create');
    const name = body.name.trim();
    if (name.length === 0) throw new ApiError(400, 'Invalid input received: Group type name can not be empty.');
    const row: GroupTypeRow = {
      id: randomUUID(),
      name,
      description: body.description ?? null,
      is_public: body.is_public === undefined || body.is_public === null ? 1 : strictBool(body.is_public, 'is_public') ? 1 : 0,
      group_specs: JSON.stringify(body.group_specs === undefined || body.group_specs === null ? {} : checkGroupSpecs(body.group_specs)),
      created_at: nowIso(),
    };
    try {
      await this.ctx.db.insertInto('volume_group_type').values(row).execute();
    } catch (error) {
      if (this.ctx.database.isUniqueViolation(error)) throw new ApiError(409, `Group Type ${name} already exists.`);
      throw error;
    }
    return row;
  }

  async update(caller: Caller, id: string, body: { name?: string | null; description?: string | null; is_public?: unknown }): Promise<GroupTypeRow> {
    authorize(this.ctx, caller, 'group:group_types:update');
    const isPublic = body.is_public === undefined || body.is_public === null ? undefined : strictBool(body.is_public, 'is_public');
    if (typeof body.name === 'string' && body.name.trim().length === 0) throw new ApiError(400, 'Group type name can not be empty.');
    if ((body.name === undefined || body.name === null) && body.description === undefined && isPublic === undefined) {
      throw new ApiError(400, 'Specify group type name, description or a combination thereof.');
    }
    const row = await this.find(caller, id);
    const next = {
      name: typeof body.name === 'string' ? body.name.trim() : row.name,
      description: body.description === undefined ? row.description : body.description,
      is_public: isPublic === undefined ? row.is_public : isPublic ? 1 : 0,
    };
    try {
      await this.ctx.db.updateTable('volume_group_type').set(next).where('id', '=', row.id).execute();
    } catch (error) {
      if (this.ctx.database.isUniqueViolation(error)) throw new ApiError(409, `Group Type ${next.name} already exists.`);
      throw error;
    }
    return { ...row, ...next };
  }

  async delete(caller: Caller, id: string): Promise<void> {
    authorize(this.ctx, caller, 'group:group_types:delete');
    const row = await this.find(caller, id);
    const used = await this.ctx.db.selectFrom('volume_group').select('id').where('group_type_id', '=', row.id).executeTakeFirst();
    if (used) throw new ApiError(400, 'Target group type is still in use.');
    await this.ctx.db.deleteFrom('volume_group_type').where('id', '=', row.id).execute();
  }

  async specs(caller: Caller, id: string, action: 'get' | 'get_all'): Promise<Record<string, string>> {
    authorize(this.ctx, caller, `group:group_types_specs:${action}`);
    return specsOfGroupType(await this.find(caller, id));
  }

  async setSpecs(caller: Caller, id: string, specs: unknown, action: 'create' | 'update'): Promise<Record<string, string>> {
    authorize(this.ctx, caller, `group:group_types_specs:${action}`);
    const row = await this.find(caller, id);
    const merged = { ...specsOfGroupType(row), ...checkGroupSpecs(specs) };
    await this.ctx.db.updateTable('volume_group_type').set({ group_specs: JSON.stringify(merged) }).where('id', '=', row.id).execute();
    return merged;
  }

  async unsetSpec(caller: Caller, id: string, key: string): Promise<void> {
    authorize(this.ctx, caller, 'group:group_types_specs:delete');
    const row = await this.find(caller, id);
    const specs = specsOfGroupType(row);
    if (!(key in specs)) throw new ApiError(404, `Group Type ${row.id} has no specs with key ${key}.`);
    delete specs[key];
    await this.ctx.db.updateTable('volume_group_type').set({ group_specs: JSON.stringify(specs) }).where('id', '=', row.id).execute();
  }

  /** group_specs only for those group:access_group_types_specs allows (admins), as Cinder's view. */
  render(caller: Caller, row: GroupTypeRow): Record<string, unknown> {
    const body: Record<string, unknown> = { id: row.id, name: row.name, description: row.description, is_public: row.is_public === 1 };
    if (this.ctx.enforcer.enforce('group:access_group_types_specs', { project_id: caller.projectId }, caller.credentials)) body.group_specs = specsOfGroupType(row);
    return body;
  }
}
