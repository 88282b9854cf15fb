import { randomUUID } from 'node:crypto';
import {
  VOLUME_AGENT_TOPIC,
  agentServerOf,
  VolumeAgentMethods,
  type CopyVolumeToImageArgs,
  type CreateVolumeArgs,
  type ExtendVolumeArgs,
  type SnapshotArgs,
  type VolumeIdArgs,
} from '../../contracts/volume.js';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import { MessageAction, MessageDetail, recordVolumeMessage } from './messages.js';
import { checkQuota } from './quotas.js';
import type { VolumeScheduler } from './scheduler.js';
import type { SnapshotRow, VolumeRow } from './tables.js';
import { defaultType, findType, isMultiattach, specsOf, typeById } from './types.js';

/** The largest volume Kumo accepts (Cinder has no fixed cap; qemu-img and the quota do). */
export const MAX_VOLUME_GB = 1024 * 1024;
export const DEFAULT_AZ = 'nova';

/** Statuses from which a volume may be deleted (Cinder's volume API `delete`). */
const DELETABLE = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
/** Statuses reset-status accepts (Cinder's VALID_STATUS for os-reset_status). */
export const RESETTABLE = ['creating', 'available', 'deleting', 'error', 'error_deleting', 'error_managing', 'managing', 'attaching', 'in-use', 'detaching', 'maintenance', 'reserved', 'extending', 'error_extending', 'downloading', 'uploading', 'retyping'];

export interface CreateVolumeRequest {
  size?: number | undefined;
  name?: string | null | undefined;
  description?: string | null | undefined;
  volume_type?: string | null | undefined;
  availability_zone?: string | null | undefined;
  snapshot_id?: string | null | undefined;
  source_volid?: string | null | undefined;
  imageRef?: string | null | undefined;
  metadata?: Record<string, string> | undefined;
  multiattach?: boolean | undefined;
}

export class Volumes {
  constructor(
    private readonly ctx: VolumeContext,
    readonly scheduler: VolumeScheduler,
  ) {}

  // ---------------------------------------------------------------------------- reading

  /** A volume as the caller may see it: 404 for another project's (unless admin). */
  async find(caller: Caller, id: string, action = 'volume:get'): Promise<VolumeRow> {
    const row = await this.ctx.db.selectFrom('volume_volume').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `Volume ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async list(caller: Caller, allTenants: boolean, projectId?: string): Promise<VolumeRow[]> {
    authorize(this.ctx, caller, 'volume:get_all', { project_id: projectId ?? caller.projectId });
    let q = this.ctx.db.selectFrom('volume_volume').selectAll();
    if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
    else if (projectId) q = q.where('project_id', '=', projectId);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  // ---------------------------------------------------------------------------- create

  async create(caller: Caller, req: CreateVolumeRequest): Promise<VolumeRow> {
    authorize(this.ctx, caller, 'volume:create', { project_id: caller.projectId });
    let snapshot: SnapshotRow | undefined;
    let source: VolumeRow | undefined;
    if (req.snapshot_id) snapshot = await this.findSnapshot(caller, req.snapshot_id);
    if (req.source_volid) source = await this.find(caller, req.source_volid);
    let size = req.size;
    if (size === undefined || size === null) {
      if (snapshot) size = snapshot.size;
      else if (source) size = source.size;
      else throw new ApiError(400, 'Invalid input received: size is required when no source is given.');
    }
    if (!Number.isInteger(size) || size <= 0) throw new ApiError(400, `Invalid input received: Volume size '${String(req.size)}' must be an integer and greater than 0.`);
    if (size > MAX_VOLUME_GB) throw new ApiError(400, `Invalid input received: Volume size ${size}G is larger than the largest Kumo accepts (${MAX_VOLUME_GB}G).`);
    if (snapshot) {
      if (snapshot.status !== 'available') throw new ApiError(400, `Invalid snapshot: Originating snapshot status must be 'available'.`);
      if (size < snapshot.size) throw new ApiError(400, `Invalid input received: Volume size '${size}'GB cannot be smaller than the snapshot size ${snapshot.size}GB. They must be >= original snapshot size.`);
    }
    if (source) {
      if (!['available', 'in-use'].includes(source.status)) throw new ApiError(400, `Invalid volume: Unable to clone volumes that are in ${source.status} state.`);
      if (size < source.size) throw new ApiError(400, `Invalid input received: Clones currently must be >= original volume size.`);
    }
    let image: Awaited<ReturnType<VolumeContext['images']['get']>> = null;
    if (req.imageRef) {
      image = await this.ctx.images.get(caller.token, req.imageRef);
      if (!image) throw new ApiError(400, `Invalid image identifier or unable to access requested image.`);
      if (image.status !== 'active') throw new ApiError(400, `Invalid image: image ${image.id} is not active (${image.status}).`);
      const needGb = Math.max(image.min_disk, Math.ceil((image.virtual_size ?? image.size ?? 0) / 2 ** 30));
      if (size < needGb) throw new ApiError(400, `Invalid input received: Size of specified image ${needGb}GB is larger than volume size ${size}GB.`);
      if (!image.disk_format || !['raw', 'qcow2', 'vmdk', 'vdi', 'vhd', 'vhdx'].includes(image.disk_format)) {
        throw new ApiError(400, `Invalid image: disk format ${image.disk_format} cannot be written to a volume.`);
      }
    }
    const type = req.volume_type
      ? await findType(this.ctx, caller, req.volume_type)
      : source
        ? ((await typeById(this.ctx, source.volume_type_id)) ?? (await defaultType(this.ctx)))
        : await defaultType(this.ctx);
    const multiattach = isMultiattach(type) || req.multiattach === true;
    if (req.multiattach === true && !isMultiattach(type)) {
      // Cinder removed the `multiattach` body flag in favour of the type (3.50); it refuses the flag alone.
      throw new ApiError(400, 'Invalid input received: multiattach must be set through a volume type with multiattach="<is> True".');
    }
    const az = req.availability_zone ?? source?.availability_zone ?? DEFAULT_AZ;
    if (!(await this.zones()).includes(az)) throw new ApiError(400, `Invalid input received: Availability zone '${az}' is invalid.`);
    // A copy of a bootable volume (or of its snapshot) is bootable too, as Cinder copies the flag.
    const origin = source ?? (snapshot ? await this.rowOf(snapshot.volume_id) : undefined);
    const now = nowIso();
    const row: VolumeRow = {
      id: randomUUID(),
      project_id: caller.projectId,
      user_id: caller.userId,
      name: req.name ?? null,
      description: req.description ?? null,
      size,
      status: 'creating',
      bootable: origin?.bootable ?? (image ? 1 : 0),
      readonly: 0,
      multiattach: multiattach ? 1 : 0,
      volume_type_id: type.id,
      availability_zone: az,
      host: null,
      snapshot_id: snapshot?.id ?? null,
      source_volid: source?.id ?? null,
      image_id: image?.id ?? null,
      metadata: JSON.stringify(req.metadata ?? {}),
      image_metadata: JSON.stringify(image ? { image_id: image.id, disk_format: image.disk_format ?? '', ...image.properties } : origin ? JSON.parse(origin.image_metadata) : {}),
      admin_metadata: '{}',
      error_reason: null,
      created_at: now,
      updated_at: now,
    };
    // Quota and the row in one transaction: two creates at once cannot both take the last slot.
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<import('./tables.js').VolumeTables>();
      await checkQuota(db, caller.projectId, { volumes: 1, gigabytes: size });
      await db.insertInto('volume_volume').values(row).execute();
    });
    // A volume from a snapshot or another volume lives on its source's backend (the copy is local).
    const pinned = snapshot ? (await this.rowOf(snapshot.volume_id))?.host : source?.host;
    let host: string | null;
    if (pinned) host = (await this.scheduler.claim(pinned, size)) ? pinned : null;
    else {
      const backendName = specsOf(type).volume_backend_name;
      host = await this.scheduler.place({ sizeGb: size, availabilityZone: az, multiattach, ...(backendName ? { backendName } : {}) });
    }
    if (!host) {
      await this.setStatus(row.id, 'error', 'No valid backend was found: no volume backend has the capacity, zone and capabilities asked for.');
      await recordVolumeMessage(this.ctx, row, MessageAction.scheduleAllocateVolume, MessageDetail.noBackendAvailable);
      return { ...row, status: 'error' };
    }
    await this.ctx.db.updateTable('volume_volume').set({ host, updated_at: nowIso() }).where('id', '=', row.id).execute();
    const args: CreateVolumeArgs = { volumeId: row.id, sizeGb: size };
    if (image) {
      args.source = {
        kind: 'image',
        image: { imageId: image.id, url: this.ctx.images.dataUrl(image.id), headers: { 'x-auth-token': caller.token }, diskFormat: image.disk_format ?? 'raw', sizeBytes: image.size },
      };
    } else if (snapshot) args.source = { kind: 'snapshot', snapshotId: snapshot.id, sourceVolumeId: snapshot.volume_id };
    else if (source) args.source = { kind: 'volume', volumeId: source.id };
    await this.sendToAgent(host, VolumeAgentMethods.createVolume, args, row.id);
    return { ...row, host };
  }

  /** Casts a task to the agent of `host`; a bus that refuses it leaves the volume in error. */
  private async sendToAgent(host: string, method: string, args: unknown, volumeId: string): Promise<void> {
    try {
      await this.ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(host) }, method, args);
    } catch (error) {
      this.ctx.log.error({ err: error, host, method }, 'could not reach the volume agent');
      await this.setStatus(volumeId, 'error', `the volume agent ${host} could not be reached`);
    }
  }

  async zones(): Promise<string[]> {
    const rows = await this.scheduler.list();
    const zones = new Set(rows.map((r) => r.availability_zone));
    zones.add(DEFAULT_AZ);
    return [...zones].sort();
  }

  async rowOf(id: string): Promise<VolumeRow | undefined> {
    return this.ctx.db.selectFrom('volume_volume').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async setStatus(id: string, status: string, reason: string | null = null): Promise<void> {
    await this.ctx.db.updateTable('volume_volume').set({ status, error_reason: reason, updated_at: nowIso() }).where('id', '=', id).execute();
  }

  /** Moves a volume from one of `from` to `to` in one statement: false when another change won. */
  async transition(id: string, from: string[], to: string): Promise<boolean> {
    const result = await this.ctx.db.updateTable('volume_volume').set({ status: to, updated_at: nowIso() }).where('id', '=', id).where('status', 'in', from).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  // ---------------------------------------------------------------------------- change

  async update(caller: Caller, id: string, body: { name?: string | null; description?: string | null; metadata?: Record<string, string> }): Promise<VolumeRow> {
    const row = await this.find(caller, id, 'volume:update');
    const next: Partial<VolumeRow> = { updated_at: nowIso() };
    if (body.name !== undefined) next.name = body.name;
    if (body.description !== undefined) next.description = body.description;
    if (body.metadata !== undefined) next.metadata = JSON.stringify(body.metadata);
    await this.ctx.db.updateTable('volume_volume').set(next).where('id', '=', row.id).execute();
    return { ...row, ...next };
  }

  async setMetadata(caller: Caller, id: string, metadata: Record<string, string>, replace: boolean): Promise<Record<string, string>> {
    const row = await this.find(caller, id, replace ? 'volume:update_volume_metadata' : 'volume:create_volume_metadata');
    const merged = replace ? metadata : { ...(JSON.parse(row.metadata) as Record<string, string>), ...metadata };
    await this.ctx.db.updateTable('volume_volume').set({ metadata: JSON.stringify(merged), updated_at: nowIso() }).where('id', '=', row.id).execute();
    return merged;
  }

  async deleteMetadataKey(caller: Caller, id: string, key: string): Promise<void> {
    const row = await this.find(caller, id, 'volume:delete_volume_metadata');
    const metadata = JSON.parse(row.metadata) as Record<string, string>;
    if (!(key in metadata)) throw new ApiError(404, `Volume ${id} has no metadata with key ${key}.`);
    delete metadata[key];
    await this.ctx.db.updateTable('volume_volume').set({ metadata: JSON.stringify(metadata), updated_at: nowIso() }).where('id', '=', row.id).execute();
  }

  async setImageMetadata(caller: Caller, id: string, metadata: Record<string, string> | null, removeKey?: string): Promise<Record<string, string>> {
    const row = await this.find(caller, id, removeKey ? 'volume_extension:volume_image_metadata:remove' : 'volume_extension:volume_image_metadata:set');
    const current = JSON.parse(row.image_metadata) as Record<string, string>;
    if (removeKey !== undefined) {
      if (!(removeKey in current)) throw new ApiError(404, `Glance metadata for volume ${id} with key ${removeKey} could not be found.`);
      delete current[removeKey];
    } else Object.assign(current, metadata ?? {});
    await this.ctx.db.updateTable('volume_volume').set({ image_metadata: JSON.stringify(current), updated_at: nowIso() }).where('id', '=', row.id).execute();
    return current;
  }

  async setFlag(caller: Caller, id: string, flag: 'bootable' | 'readonly', value: boolean): Promise<void> {
    const row = await this.find(caller, id, flag === 'bootable' ? 'volume:update' : 'volume:update_readonly_flag');
    if (flag === 'readonly' && !['available', 'in-use'].includes(row.status)) throw new ApiError(400, `Invalid volume: Volume status must be available or in-use to update readonly flag.`);
    const admin = JSON.parse(row.admin_metadata) as Record<string, string>;
    if (flag === 'readonly') admin.readonly = value ? 'True' : 'False';
    await this.ctx.db
      .updateTable('volume_volume')
      .set({ [flag]: value ? 1 : 0, admin_metadata: JSON.stringify(admin), updated_at: nowIso() })
      .where('id', '=', row.id)
      .execute();
  }

  async resetStatus(caller: Caller, id: string, status: string): Promise<void> {
    const row = await this.find(caller, id);
    authorize(this.ctx, caller, 'volume_extension:volume_admin_actions:reset_status', { project_id: row.project_id });
    if (!RESETTABLE.includes(status)) throw new ApiError(400, `Invalid input received: Must specify a valid status, not ${status}.`);
    await this.setStatus(row.id, status);
  }

  async extend(caller: Caller, id: string, newSize: unknown, versionAllowsAttached: boolean): Promise<void> {
    const row = await this.find(caller, id, 'volume:extend');
    if (typeof newSize !== 'number' && typeof newSize !== 'string') throw new ApiError(400, 'Invalid input received: new_size is required.');
    const size = Number(newSize);
    if (!Number.isInteger(size) || size <= 0) throw new ApiError(400, `Invalid input received: New size for extend must be an integer greater than 0 (got ${String(newSize)}).`);
    if (size > MAX_VOLUME_GB) throw new ApiError(400, `Invalid input received: New size ${size}G is larger than the largest Kumo accepts (${MAX_VOLUME_GB}G).`);
    if (size <= row.size) throw new ApiError(400, `Invalid input received: New size for extend must be greater than current size. (current: ${row.size}, extended: ${size}).`);
    const attached = row.status === 'in-use';
    if (!(row.status === 'available' || (attached && versionAllowsAttached))) {
      throw new ApiError(400, `Invalid volume: Volume ${row.id} status must be 'available'${versionAllowsAttached ? " or 'in-use'" : ''} to extend, currently ${row.status}.`);
    }
    if (attached) {
      const backend = (await this.scheduler.list()).find((b) => b.host === row.host);
      if (backend && backend.online_extend === 0) throw new ApiError(400, `Invalid volume: the ${backend.driver} backend cannot grow a volume while it is attached; detach it first.`);
      authorize(this.ctx, caller, 'volume:extend_attached_volume', { project_id: row.project_id });
    }
    const delta = size - row.size;
    await checkQuota(this.ctx.db, row.project_id, { gigabytes: delta });
    if (!row.host || !(await this.scheduler.claim(row.host, delta))) throw new ApiError(400, `Invalid volume: the backend of volume ${row.id} has no room for ${delta} GiB more.`);
    if (!(await this.transition(row.id, [row.status], 'extending'))) {
      await this.scheduler.release(row.host, delta);
      throw new ApiError(409, `Volume ${row.id} changed status while being extended; try again.`);
    }
    const args: ExtendVolumeArgs & { previousStatus: string } = { volumeId: row.id, newSizeGb: size, attached, previousStatus: row.status };
    await this.sendToAgent(row.host, VolumeAgentMethods.extendVolume, args, row.id);
  }

  async delete(caller: Caller, id: string, opts: { force?: boolean; cascade?: boolean } = {}): Promise<void> {
    const row = await this.find(caller, id, 'volume:delete');
    if (opts.force) authorize(this.ctx, caller, 'volume:force_delete', { project_id: row.project_id });
    const attachments = await this.ctx.db.selectFrom('volume_attachment').select('id').where('volume_id', '=', row.id).where('attach_status', '!=', 'detached').execute();
    if (attachments.length > 0) throw new ApiError(400, `Invalid volume: Volume ${row.id} status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.`);
    if (!opts.force && !DELETABLE.includes(row.status)) {
      throw new ApiError(400, `Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer (currently ${row.status}).`);
    }
    const snapshots = await this.ctx.db.selectFrom('volume_snapshot').selectAll().where('volume_id', '=', row.id).execute();
    if (snapshots.length > 0 && !opts.cascade) throw new ApiError(400, `Invalid volume: Volume ${row.id} still has ${snapshots.length} dependent snapshots.`);
    if (!(await this.transition(row.id, opts.force ? [row.status] : DELETABLE, 'deleting'))) throw new ApiError(400, `Invalid volume: Volume ${row.id} changed status; it cannot be deleted now.`);
    for (const snap of snapshots) {
      await this.ctx.db.updateTable('volume_snapshot').set({ status: 'deleting' }).where('id', '=', snap.id).execute();
      if (row.host) await this.ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(row.host) }, VolumeAgentMethods.deleteSnapshot, { snapshotId: snap.id, volumeId: row.id } satisfies SnapshotArgs);
      else await this.ctx.db.deleteFrom('volume_snapshot').where('id', '=', snap.id).execute();
    }
    if (!row.host) {
      // Never placed: there is nothing on any backend to remove.
      await this.ctx.db.deleteFrom('volume_transfer').where('volume_id', '=', row.id).execute();
      await this.ctx.db.deleteFrom('volume_volume').where('id', '=', row.id).execute();
      return;
    }
    await this.sendToAgent(row.host, VolumeAgentMethods.deleteVolume, { volumeId: row.id } satisfies VolumeIdArgs, row.id);
  }

  // ---------------------------------------------------------------------------- snapshots

  async findSnapshot(caller: Caller, id: string, action = 'volume:get_snapshot'): Promise<SnapshotRow> {
    const row = await this.ctx.db.selectFrom('volume_snapshot').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `Snapshot ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async listSnapshots(caller: Caller, allTenants: boolean): Promise<SnapshotRow[]> {
    authorize(this.ctx, caller, 'volume:get_all_snapshots', { project_id: caller.projectId });
    let q = this.ctx.db.selectFrom('volume_snapshot').selectAll();
    if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  async createSnapshot(caller: Caller, body: { volume_id: string; name?: string | null; description?: string | null; force?: boolean | string; metadata?: Record<string, string> }): Promise<SnapshotRow> {
    authorize(this.ctx, caller, 'volume:create_snapshot', { project_id: caller.projectId });
    const volume = await this.find(caller, body.volume_id);
    const force = body.force === true || String(body.force).toLowerCase() === 'true';
    if (!(volume.status === 'available' || (force && volume.status === 'in-use'))) {
      throw new ApiError(400, `Invalid volume: Volume ${volume.id} status must be available${force ? ' or in-use' : ''}, but current status is: ${volume.status}.`);
    }
    const now = nowIso();
    const row: SnapshotRow = {
      id: randomUUID(),
      volume_id: volume.id,
      project_id: caller.projectId,
      user_id: caller.userId,
      name: body.name ?? null,
      description: body.description ?? null,
      size: volume.size,
      status: 'creating',
      metadata: JSON.stringify(body.metadata ?? {}),
      created_at: now,
      updated_at: now,
    };
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<import('./tables.js').VolumeTables>();
      await checkQuota(db, caller.projectId, { snapshots: 1, gigabytes: volume.size });
      await db.insertInto('volume_snapshot').values(row).execute();
    });
    if (!volume.host) {
      await this.ctx.db.updateTable('volume_snapshot').set({ status: 'error' }).where('id', '=', row.id).execute();
      return { ...row, status: 'error' };
    }
    await this.ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(volume.host) }, VolumeAgentMethods.createSnapshot, { snapshotId: row.id, volumeId: volume.id } satisfies SnapshotArgs);
    return row;
  }

  async updateSnapshot(caller: Caller, id: string, body: { name?: string | null; description?: string | null; display_name?: string | null; display_description?: string | null }): Promise<SnapshotRow> {
    const row = await this.findSnapshot(caller, id, 'volume:update_snapshot');
    const next: Partial<SnapshotRow> = { updated_at: nowIso() };
    const name = body.name ?? body.display_name;
    const description = body.description ?? body.display_description;
    if (name !== undefined) next.name = name;
    if (description !== undefined) next.description = description;
    await this.ctx.db.updateTable('volume_snapshot').set(next).where('id', '=', row.id).execute();
    return { ...row, ...next };
  }

  async setSnapshotMetadata(caller: Caller, id: string, metadata: Record<string, string>, replace: boolean, removeKey?: string): Promise<Record<string, string>> {
    const row = await this.findSnapshot(caller, id, removeKey ? 'volume:delete_snapshot_metadata' : 'volume:update_snapshot_metadata');
    let current = JSON.parse(row.metadata) as Record<string, string>;
    if (removeKey !== undefined) {
      if (!(removeKey in current)) throw new ApiError(404, `Snapshot ${id} has no metadata with key ${removeKey}.`);
      delete current[removeKey];
    } else current = replace ? metadata : { ...current, ...metadata };
    await this.ctx.db.updateTable('volume_snapshot').set({ metadata: JSON.stringify(current), updated_at: nowIso() }).where('id', '=', row.id).execute();
    return current;
  }

  async resetSnapshotStatus(caller: Caller, id: string, status: string): Promise<void> {
    const row = await this.findSnapshot(caller, id);
    authorize(this.ctx, caller, 'volume_extension:snapshot_admin_actions:reset_status', { project_id: row.project_id });
    if (!['available', 'error', 'creating', 'deleting', 'error_deleting'].includes(status)) throw new ApiError(400, `Invalid input received: Must specify a valid status, not ${status}.`);
    await this.ctx.db.updateTable('volume_snapshot').set({ status, updated_at: nowIso() }).where('id', '=', row.id).execute();
  }

  async deleteSnapshot(caller: Caller, id: string, force = false): Promise<void> {
    const row = await this.findSnapshot(caller, id, 'volume:delete_snapshot');
    if (force) authorize(this.ctx, caller, 'volume_extension:snapshot_admin_actions:force_delete', { project_id: row.project_id });
    if (!force && !['available', 'error'].includes(row.status)) throw new ApiError(400, `Invalid snapshot: Snapshot status must be available or error and must not be part of a group (currently ${row.status}).`);
    const volume = await this.rowOf(row.volume_id);
    await this.ctx.db.updateTable('volume_snapshot').set({ status: 'deleting', updated_at: nowIso() }).where('id', '=', row.id).execute();
    if (!volume?.host) {
      await this.ctx.db.deleteFrom('volume_snapshot').where('id', '=', row.id).execute();
      return;
    }
    await this.ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(volume.host) }, VolumeAgentMethods.deleteSnapshot, { snapshotId: row.id, volumeId: volume.id } satisfies SnapshotArgs);
  }
}

/**
 * os-volume_upload_image: registers an image in Glance (with the caller's token, so it is
 * theirs) and has the volume's agent upload the volume's data into it; the volume is
 * `uploading` meanwhile and returns to its status when the agent reports.
 */
export async function uploadToImage(
  ctx: VolumeContext,
  volumes: Volumes,
  caller: Caller,
  id: string,
  body: { image_name?: unknown; force?: unknown; disk_format?: unknown; container_format?: unknown; visibility?: unknown; protected?: unknown },
): Promise<Record<string, unknown>> {
  const row = await volumes.find(caller, id, 'volume_extension:volume_actions:upload_image');
  if (typeof body.image_name !== 'string' || body.image_name.length === 0 || body.image_name.length > 255) throw new ApiError(400, 'Invalid input received: image_name is required.');
  const diskFormat = body.disk_format === undefined ? 'raw' : body.disk_format;
  if (diskFormat !== 'raw' && diskFormat !== 'qcow2') throw new ApiError(400, `Invalid input received: Invalid disk-format '${String(diskFormat)}' is specified; raw and qcow2 are allowed.`);
  const containerFormat = body.container_format === undefined ? 'bare' : body.container_format;
  if (containerFormat !== 'bare') throw new ApiError(400, `Invalid input received: container_format must be bare.`);
  const visibility = body.visibility ?? 'private';
  if (!['private', 'public', 'shared', 'community'].includes(String(visibility))) throw new ApiError(400, `Invalid input received: Invalid visibility ${String(visibility)}.`);
  if (visibility === 'public') authorize(ctx, caller, 'volume_extension:volume_actions:upload_public', { project_id: row.project_id });
  const force = body.force === true || String(body.force).toLowerCase() === 'true';
  const from = force ? ['available', 'in-use'] : ['available'];
  if (!from.includes(row.status)) throw new ApiError(400, `Invalid volume: Volume status must be available${force ? ' or in-use' : ''} (currently ${row.status}).`);
  if (!row.host) throw new ApiError(400, `Invalid volume: Volume ${row.id} has no backend.`);
  const imageMetadata = JSON.parse(row.image_metadata) as Record<string, string>;
  const image = await ctx.images.create(caller.token, {
    name: body.image_name,
    disk_format: diskFormat,
    container_format: containerFormat,
    visibility,
    ...(body.protected === true ? { protected: true } : {}),
    // Glance's min_disk keeps a volume-backed boot from a smaller disk.
    min_disk: row.size,
    ...Object.fromEntries(Object.entries(imageMetadata).filter(([k]) => !['image_id', 'disk_format', 'container_format', 'checksum', 'size', 'min_disk', 'min_ram', 'image_name', 'owner'].includes(k))),
  });
  if (!(await volumes.transition(row.id, from, 'uploading'))) throw new ApiError(400, `Invalid volume: Volume ${row.id} changed status; try again.`);
  const args: CopyVolumeToImageArgs = {
    volumeId: row.id,
    image: { imageId: image.id, url: ctx.images.dataUrl(image.id), headers: { 'x-auth-token': caller.token }, diskFormat },
  };
  await ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(row.host) }, VolumeAgentMethods.copyVolumeToImage, args);
  const type = await typeById(ctx, row.volume_type_id);
  return {
    id: row.id,
    updated_at: row.updated_at,
    status: 'uploading',
    display_description: row.description,
    size: row.size,
    volume_type: type ? { id: type.id, name: type.name } : null,
    image_id: image.id,
    container_format: containerFormat,
    disk_format: diskFormat,
    image_name: body.image_name,
    protected: body.protected === true,
    visibility,
  };
}
