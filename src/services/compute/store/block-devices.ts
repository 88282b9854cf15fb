import type { Kysely } from 'kysely';
import { newUuid } from '../../../core/ids.js';
import type { BlockDevice, BlockDeviceChanges, NewBlockDevice } from '../instances/block-devices.js';
import type { BlockDeviceMappingRow, ComputeTables } from '../tables.js';

function fromRow(row: BlockDeviceMappingRow): BlockDevice {
  return {
    id: row.id,
    instanceId: row.instance_id,
    volumeId: row.volume_id,
    attachmentId: row.attachment_id,
    deviceName: row.device_name,
    sourceType: row.source_type as BlockDevice['sourceType'],
    destinationType: 'volume',
    bootIndex: row.boot_index,
    deleteOnTermination: row.delete_on_termination === 1,
    volumeSize: row.volume_size,
    imageId: row.image_id,
    snapshotId: row.snapshot_id,
    tag: row.tag,
    connectionInfo: row.connection_info ? (JSON.parse(row.connection_info) as Record<string, unknown>) : null,
    status: row.status as BlockDevice['status'],
    createdAt: row.created_at,
  };
}

/** The compute_block_device_mapping table: what volumes each instance has. */
export class BlockDevices {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async list(instanceId: string): Promise<BlockDevice[]> {
    const rows = await this.db
      .selectFrom('compute_block_device_mapping')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(fromRow);
  }

  async byVolume(instanceId: string, volumeId: string): Promise<BlockDevice | undefined> {
    const row = await this.db
      .selectFrom('compute_block_device_mapping')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('volume_id', '=', volumeId)
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async get(id: string): Promise<BlockDevice | undefined> {
    const row = await this.db.selectFrom('compute_block_device_mapping').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /** Inserts a mapping; undefined when the volume is already mapped to this instance (the unique index). */
  async create(device: NewBlockDevice, isUniqueViolation: (error: unknown) => boolean): Promise<BlockDevice | undefined> {
    const now = new Date().toISOString();
    const row: BlockDeviceMappingRow = {
      id: newUuid(),
      instance_id: device.instanceId,
      volume_id: device.volumeId ?? null,
      attachment_id: device.attachmentId ?? null,
      device_name: device.deviceName ?? null,
      source_type: device.sourceType,
      destination_type: 'volume',
      boot_index: device.bootIndex,
      delete_on_termination: device.deleteOnTermination ? 1 : 0,
      volume_size: device.volumeSize ?? null,
      image_id: device.imageId ?? null,
      snapshot_id: device.snapshotId ?? null,
      tag: device.tag ?? null,
      connection_info: null,
      status: device.status ?? 'attaching',
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('compute_block_device_mapping').values(row).execute();
    } catch (error) {
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
    return fromRow(row);
  }

  /** Applies changes when the mapping is (still) in one of `fromStatus`; false otherwise. */
  async update(id: string, changes: BlockDeviceChanges, fromStatus?: BlockDevice['status'][]): Promise<boolean> {
    let query = this.db
      .updateTable('compute_block_device_mapping')
      .set({ ...changes, updated_at: new Date().toISOString() })
      .where('id', '=', id);
    if (fromStatus) query = query.where('status', 'in', fromStatus);
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Instances that are deleted but still have mappings (their volumes not yet given back). */
  async deletedInstancesWithMappings(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('compute_block_device_mapping as b')
      .innerJoin('compute_instance as i', 'i.id', 'b.instance_id')
      .select('i.id as id')
      .distinct()
      .where('i.deleted', '=', 1)
      .execute();
    return rows.map((row) => row.id);
  }

  /** Mappings of live instances caught mid-attach or mid-detach, with their instance's vm_state. */
  async inFlight(): Promise<Array<{ id: string; status: string; instanceId: string; vmState: string }>> {
    return this.db
      .selectFrom('compute_block_device_mapping as b')
      .innerJoin('compute_instance as i', 'i.id', 'b.instance_id')
      .select(['b.id as id', 'b.status as status', 'i.id as instanceId', 'i.vm_state as vmState'])
      .where('i.deleted', '=', 0)
      .where('b.status', 'in', ['detaching', 'attaching'])
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('compute_block_device_mapping').where('id', '=', id).execute();
  }
}
