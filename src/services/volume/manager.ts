import {
  VOLUME_AGENT_TOPIC,
  agentServerOf,
  VOLUME_SERVER_TOPIC,
  VolumeAgentMethods,
  VolumeServerMethods,
  type BackendCapabilities,
  type VolumeTaskResult,
} from '../../contracts/volume.js';
import type { ListenHandle } from '../../core/bus/bus.js';
import { nowIso, type VolumeContext } from './context.js';
import type { Volumes } from './volumes.js';
import { MessageAction, MessageDetail, recordVolumeMessage } from './messages.js';

/**
 * The service's side of the bus: backends' capability reports feed the scheduler, and each
 * finished agent task moves its volume or snapshot to its next status. When an agent reports
 * that it (re)started, whatever it was creating died with it: those volumes go to `error`,
 * never `available`, and deletions it had not finished are sent again.
 */
export class VolumeManager {
  private handle: ListenHandle | undefined;

  constructor(
    private readonly ctx: VolumeContext,
    private readonly volumes: Volumes,
  ) {}

  async start(host: string): Promise<void> {
    this.handle = await this.ctx.bus.listen(VOLUME_SERVER_TOPIC, host, (method, args) => this.handle_(method, args));
  }

  async stop(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private async handle_(method: string, args: unknown): Promise<unknown> {
    switch (method) {
      case VolumeServerMethods.reportCapabilities:
        return this.report(args as BackendCapabilities);
      case VolumeServerMethods.taskDone:
        return this.taskDone(args as VolumeTaskResult & { previousStatus?: string });
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  async report(caps: BackendCapabilities): Promise<void> {
    await this.volumes.scheduler.report(caps);
    if (caps.starting) await this.recover(caps.host);
  }

  /** After an agent (re)start: settle what it was doing when it stopped. */
  async recover(host: string): Promise<void> {
    const rows = await this.ctx.db.selectFrom('volume_volume').selectAll().where('host', '=', host).where('status', 'in', ['creating', 'deleting', 'extending']).execute();
    for (const row of rows) {
      if (row.status === 'creating') {
        await this.volumes.setStatus(row.id, 'error', 'the volume agent restarted while the volume was being created');
      } else if (row.status === 'extending') {
        await this.volumes.setStatus(row.id, 'error_extending', 'the volume agent restarted while the volume was being extended');
      } else {
        await this.ctx.bus.cast({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(host) }, VolumeAgentMethods.deleteVolume, { volumeId: row.id });
      }
    }
    await this.ctx.db
      .updateTable('volume_snapshot')
      .set({ status: 'error', updated_at: nowIso() })
      .where('status', '=', 'creating')
      .where('volume_id', 'in', this.ctx.db.selectFrom('volume_volume').select('id').where('host', '=', host))
      .execute();
  }

  async taskDone(result: VolumeTaskResult & { previousStatus?: string }): Promise<void> {
    const { db } = this.ctx;
    switch (result.kind) {
      case 'create_volume': {
        if (result.ok) {
          await db
            .updateTable('volume_volume')
            .set({ status: 'available', ...(result.bootable !== undefined ? { bootable: result.bootable ? 1 : 0 } : {}), updated_at: nowIso() })
            .where('id', '=', result.id)
            .where('status', '=', 'creating')
            .execute();
        } else {
          await this.volumes.setStatus(result.id, 'error', result.error ?? 'the backend could not create the volume');
          // Cinder tells the owner when an image could not be written to the new volume.
          const row = await this.volumes.rowOf(result.id);
          if (row?.image_id) await recordVolumeMessage(this.ctx, row, MessageAction.copyImageToVolume, MessageDetail.unknownError);
        }
        return;
      }
      case 'delete_volume': {
        const row = await this.volumes.rowOf(result.id);
        if (!row) return;
        if (!result.ok) {
          await this.volumes.setStatus(result.id, 'error_deleting', result.error ?? null);
          return;
        }
        await db.deleteFrom('volume_snapshot').where('volume_id', '=', row.id).execute();
        // A force-deleted volume may still be on offer: the offer goes with it.
        await db.deleteFrom('volume_transfer').where('volume_id', '=', row.id).execute();
        await db.deleteFrom('volume_volume').where('id', '=', row.id).execute();
        if (row.host) await this.volumes.scheduler.release(row.host, row.size);
        return;
      }
      case 'extend_volume': {
        const row = await this.volumes.rowOf(result.id);
        if (!row) return;
        const back = result.previousStatus === 'in-use' ? 'in-use' : 'available';
        if (result.ok && result.sizeGb !== undefined) {
          if (row.host && result.sizeGb < row.size) await this.volumes.scheduler.release(row.host, row.size - result.sizeGb);
          await db.updateTable('volume_volume').set({ status: back, size: result.sizeGb, updated_at: nowIso() }).where('id', '=', row.id).execute();
          if (back === 'in-use') {
            const attachments = await db.selectFrom('volume_attachment').select('instance_uuid').where('volume_id', '=', row.id).where('attach_status', '=', 'attached').execute();
            const instances = attachments.map((a) => a.instance_uuid).filter((id): id is string => id !== null);
            this.ctx.onAttachedVolumeExtended?.(row.id, instances, result.sizeGb);
          }
        } else {
          await this.volumes.setStatus(row.id, 'error_extending', result.error ?? null);
          await recordVolumeMessage(this.ctx, row, MessageAction.extendVolume, MessageDetail.driverFailedExtend);
        }
        return;
      }
      case 'create_snapshot':
        await db.updateTable('volume_snapshot').set({ status: result.ok ? 'available' : 'error', updated_at: nowIso() }).where('id', '=', result.id).execute();
        return;
      case 'delete_snapshot':
        if (result.ok) await db.deleteFrom('volume_snapshot').where('id', '=', result.id).execute();
        else await db.updateTable('volume_snapshot').set({ status: 'error_deleting', updated_at: nowIso() }).where('id', '=', result.id).execute();
        return;
      case 'copy_volume_to_image': {
        const row = await this.volumes.rowOf(result.id);
        if (!row) return;
        const live = await db.selectFrom('volume_attachment').select('id').where('volume_id', '=', row.id).where('attach_status', '=', 'attached').execute();
        await this.volumes.transition(row.id, ['uploading'], live.length > 0 ? 'in-use' : 'available');
        return;
      }
    }
  }
}
