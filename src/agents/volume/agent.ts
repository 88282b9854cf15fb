import {
  VOLUME_AGENT_TOPIC,
  agentServerOf,
  VOLUME_SERVER_TOPIC,
  VolumeAgentMethods,
  VolumeServerMethods,
  type BackendCapabilities,
  type CopyVolumeToImageArgs,
  type CreateVolumeArgs,
  type ExtendVolumeArgs,
  type InitializeConnectionArgs,
  type SnapshotArgs,
  type TerminateConnectionArgs,
  type VolumeIdArgs,
  type VolumeTaskResult,
} from '../../contracts/volume.js';
import type { Bus, ListenHandle } from '../../core/bus/bus.js';
import type { Logger } from '../../core/log.js';
import type { VolumeBackend } from './backends/driver.js';

export interface VolumeAgentOptions {
  bus: Bus;
  /** `host@backend`: the bus server name and the host volumes are placed on. */
  host: string;
  backend: VolumeBackend;
  availabilityZone: string;
  log: Logger;
  /** Capability reports, Cinder's periodic get_volume_stats (0: only at start). */
  reportIntervalMs: number;
}

/**
 * cinder-volume for one backend: it serves the backend's tasks from the bus and reports
 * capacity to the volume service. Long tasks are acknowledged at once and answered with a
 * `task_done` cast; tasks on one volume run one after another.
 */
export class VolumeAgent {
  private handle: ListenHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private starting = true;
  private readonly queues = new Map<string, Promise<void>>();
  private reporting: Promise<void> = Promise.resolve();

  constructor(private readonly opts: VolumeAgentOptions) {}

  get host(): string {
    return this.opts.host;
  }

  async start(): Promise<void> {
    await this.opts.backend.setup();
    this.handle = await this.opts.bus.listen(VOLUME_AGENT_TOPIC, agentServerOf(this.opts.host), (method, args) => this.dispatch(method, args));
    await this.report();
    if (this.opts.reportIntervalMs > 0) {
      this.timer = setInterval(() => void this.report(), this.opts.reportIntervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.handle?.close();
    this.handle = undefined;
    await this.reporting;
    await Promise.allSettled([...this.queues.values()]);
    await this.opts.backend.stop?.();
  }

  /** Reports capabilities; the first report after a start tells the service to settle what died with the last run. */
  report(): Promise<void> {
    this.reporting = this.reporting.then(async () => {
      try {
        const caps = await this.capabilities();
        await this.opts.bus.call({ topic: VOLUME_SERVER_TOPIC }, VolumeServerMethods.reportCapabilities, caps, { timeoutMs: 10_000 });
        this.starting = false;
      } catch (err) {
        this.opts.log.warn({ err, host: this.opts.host }, 'volume agent could not report its capabilities; the next report retries');
      }
    });
    return this.reporting;
  }

  async capabilities(): Promise<BackendCapabilities> {
    const stats = await this.opts.backend.stats();
    return {
      host: this.opts.host,
      backendName: this.opts.backend.name,
      driver: stats.driver,
      availabilityZone: this.opts.availabilityZone,
      totalCapacityGb: stats.totalCapacityGb,
      freeCapacityGb: stats.freeCapacityGb,
      reservedPercentage: stats.reservedPercentage,
      thinProvisioning: stats.thinProvisioning,
      maxOverSubscriptionRatio: stats.maxOverSubscriptionRatio,
      onlineExtend: stats.onlineExtend,
      multiattach: stats.multiattach,
      storageProtocol: stats.storageProtocol,
      volumeCount: stats.volumeCount,
      starting: this.starting,
    };
  }

  private async dispatch(method: string, raw: unknown): Promise<unknown> {
    const backend = this.opts.backend;
    switch (method) {
      case VolumeAgentMethods.createVolume: {
        const args = raw as CreateVolumeArgs;
        this.task(args.volumeId, 'create_volume', args.volumeId, async () => {
          const source = args.source;
          if (!source) await backend.createVolume(args.volumeId, args.sizeGb);
          else if (source.kind === 'image') await backend.copyImageToVolume(args.volumeId, source.image, args.sizeGb);
          else if (source.kind === 'snapshot') await backend.createFromSnapshot(args.volumeId, source.snapshotId, args.sizeGb);
          else await backend.cloneVolume(args.volumeId, source.volumeId, args.sizeGb);
          return source?.kind === 'image' ? { bootable: true, sizeGb: args.sizeGb } : { sizeGb: args.sizeGb };
        });
        return null;
      }
      case VolumeAgentMethods.deleteVolume: {
        const args = raw as VolumeIdArgs;
        this.task(args.volumeId, 'delete_volume', args.volumeId, async () => {
          await backend.deleteVolume(args.volumeId);
          return {};
        });
        return null;
      }
      case VolumeAgentMethods.extendVolume: {
        const args = raw as ExtendVolumeArgs & { previousStatus?: string };
        this.task(args.volumeId, 'extend_volume', args.volumeId, async () => {
          await backend.extendVolume(args.volumeId, args.newSizeGb, args.attached);
          return { sizeGb: args.newSizeGb, ...(args.previousStatus ? { previousStatus: args.previousStatus } : {}) };
        });
        return null;
      }
      case VolumeAgentMethods.createSnapshot: {
        const args = raw as SnapshotArgs;
        this.task(args.volumeId, 'create_snapshot', args.snapshotId, async () => {
          await backend.createSnapshot(args.snapshotId, args.volumeId);
          return {};
        });
        return null;
      }
      case VolumeAgentMethods.deleteSnapshot: {
        const args = raw as SnapshotArgs;
        this.task(args.volumeId, 'delete_snapshot', args.snapshotId, async () => {
          await backend.deleteSnapshot(args.snapshotId);
          return {};
        });
        return null;
      }
      case VolumeAgentMethods.copyVolumeToImage: {
        const args = raw as CopyVolumeToImageArgs;
        this.task(args.volumeId, 'copy_volume_to_image', args.volumeId, async () => {
          await backend.copyVolumeToImage(args.volumeId, args.image);
          return {};
        });
        return null;
      }
      case VolumeAgentMethods.initializeConnection: {
        const args = raw as InitializeConnectionArgs;
        return backend.initializeConnection(args.volumeId, args.connector, args.accessMode);
      }
      case VolumeAgentMethods.terminateConnection: {
        const args = raw as TerminateConnectionArgs;
        await backend.terminateConnection(args.volumeId, args.connector);
        return null;
      }
      case VolumeAgentMethods.getCapabilities:
        return this.capabilities();
      case VolumeAgentMethods.listVolumes:
        return backend.listVolumes();
      default:
        throw new Error(`unknown method ${method}`);
    }
  }

  /** Runs `work` after the volume's earlier tasks, then tells the service how it went. */
  private task(queueKey: string, kind: VolumeTaskResult['kind'], id: string, work: () => Promise<Partial<VolumeTaskResult> & { previousStatus?: string }>): void {
    const previous = this.queues.get(queueKey) ?? Promise.resolve();
    const next = previous.then(async () => {
      let result: VolumeTaskResult;
      try {
        result = { kind, id, ok: true, ...(await work()) };
      } catch (err) {
        this.opts.log.error({ err, kind, id }, 'volume task failed');
        result = { kind, id, ok: false, error: err instanceof Error ? err.message : String(err) };
      }
      await this.opts.bus.cast({ topic: VOLUME_SERVER_TOPIC }, VolumeServerMethods.taskDone, result).catch((err: unknown) => {
        this.opts.log.error({ err, kind, id }, 'could not report a finished volume task');
      });
    });
    this.queues.set(queueKey, next);
    void next.finally(() => {
      if (this.queues.get(queueKey) === next) this.queues.delete(queueKey);
    });
  }
}
