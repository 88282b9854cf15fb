import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import { checkQuota } from './quotas.js';
import type { TransferRow, VolumeTables } from './tables.js';
import type { Volumes } from './volumes.js';

/** Cinder's volume_transfer_key_length: the key the giver hands the receiver out of band. */
const AUTH_KEY_BYTES = 8;

const keyHash = (salt: string, key: string) => createHash('sha256').update(`${salt}${key}`).digest();

/**
 * Cinder's volume transfers: a project offers an available volume (and its snapshots, unless
 * `no_snapshots`) under a transfer id and a one-time key; whoever presents both takes the volume
 * into their own project, within their quota. While offered the volume is `awaiting-transfer`,
 * which nothing else (attach, delete, snapshot) accepts. A transfer ends by being accepted or
 * deleted; the row goes with it.
 */
export class Transfers {
  constructor(
    private readonly ctx: VolumeContext,
    private readonly volumes: Volumes,
  ) {}

  async create(caller: Caller, volumeId: string, name: string | null, noSnapshots: boolean): Promise<{ row: TransferRow; authKey: string }> {
    const volume = await this.volumes.find(caller, volumeId, 'volume:create_transfer');
    const authKey = randomBytes(AUTH_KEY_BYTES).toString('hex');
    const salt = randomBytes(8).toString('hex');
    const row: TransferRow = {
      id: randomUUID(),
      volume_id: volume.id,
      project_id: volume.project_id,
      name,
      salt,
      key_hash: keyHash(salt, authKey).toString('hex'),
      no_snapshots: noSnapshots ? 1 : 0,
      created_at: nowIso(),
    };
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<VolumeTables>();
      // The status moves only from `available`, in the same statement: two offers at once cannot both win.
      const moved = await db
        .updateTable('volume_volume')
        .set({ status: 'awaiting-transfer', updated_at: nowIso() })
        .where('id', '=', volume.id)
        .where('status', '=', 'available')
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new ApiError(400, 'Invalid volume: Status of volume must be available');
      if (!noSnapshots) {
        const busy = await db.selectFrom('volume_snapshot').select('id').where('volume_id', '=', volume.id).where('status', '!=', 'available').executeTakeFirst();
        if (busy) throw new ApiError(400, `Invalid snapshot: Snapshot ${busy.id} status must be available.`);
      }
      await db.insertInto('volume_transfer').values(row).execute();
    });
    return { row, authKey };
  }

  /** A transfer the caller's project offers (any, for an admin): 404 otherwise, as Cinder's scoped lookup. */
  async find(caller: Caller, id: string): Promise<TransferRow> {
    const row = await this.ctx.db.selectFrom('volume_transfer').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw notFound(id);
    authorize(this.ctx, caller, 'volume:get_transfer', { project_id: row.project_id });
    return row;
  }

  async list(caller: Caller, allTenants: boolean): Promise<TransferRow[]> {
    authorize(this.ctx, caller, 'volume:get_all_transfers', { project_id: caller.projectId });
    let query = this.ctx.db.selectFrom('volume_transfer').selectAll();
    if (!(caller.isAdmin && allTenants)) query = query.where('project_id', '=', caller.projectId);
    return query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  /** Withdraws the offer: the volume is `available` to its project again. */
  async delete(caller: Caller, id: string): Promise<void> {
    const row = await this.find(caller, id);
    authorize(this.ctx, caller, 'volume:delete_transfer', { project_id: row.project_id });
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<VolumeTables>();
      const gone = await db.deleteFrom('volume_transfer').where('id', '=', id).executeTakeFirst();
      if (Number(gone.numDeletedRows) !== 1) throw notFound(id);
      await db.updateTable('volume_volume').set({ status: 'available', updated_at: nowIso() }).where('id', '=', row.volume_id).where('status', '=', 'awaiting-transfer').execute();
    });
  }

  /**
   * Takes the volume (and its snapshots) into the caller's project. Anyone holding the id and
   * the key may; the key is checked before anything else is told about the transfer.
   */
  async accept(caller: Caller, id: string, authKey: string): Promise<TransferRow> {
    authorize(this.ctx, caller, 'volume:accept_transfer', { project_id: caller.projectId });
    return this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<VolumeTables>();
      const row = await db.selectFrom('volume_transfer').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(id);
      const expected = Buffer.from(row.key_hash, 'hex');
      const given = keyHash(row.salt, authKey);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        throw new ApiError(400, `Invalid auth key: Attempt to transfer ${id} with invalid auth key.`);
      }
      const volume = await db.selectFrom('volume_volume').selectAll().where('id', '=', row.volume_id).executeTakeFirst();
      if (!volume || volume.status !== 'awaiting-transfer') throw new ApiError(400, 'Invalid volume: Status of volume must be awaiting-transfer');
      const snapshots = row.no_snapshots ? [] : await db.selectFrom('volume_snapshot').select(['id', 'size']).where('volume_id', '=', volume.id).execute();
      const snapshotGb = snapshots.reduce((sum, snapshot) => sum + snapshot.size, 0);
      await checkQuota(db, caller.projectId, { volumes: 1, snapshots: snapshots.length, gigabytes: volume.size + snapshotGb });
      const now = nowIso();
      await db
        .updateTable('volume_volume')
        .set({ project_id: caller.projectId, user_id: caller.userId, status: 'available', updated_at: now })
        .where('id', '=', volume.id)
        .execute();
      if (snapshots.length > 0) {
        await db
          .updateTable('volume_snapshot')
          .set({ project_id: caller.projectId, user_id: caller.userId, updated_at: now })
          .where('id', 'in', snapshots.map((snapshot) => snapshot.id))
          .execute();
      }
      await db.deleteFrom('volume_transfer').where('id', '=', id).execute();
      return row;
    });
  }
}

function notFound(id: string): ApiError {
  return new ApiError(404, `Transfer ${id} could not be found.`);
}
