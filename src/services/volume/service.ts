import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { Enforcer } from '../../core/policy/index.js';
import {
  VolumeClientError,
  type VolumeAttachmentView,
  type VolumeCaller,
  type VolumeClient,
  type VolumeConnector,
  type VolumeView,
} from '../../contracts/volume.js';
import { Attachments } from './attachments.js';
import { callerFromClient, type VolumeContext } from './context.js';
import { HttpImageRecords } from './images.js';
import { VolumeManager } from './manager.js';
import { volumePolicyDefaults } from './policy.js';
import { renderAttachmentView } from './render.js';
import { VolumeScheduler } from './scheduler.js';
import type { VolumeTables } from './tables.js';
import { Messages } from './messages.js';
import { QosSpecs } from './qos.js';
import { Transfers } from './transfers.js';
import { ensureDefaultType, typeById } from './types.js';
import { Volumes } from './volumes.js';

/** The volume service: its context, logic, and the bus listener the agents report to. */
export class VolumeService {
  readonly volumes: Volumes;
  readonly attachments: Attachments;
  readonly transfers: Transfers;
  readonly messages: Messages;
  readonly qos: QosSpecs;
  readonly manager: VolumeManager;
  readonly client: VolumeClient;

  constructor(readonly ctx: VolumeContext) {
    this.volumes = new Volumes(ctx, new VolumeScheduler(ctx.db, ctx.serviceDownTimeSeconds));
    this.attachments = new Attachments(ctx, this.volumes);
    this.transfers = new Transfers(ctx, this.volumes);
    this.messages = new Messages(ctx);
    this.qos = new QosSpecs(ctx);
    this.manager = new VolumeManager(ctx, this.volumes);
    this.client = new InProcessVolumeClient(this);
  }

  async start(host: string): Promise<void> {
    await ensureDefaultType(this.ctx);
    await this.manager.start(host);
  }

  async stop(): Promise<void> {
    await this.manager.stop();
  }
}

export function createVolumeService(config: KumoConfig, database: Database, bus: Bus, enforcer: Enforcer, log: Logger): VolumeService {
  enforcer.registerDefaults(volumePolicyDefaults);
  return new VolumeService({
    config,
    database,
    db: database.tables<VolumeTables>(),
    bus,
    enforcer,
    log,
    images: new HttpImageRecords(() => config.publicUrl),
    serviceDownTimeSeconds: 60,
  });
}

/** Compute's view of the volume service, in-process: the same rules as the HTTP API. */
class InProcessVolumeClient implements VolumeClient {
  constructor(private readonly svc: VolumeService) {}

  private async wrap<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ApiError) throw new VolumeClientError(error.status, error.message);
      throw error;
    }
  }

  private async view(caller: VolumeCaller, volumeId: string): Promise<VolumeView> {
    const c = callerFromClient(caller);
    const row = await this.svc.volumes.find(c, volumeId);
    const type = await typeById(this.svc.ctx, row.volume_type_id);
    const attachments = await this.svc.attachments.ofVolume(row.id);
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      size: row.size,
      availability_zone: row.availability_zone,
      bootable: row.bootable === 1,
      multiattach: row.multiattach === 1,
      volume_type: type?.name ?? null,
      project_id: row.project_id,
      host: row.host,
      attachments: attachments
        .filter((a) => a.attach_status === 'attached')
        .map((a) => ({ id: a.volume_id, attachment_id: a.id, server_id: a.instance_uuid, volume_id: a.volume_id, host_name: a.attached_host, device: a.mountpoint, attached_at: a.attached_at })),
    };
  }

  getVolume(caller: VolumeCaller, volumeId: string): Promise<VolumeView> {
    return this.wrap(() => this.view(caller, volumeId));
  }

  createVolume(caller: VolumeCaller, req: Parameters<VolumeClient['createVolume']>[1]): Promise<VolumeView> {
    return this.wrap(async () => {
      const row = await this.svc.volumes.create(callerFromClient(caller), {
        size: req.size,
        name: req.name,
        imageRef: req.imageId,
        snapshot_id: req.snapshotId,
        source_volid: req.sourceVolumeId,
        volume_type: req.volumeType,
        availability_zone: req.availabilityZone,
      });
      return this.view(caller, row.id);
    });
  }

  deleteVolume(caller: VolumeCaller, volumeId: string): Promise<void> {
    return this.wrap(() => this.svc.volumes.delete(callerFromClient(caller), volumeId));
  }

  reserve(caller: VolumeCaller, volumeId: string): Promise<void> {
    return this.wrap(() => this.svc.attachments.reserve(callerFromClient(caller), volumeId));
  }

  unreserve(caller: VolumeCaller, volumeId: string): Promise<void> {
    return this.wrap(() => this.svc.attachments.unreserve(callerFromClient(caller), volumeId));
  }

  attachmentCreate(caller: VolumeCaller, req: { volumeId: string; instanceId: string; connector?: VolumeConnector; mode?: 'rw' | 'ro' }): Promise<VolumeAttachmentView> {
    return this.wrap(async () =>
      renderAttachmentView(
        await this.svc.attachments.create(callerFromClient(caller), {
          volumeId: req.volumeId,
          instanceId: req.instanceId,
          ...(req.connector ? { connector: req.connector } : {}),
          ...(req.mode ? { mode: req.mode } : {}),
        }),
      ),
    );
  }

  attachmentUpdate(caller: VolumeCaller, attachmentId: string, connector: VolumeConnector): Promise<VolumeAttachmentView> {
    return this.wrap(async () => renderAttachmentView(await this.svc.attachments.update(callerFromClient(caller), attachmentId, connector)));
  }

  attachmentComplete(caller: VolumeCaller, attachmentId: string): Promise<void> {
    return this.wrap(() => this.svc.attachments.complete(callerFromClient(caller), attachmentId));
  }

  attachmentDelete(caller: VolumeCaller, attachmentId: string): Promise<void> {
    return this.wrap(async () => {
      await this.svc.attachments.delete(callerFromClient(caller), attachmentId);
    });
  }

  attachmentGet(caller: VolumeCaller, attachmentId: string): Promise<VolumeAttachmentView> {
    return this.wrap(async () => renderAttachmentView(await this.svc.attachments.find(callerFromClient(caller), attachmentId)));
  }

  extendVolume(caller: VolumeCaller, volumeId: string, newSizeGb: number): Promise<void> {
    return this.wrap(() => this.svc.volumes.extend(callerFromClient(caller), volumeId, newSizeGb, true));
  }
}
