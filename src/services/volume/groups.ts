import { randomUUID } from 'node:crypto';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import type { GroupTypes } from './group-types.js';
import { checkQuota } from './quotas.js';
import type { GroupRow, GroupSnapshotRow, VolumeRow, VolumeTables } from './tables.js';
import { findType } from './types.js';
import type { Volumes } from './volumes.js';

/** Cinder's GroupStatus values, which reset_status accepts. */
export const GROUP_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'in-use', 'error_deleting'];
/** Cinder's GroupSnapshotStatus values. */
export const GROUP_SNAPSHOT_STATUSES = ['error', 'available', 'creating', 'deleting', 'deleted', 'updating', 'error_deleting'];
const ADDABLE = ['available', 'in-use'];
const REMOVABLE = ['available', 'in-use', 'error', 'error_deleting'];
/** Statuses from which a group's volumes may be deleted with it (the volume API's own). */
const VOLUME_DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];

/** Cinder's comma-separated volume id lists (add_volumes, remove_volumes), without blanks and repeats. */
function idList(value: string | null | undefined): string[] {
  if (!value) return [];
  return [...new Set(value.split(',').map((id) => id.trim()).filter((id) => id.length > 0))];
}

/**
 * Cinder's generic volume groups (3.13) and group snapshots (3.14). A group is Kumo's own
 * record (no backend keeps group state, as with Cinder's generic-group fallback for drivers
 * without group support): its volumes carry its id, and a group snapshot snapshots each of
 * them through the ordinary snapshot path, so each backend really snapshots its volume.
 */
export class Groups {
  constructor(
    private readonly ctx: VolumeContext,
    private readonly volumes: Volumes,
    private readonly types: GroupTypes,
  ) {}

  // ---------------------------------------------------------------------------- groups

  async find(caller: Caller, id: string, action = 'group:get'): Promise<GroupRow> {
    const row = await this.ctx.db.selectFrom('volume_group').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `Group ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async list(caller: Caller, allTenants: boolean, projectId?: string): Promise<GroupRow[]> {
    authorize(this.ctx, caller, 'group:get_all', { project_id: caller.projectId });
    let q = this.ctx.db.selectFrom('volume_group').selectAll();
    if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
    else if (projectId) q = q.where('project_id', '=', projectId);
    return q.execute();
  }

  async volumesOf(groupId: string): Promise<VolumeRow[]> {
    return this.ctx.db.selectFrom('volume_volume').selectAll().where('group_id', '=', groupId).orderBy('created_at').orderBy('id').execute();
  }

  async create(
    caller: Caller,
    body: { name?: string | null; description?: string | null; group_type: string; volume_types: string[]; availability_zone?: string | null },
    origin: { group_snapshot_id?: string; source_group_id?: string; status?: string } = {},
  ): Promise<GroupRow> {
    authorize(this.ctx, caller, 'group:create', { project_id: caller.projectId });
    const groupType = await this.types.find(caller, body.group_type);
    if (body.volume_types.length === 0) throw new ApiError(400, 'Invalid input received: volume_types must name at least one volume type.');
    const volumeTypeIds: string[] = [];
    for (const wanted of body.volume_types) {
      const type = await findType(this.ctx, caller, wanted);
      if (!volumeTypeIds.includes(type.id)) volumeTypeIds.push(type.id);
    }
    const az = body.availability_zone ?? 'nova';
    if (!(await this.volumes.zones()).includes(az)) throw new ApiError(400, `Invalid input received: Availability zone '${az}' is invalid.`);
    const now = nowIso();
    const row: GroupRow = {
      id: randomUUID(),
      project_id: caller.projectId,
      user_id: caller.userId,
      name: body.name?.trim() ?? null,
      description: body.description?.trim() ?? null,
      // Nothing on a backend to make: the group is ready once recorded.
      status: origin.status ?? 'available',
      availability_zone: az,
      group_type_id: groupType.id,
      volume_type_ids: JSON.stringify(volumeTypeIds),
      group_snapshot_id: origin.group_snapshot_id ?? null,
      source_group_id: origin.source_group_id ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<VolumeTables>();
      await checkQuota(db, caller.projectId, { groups: 1 });
      await db.insertInto('volume_group').values(row).execute();
    });
    return row;
  }

  /**
   * create-from-src: a new group of the source's types whose volumes are made from each
   * snapshot of a group snapshot, or cloned from each volume of a group, on their sources'
   * backends. The group is `creating` until every volume has been asked for.
   */
  async createFromSource(caller: Caller, body: { name?: string | null; description?: string | null; group_snapshot_id?: string | null; source_group_id?: string | null }): Promise<GroupRow> {
    const { group_snapshot_id: snapshotId, source_group_id: sourceId } = body;
    if (snapshotId && sourceId) throw new ApiError(400, 'Invalid group: Cannot create group from both group_snapshot_id and source_group_id.');
    if (!snapshotId && !sourceId) throw new ApiError(400, 'Invalid group: Either group_snapshot_id or source_group_id must be provided to create a group from a source.');
    let template: GroupRow;
    let members: Array<{ size: number; volumeTypeId: string; snapshotId?: string; sourceVolumeId?: string; name: string | null }>;
    if (snapshotId) {
      const groupSnapshot = await this.findSnapshot(caller, snapshotId);
      if (groupSnapshot.status !== 'available') throw new ApiError(400, `Invalid group: Group snapshot ${groupSnapshot.id} status must be available, but current status is: ${groupSnapshot.status}.`);
      const snapshots = await this.ctx.db.selectFrom('volume_snapshot').selectAll().where('group_snapshot_id', '=', groupSnapshot.id).orderBy('created_at').orderBy('id').execute();
      if (snapshots.length === 0) throw new ApiError(400, 'Invalid group: Group snapshot is empty. No group will be created.');
      const source = await this.ctx.db.selectFrom('volume_group').selectAll().where('id', '=', groupSnapshot.group_id).executeTakeFirst();
      if (!source) throw new ApiError(400, `Invalid group: the group of group snapshot ${groupSnapshot.id} no longer exists.`);
      template = source;
      members = [];
      for (const snap of snapshots) {
        const volume = await this.volumes.rowOf(snap.volume_id);
        if (!volume) throw new ApiError(400, `Invalid group: the volume of snapshot ${snap.id} no longer exists.`);
        members.push({ size: snap.size, volumeTypeId: volume.volume_type_id, snapshotId: snap.id, name: volume.name });
      }
    } else {
      template = await this.find(caller, sourceId as string);
      if (template.status !== 'available') throw new ApiError(400, `Invalid group: Source group ${template.id} status must be available, but current status is: ${template.status}.`);
      const volumes = await this.volumesOf(template.id);
      if (volumes.length === 0) throw new ApiError(400, 'Invalid group: Source Group is empty. No group will be created.');
      members = volumes.map((v) => ({ size: v.size, volumeTypeId: v.volume_type_id, sourceVolumeId: v.id, name: v.name }));
    }
    const group = await this.create(
      caller,
      { name: body.name ?? null, description: body.description ?? null, group_type: template.group_type_id, volume_types: JSON.parse(template.volume_type_ids) as string[], availability_zone: template.availability_zone },
      { ...(snapshotId ? { group_snapshot_id: snapshotId } : { source_group_id: sourceId as string }), status: 'creating' },
    );
    try {
      for (const member of members) {
        // Joined directly: the new group is still `creating`, which the volume API's group_id refuses.
        const volume = await this.volumes.create(caller, {
          size: member.size,
          name: member.name,
          volume_type: member.volumeTypeId,
          availability_zone: group.availability_zone,
          ...(member.snapshotId ? { snapshot_id: member.snapshotId } : { source_volid: member.sourceVolumeId as string }),
        });
        await this.ctx.db.updateTable('volume_volume').set({ group_id: group.id }).where('id', '=', volume.id).execute();
      }
    } catch (error) {
      await this.setStatus(group.id, 'error');
      throw error;
    }
    await this.setStatus(group.id, 'available');
    return { ...group, status: 'available' };
  }

  private async setStatus(id: string, status: string): Promise<void> {
    await this.ctx.db.updateTable('volume_group').set({ status, updated_at: nowIso() }).where('id', '=', id).execute();
  }

  async update(caller: Caller, id: string, body: { name?: string | null; description?: string | null; add_volumes?: string | null; remove_volumes?: string | null }): Promise<void> {
    const group = await this.find(caller, id, 'group:update');
    const add = idList(body.add_volumes);
    const remove = idList(body.remove_volumes);
    const both = add.filter((v) => remove.includes(v));
    if (both.length > 0) throw new ApiError(400, `Invalid volume: UUIDs ${both.join(',')} are in both add and remove volume list.`);
    const members = await this.volumesOf(group.id);
    const memberIds = new Set(members.map((v) => v.id));
    const volumeTypes = JSON.parse(group.volume_type_ids) as string[];
    const toAdd: string[] = [];
    for (const volumeId of add) {
      if (memberIds.has(volumeId)) continue;
      const volume = await this.volumes.rowOf(volumeId);
      // Another project's volume is not found, as Cinder's project-scoped lookup answers.
      if (!volume || (!caller.isAdmin && volume.project_id !== caller.projectId)) {
        throw new ApiError(400, `Invalid volume: Cannot add volume ${volumeId} to group ${group.id} because volume cannot be found.`);
      }
      if (volume.group_id) throw new ApiError(400, `Invalid volume: Cannot add volume ${volume.id} to group ${group.id} because it is already in group ${volume.group_id}.`);
      if (volume.project_id !== group.project_id) throw new ApiError(400, `Invalid volume: Cannot add volume ${volume.id} to group ${group.id} as they belong to different projects.`);
      if (!volumeTypes.includes(volume.volume_type_id)) {
        throw new ApiError(400, `Invalid volume: Cannot add volume ${volume.id} to group ${group.id} because volume type ${volume.volume_type_id} is not supported by the group.`);
      }
      if (!ADDABLE.includes(volume.status)) {
        throw new ApiError(400, `Invalid volume: Cannot add volume ${volume.id} to group ${group.id} because volume is in an invalid state: ${volume.status}. Valid states are: ${ADDABLE.join(', ')}.`);
      }
      toAdd.push(volume.id);
    }
    const toRemove: string[] = [];
    for (const volumeId of remove) {
      const volume = members.find((v) => v.id === volumeId);
      if (!volume) throw new ApiError(400, `Invalid volume: Cannot remove volume ${volumeId} from group ${group.id} because it is not in the group.`);
      if (!REMOVABLE.includes(volume.status)) {
        throw new ApiError(400, `Invalid volume: Cannot remove volume ${volume.id} from group ${group.id} because volume is in an invalid state: ${volume.status}. Valid states are: ${REMOVABLE.join(', ')}.`);
      }
      toRemove.push(volume.id);
    }
    const name = body.name === undefined || body.name === null ? undefined : body.name.trim();
    const description = body.description === undefined || body.description === null ? undefined : body.description.trim();
    if (name === undefined && description === undefined && toAdd.length === 0 && toRemove.length === 0) {
      throw new ApiError(400, `Invalid group: Cannot update group ${group.id} because no valid name, description, add_volumes, or remove_volumes were provided.`);
    }
    const changesMembers = toAdd.length > 0 || toRemove.length > 0;
    if (changesMembers && group.status !== 'available') throw new ApiError(400, 'Invalid group: Group status must be available.');
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<VolumeTables>();
      const fields: Partial<GroupRow> = { updated_at: nowIso(), ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) };
      let q = db.updateTable('volume_group').set(fields).where('id', '=', group.id);
      if (changesMembers) q = q.where('status', '=', 'available');
      if (Number((await q.executeTakeFirst()).numUpdatedRows) !== 1) throw new ApiError(400, 'Invalid group: Group status must be available.');
      // Only volumes still outside any group join it (a concurrent add to another group wins).
      for (const volumeId of toAdd) {
        const done = await db.updateTable('volume_volume').set({ group_id: group.id }).where('id', '=', volumeId).where('group_id', 'is', null).executeTakeFirst();
        if (Number(done.numUpdatedRows) !== 1) throw new ApiError(400, `Invalid volume: Cannot add volume ${volumeId} to group ${group.id} because it is already in a group.`);
      }
      if (toRemove.length > 0) await db.updateTable('volume_volume').set({ group_id: null }).where('id', 'in', toRemove).where('group_id', '=', group.id).execute();
    });
  }

  async delete(caller: Caller, id: string, deleteVolumes: boolean): Promise<void> {
    const group = await this.find(caller, id, 'group:delete');
    if (!deleteVolumes && !['available', 'error'].includes(group.status)) throw new ApiError(400, `Invalid group: Group status must be available or error, but current status is: ${group.status}`);
    const snapshots = await this.ctx.db.selectFrom('volume_group_snapshot').select('id').where('group_id', '=', group.id).executeTakeFirst();
    if (snapshots) throw new ApiError(400, 'Invalid group: Group has existing snapshots.');
    const volumes = await this.volumesOf(group.id);
    if (volumes.length > 0 && !deleteVolumes) throw new ApiError(400, `Invalid group: Group ${group.id} still contains volumes. The delete-volumes flag is required to delete it.`);
    for (const volume of volumes) {
      const attached = await this.ctx.db.selectFrom('volume_attachment').select('id').where('volume_id', '=', volume.id).where('attach_status', '!=', 'detached').executeTakeFirst();
      if (attached || volume.status === 'in-use') throw new ApiError(400, `Invalid group: Volume in group ${group.id} is attached. Need to detach first.`);
      const dependent = await this.ctx.db.selectFrom('volume_snapshot').select('id').where('volume_id', '=', volume.id).executeTakeFirst();
      if (dependent) throw new ApiError(400, 'Invalid group: Volume in group still has dependent snapshots.');
      if (!VOLUME_DELETABLE.includes(volume.status)) throw new ApiError(400, `Invalid group: Volume ${volume.id} in group ${group.id} is ${volume.status}; it cannot be deleted now.`);
    }
    const from = deleteVolumes ? [group.status] : ['available', 'error'];
    const moved = await this.ctx.db.updateTable('volume_group').set({ status: 'deleting', updated_at: nowIso() }).where('id', '=', group.id).where('status', 'in', from).executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw new ApiError(400, `Invalid group: Cannot delete group ${group.id}: its status changed; try again.`);
    for (const volume of volumes) await this.volumes.delete(caller, volume.id, { withGroup: true });
    // The group goes once its last volume is gone (at once when it had none, or none on a backend).
    await settleGroup(this.ctx, group.id);
  }

  async resetStatus(caller: Caller, id: string, status: string): Promise<void> {
    const group = await this.find(caller, id);
    authorize(this.ctx, caller, 'group:reset_status', { project_id: group.project_id });
    const wanted = status.toLowerCase();
    if (!GROUP_STATUSES.includes(wanted)) throw new ApiError(400, `Invalid input received: Must specify a valid status, not ${status}.`);
    await this.setStatus(group.id, wanted);
  }

  // ---------------------------------------------------------------------------- group snapshots

  async findSnapshot(caller: Caller, id: string, action = 'group:get_group_snapshot'): Promise<GroupSnapshotRow> {
    const row = await this.ctx.db.selectFrom('volume_group_snapshot').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `GroupSnapshot ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async listSnapshots(caller: Caller, allTenants: boolean): Promise<GroupSnapshotRow[]> {
    authorize(this.ctx, caller, 'group:get_all_group_snapshots', { project_id: caller.projectId });
    let q = this.ctx.db.selectFrom('volume_group_snapshot').selectAll();
    if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
    return q.execute();
  }

  /** A snapshot of every volume of the group, each through the volume API's snapshot path. */
  async createSnapshot(caller: Caller, body: { group_id: string; name?: string | null; description?: string | null }): Promise<GroupSnapshotRow> {
    const group = await this.find(caller, body.group_id);
    authorize(this.ctx, caller, 'group:create_group_snapshot', { project_id: group.project_id });
    if (group.status !== 'available') throw new ApiError(400, `Invalid group: Group ${group.id} status must be available, but current status is: ${group.status}.`);
    const volumes = await this.volumesOf(group.id);
    for (const volume of volumes) {
      if (!['available', 'in-use'].includes(volume.status)) {
        throw new ApiError(400, `Invalid volume: Volume ${volume.id} in group ${group.id} status must be available or in-use, but current status is: ${volume.status}.`);
      }
    }
    await checkQuota(this.ctx.db, caller.projectId, { snapshots: volumes.length, gigabytes: volumes.reduce((sum, v) => sum + v.size, 0) });
    const now = nowIso();
    const row: GroupSnapshotRow = {
      id: randomUUID(),
      group_id: group.id,
      project_id: caller.projectId,
      user_id: caller.userId,
      name: body.name?.trim() ?? null,
      description: body.description?.trim() ?? null,
      status: 'creating',
      group_type_id: group.group_type_id,
      created_at: now,
      updated_at: now,
    };
    await this.ctx.db.insertInto('volume_group_snapshot').values(row).execute();
    try {
      for (const volume of volumes) {
        await this.volumes.createSnapshot(caller, { volume_id: volume.id, name: row.name, description: row.description, force: true }, row.id);
      }
    } catch (error) {
      await this.ctx.db.updateTable('volume_group_snapshot').set({ status: 'error', updated_at: nowIso() }).where('id', '=', row.id).execute();
      throw error;
    }
    await settleGroupSnapshot(this.ctx, row.id);
    return row;
  }

  async deleteSnapshot(caller: Caller, id: string): Promise<void> {
    const row = await this.findSnapshot(caller, id, 'group:delete_group_snapshot');
    const creating = await this.ctx.db.selectFrom('volume_group').select('id').where('group_snapshot_id', '=', row.id).where('status', '=', 'creating').executeTakeFirst();
    if (!['available', 'error'].includes(row.status) || creating) {
      throw new ApiError(400, 'Invalid group snapshot: GroupSnapshot status must be available or error, and no Group can be currently using it as source for its creation.');
    }
    const snapshots = await this.ctx.db.selectFrom('volume_snapshot').selectAll().where('group_snapshot_id', '=', row.id).execute();
    const busy = snapshots.find((s) => !['available', 'error'].includes(s.status));
    if (busy) throw new ApiError(400, `Invalid group snapshot: its snapshot ${busy.id} is ${busy.status}; it cannot be deleted now.`);
    const moved = await this.ctx.db.updateTable('volume_group_snapshot').set({ status: 'deleting', updated_at: nowIso() }).where('id', '=', row.id).where('status', 'in', ['available', 'error']).executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw new ApiError(400, `Invalid group snapshot: GroupSnapshot ${row.id} changed status; try again.`);
    for (const snap of snapshots) await this.volumes.deleteSnapshot(caller, snap.id, false, true);
    await settleGroupSnapshot(this.ctx, row.id);
  }

  async resetSnapshotStatus(caller: Caller, id: string, status: string): Promise<void> {
    const row = await this.findSnapshot(caller, id);
    authorize(this.ctx, caller, 'group:reset_group_snapshot_status', { project_id: row.project_id });
    const wanted = status.toLowerCase();
    if (!GROUP_SNAPSHOT_STATUSES.includes(wanted)) throw new ApiError(400, `Invalid input received: Must specify a valid status, not ${status}.`);
    await this.ctx.db.updateTable('volume_group_snapshot').set({ status: wanted, updated_at: nowIso() }).where('id', '=', row.id).execute();
  }
}

/**
 * A group snapshot follows its snapshots: `creating` becomes `error` when one failed and
 * `available` when all are; `deleting` ends (the row goes) when none is left, or becomes
 * `error_deleting` when a backend could not delete one. Called after each snapshot task.
 */
export async function settleGroupSnapshot(ctx: VolumeContext, id: string): Promise<void> {
  const row = await ctx.db.selectFrom('volume_group_snapshot').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return;
  const statuses = (await ctx.db.selectFrom('volume_snapshot').select('status').where('group_snapshot_id', '=', id).execute()).map((s) => s.status);
  let next: string | undefined;
  if (row.status === 'creating') {
    if (statuses.includes('error')) next = 'error';
    else if (statuses.every((s) => s === 'available')) next = 'available';
  } else if (row.status === 'deleting') {
    if (statuses.length === 0) {
      await ctx.db.deleteFrom('volume_group_snapshot').where('id', '=', id).where('status', '=', 'deleting').execute();
      return;
    }
    if (statuses.includes('error_deleting') && !statuses.includes('deleting')) next = 'error_deleting';
  }
  if (next) await ctx.db.updateTable('volume_group_snapshot').set({ status: next, updated_at: nowIso() }).where('id', '=', id).where('status', '=', row.status).execute();
}

/** A `deleting` group goes once its last volume is gone; one whose volume could not be deleted is `error_deleting`. */
export async function settleGroup(ctx: VolumeContext, id: string): Promise<void> {
  const row = await ctx.db.selectFrom('volume_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || row.status !== 'deleting') return;
  const statuses = (await ctx.db.selectFrom('volume_volume').select('status').where('group_id', '=', id).execute()).map((v) => v.status);
  if (statuses.length === 0) await ctx.db.deleteFrom('volume_group').where('id', '=', id).where('status', '=', 'deleting').execute();
  else if (statuses.includes('error_deleting') && !statuses.includes('deleting')) {
    await ctx.db.updateTable('volume_group').set({ status: 'error_deleting', updated_at: nowIso() }).where('id', '=', id).execute();
  }
}
