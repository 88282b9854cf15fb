import { stat } from 'node:fs/promises';
import { tapName } from '../../../../contracts/host-devices.js';
import { join } from 'node:path';
import {
  PowerState,
  VirtError,
  type ConsoleTarget,
  type HostResources,
  type InstanceInfo,
  type InstanceSpec,
  type PowerStateValue,
  type VirtDriver,
  type VolumeAttachment,
} from '../driver.js';

export interface FakeHostOptions {
  vcpus: number;
  memoryMb: number;
  localGb: number;
  hostIp?: string;
  /** How long a spawn takes, to simulate real boot times (a crash mid-boot needs a boot to be in). */
  spawnDelayMs?: number;
  /** Names of instances whose spawn fails, to exercise reschedules and faults (tests). */
  failSpawnFor?: (instance: InstanceSpec) => boolean;
  /**
   * Tests only: a directory where a `<instance id>.vnc` unix socket stands in for a guest's
   * VNC server. Without one, fake instances have no console to offer.
   */
  consoleDir?: string;
}

interface FakeDomain {
  spec: InstanceSpec;
  powerState: PowerStateValue;
  log: string[];
  /** Attached volumes by id, in attach order, with the size the guest was last told of. */
  volumes: Map<string, { attachment: VolumeAttachment; sizeBytes?: number }>;
  /** How often its diagnostics were read: the simulated counters grow with it. */
  diagnosticsReads?: number;
}

/** What the fake driver records of an attached volume (tests read it). */
export interface FakeVolume {
  volumeId: string;
  driverVolumeType: string;
  sizeBytes?: number;
}

/**
 * Nova's fake driver: instances live in memory and are running as soon as they are spawned.
 * It checks what a real hypervisor would (unknown instance, wrong state) so the agent's
 * state machine is exercised honestly, and it reports as hypervisor type `fake`.
 */
export class FakeDriver implements VirtDriver {
  readonly name = 'fake';
  readonly needsImageData = false;
  private readonly domains = new Map<string, FakeDomain>();

  constructor(private readonly options: FakeHostOptions) {}

  async hostResources(): Promise<HostResources> {
    return {
      hypervisorType: 'fake',
      hypervisorVersion: 1000,
      hostIp: this.options.hostIp ?? '127.0.0.1',
      vcpus: this.options.vcpus,
      memoryMb: this.options.memoryMb,
      localGb: this.options.localGb,
    };
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return [...this.domains.entries()].map(([id, d]) => ({ id, powerState: d.powerState }));
  }

  async instanceInfo(id: string): Promise<InstanceInfo | undefined> {
    const domain = this.domains.get(id);
    return domain ? { id, powerState: domain.powerState } : undefined;
  }

  async spawn(instance: InstanceSpec): Promise<void> {
    if (this.domains.has(instance.id)) throw new VirtError(`Instance ${instance.id} already exists on this host.`);
    if (this.options.failSpawnFor?.(instance)) throw new VirtError(`Fake driver was told to fail spawning ${instance.name}.`);
    if (this.options.spawnDelayMs) await new Promise((resolve) => setTimeout(resolve, this.options.spawnDelayMs));
    if (this.domains.has(instance.id)) throw new VirtError(`Instance ${instance.id} already exists on this host.`);
    this.domains.set(instance.id, { spec: instance, powerState: PowerState.RUNNING, log: [`${instance.name} login:`], volumes: volumesOf(instance) });
  }

  async destroy(id: string): Promise<void> {
    // Destroying what is not there succeeds, as in Nova: a delete must finish even after a failed spawn.
    this.domains.delete(id);
  }

  async reboot(id: string): Promise<void> {
    const domain = this.get(id);
    domain.powerState = PowerState.RUNNING;
    domain.log.push('reboot: Restarting system', `${domain.spec.name} login:`);
  }

  async powerOn(id: string): Promise<void> {
    this.get(id).powerState = PowerState.RUNNING;
  }

  async powerOff(id: string): Promise<void> {
    this.get(id).powerState = PowerState.SHUTDOWN;
  }

  async pause(id: string): Promise<void> {
    this.expect(id, PowerState.RUNNING, 'pause').powerState = PowerState.PAUSED;
  }

  async unpause(id: string): Promise<void> {
    this.expect(id, PowerState.PAUSED, 'unpause').powerState = PowerState.RUNNING;
  }

  async suspend(id: string): Promise<void> {
    this.expect(id, PowerState.RUNNING, 'suspend').powerState = PowerState.SUSPENDED;
  }

  async resume(id: string): Promise<void> {
    this.expect(id, PowerState.SUSPENDED, 'resume').powerState = PowerState.RUNNING;
  }

  async resize(instance: InstanceSpec): Promise<void> {
    const domain = this.get(instance.id);
    domain.spec = { ...instance, ...(domain.spec.rootVolume ? { rootVolume: domain.spec.rootVolume } : {}) };
    domain.powerState = PowerState.RUNNING;
  }

  async snapshot(id: string): Promise<{ diskFormat: string; data: AsyncIterable<Buffer> }> {
    const domain = this.get(id);
    // A small, deterministic stand-in for the disk, so the snapshot's checksum is checkable.
    const content = Buffer.from(`fake disk of ${domain.spec.id} from image ${domain.spec.imageId}\n`);
    return { diskFormat: 'raw', data: (async function* () { yield content; })() };
  }

  async consoleOutput(id: string, lines?: number): Promise<string> {
    const log = this.get(id).log;
    return (lines === undefined ? log : log.slice(-lines)).join('\n') + '\n';
  }

  /** A fake guest has no disks to swap: it is running either way, and its console says which system it runs. */
  async rescue(id: string): Promise<void> {
    const domain = this.get(id);
    domain.powerState = PowerState.RUNNING;
    domain.log.push(`${domain.spec.name} rescue login:`);
  }

  async unrescue(id: string): Promise<void> {
    const domain = this.get(id);
    domain.powerState = PowerState.RUNNING;
    domain.log.push(`${domain.spec.name} login:`);
  }

  /**
   * Simulated figures, not measured ones: the fake driver has no guest, so it answers what a
   * guest of this flavor would plausibly show (its memory, one virtio disk, a tap per NIC),
   * with counters that grow with the number of times it was asked, as real counters grow.
   */
  async diagnostics(id: string): Promise<Record<string, number>> {
    const domain = this.get(id);
    if (domain.powerState !== PowerState.RUNNING) throw new VirtError(`Instance ${id} is not running.`);
    domain.diagnosticsReads = (domain.diagnosticsReads ?? 0) + 1;
    const tick = domain.diagnosticsReads;
    const figures: Record<string, number> = { memory: domain.spec.memoryMb * 1024, 'memory-actual': domain.spec.memoryMb * 1024, 'memory-rss': domain.spec.memoryMb * 512 };
    for (let cpu = 0; cpu < domain.spec.vcpus; cpu++) figures[`cpu${cpu}_time`] = tick * 1_000_000_000;
    Object.assign(figures, { vda_read: tick * 262_144, vda_read_req: tick * 112, vda_write: tick * 65_536, vda_write_req: tick * 16, vda_errors: -1 });
    for (const nic of domain.spec.nics) {
      const tap = tapName(nic.portId);
      Object.assign(figures, { [`${tap}_rx`]: tick * 2_048, [`${tap}_rx_packets`]: tick * 24, [`${tap}_rx_errors`]: 0, [`${tap}_rx_drop`]: 0, [`${tap}_tx`]: tick * 1_024, [`${tap}_tx_packets`]: tick * 12, [`${tap}_tx_errors`]: 0, [`${tap}_tx_drop`]: 0 });
    }
    return figures;
  }

  /** Fake guests have no screen: a VNC console exists only where a test serves one in `consoleDir`. */
  async console(id: string, protocol: ConsoleTarget['protocol']): Promise<ConsoleTarget> {
    this.get(id);
    if (protocol !== 'vnc' || this.options.consoleDir === undefined) return { protocol };
    const unixSocket = join(this.options.consoleDir, `${id}.vnc`);
    const served = await stat(unixSocket).then((s) => s.isSocket(), () => false);
    return served ? { protocol, unixSocket } : { protocol };
  }

  async resumeStateOnHostBoot(instance: InstanceSpec, powerState: PowerStateValue): Promise<void> {
    this.domains.set(instance.id, { spec: instance, powerState, log: [`${instance.name} login:`], volumes: volumesOf(instance) });
  }

  async attachVolume(id: string, volume: VolumeAttachment): Promise<void> {
    const domain = this.get(id);
    if (domain.volumes.has(volume.volumeId) || domain.spec.rootVolume?.volumeId === volume.volumeId) {
      throw new VirtError(`Volume ${volume.volumeId} is already attached to instance ${id}.`);
    }
    domain.volumes.set(volume.volumeId, { attachment: volume });
    domain.log.push(`virtio_blk: [vd${String.fromCharCode(97 + domain.volumes.size)}] serial ${volume.volumeId.slice(0, 20)}`);
  }

  async detachVolume(id: string, volumeId: string): Promise<void> {
    this.get(id).volumes.delete(volumeId);
  }

  /** As the qemu driver: a file volume grows online, an NBD one does not (QEMU 7.2 cannot grow NBD nodes). */
  async extendVolume(id: string, volumeId: string, newSizeBytes: number): Promise<void> {
    const entry = this.get(id).volumes.get(volumeId);
    if (!entry) throw new VirtError(`Volume ${volumeId} is not attached to instance ${id}.`);
    if (entry.attachment.connectionInfo.driver_volume_type !== 'file') throw new VirtError(`Cannot grow ${entry.attachment.connectionInfo.driver_volume_type} volume ${volumeId} while it is attached.`);
    if (!Number.isSafeInteger(newSizeBytes) || newSizeBytes <= 0) throw new VirtError(`${String(newSizeBytes)} is not a size in bytes`);
    entry.sizeBytes = newSizeBytes;
  }

  /** The volumes an instance has, in attach order (tests; a real guest shows them as disks). */
  attachedVolumes(id: string): FakeVolume[] {
    return [...this.get(id).volumes.values()].map(({ attachment, sizeBytes }) => ({
      volumeId: attachment.volumeId,
      driverVolumeType: attachment.connectionInfo.driver_volume_type,
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    }));
  }

  /** The root volume of an instance booted from one (tests). */
  rootVolumeOf(id: string): string | undefined {
    return this.get(id).spec.rootVolume?.volumeId;
  }

  /** The direct boot (kernel image) an instance was spawned with, if any (tests). */
  directBootOf(id: string): InstanceSpec['directBoot'] {
    return this.get(id).spec.directBoot;
  }

  private get(id: string): FakeDomain {
    const domain = this.domains.get(id);
    if (!domain) throw new VirtError(`Instance ${id} could not be found on this host.`);
    return domain;
  }

  private expect(id: string, state: PowerStateValue, action: string): FakeDomain {
    const domain = this.get(id);
    if (domain.powerState !== state) throw new VirtError(`Cannot ${action} instance ${id} in power state ${domain.powerState}.`);
    return domain;
  }
}

function volumesOf(spec: InstanceSpec): FakeDomain['volumes'] {
  return new Map((spec.volumes ?? []).map((v) => [v.volumeId, { attachment: v }]));
}
