import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, open, readFile, rm, statfs } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../../core/log.js';
import { buildConfigDrive } from '../config-drive.js';
import {
  BuildAbortError,
  PowerState,
  VirtError,
  type ConsoleTarget,
  type DirectBoot,
  type HostResources,
  type InstanceInfo,
  type InstanceSpec,
  type PowerStateValue,
  type VirtDriver,
  type VolumeAttachment,
} from '../driver.js';
import { qemuVersion } from './accel.js';
import { createOverlay, exportDisk, growDisk } from './disk.js';
import { Guest, SUSPEND_TAG, type GuestEnv } from './guest.js';
import type { BootFileKind, CachedImage } from './image-cache.js';
import { checkInstanceId, instanceIds, InstanceFiles, type LaunchRecord } from './instance-files.js';
import { checkKernelCmdline, checkMac } from './process.js';
import { qemuImg } from './qemu-img.js';
import { tapOfPort, Taps } from './taps.js';
import { checkVolumeId, hotplug, removeTlsKeys, resize, unplug, volumeNodes, type UnplugOptions } from './volumes.js';

/**
 * Nova's libvirt driver without libvirt: each instance is a QEMU process started directly and
 * driven over QMP (guest.ts), with a qcow2 overlay on a cached base image, virtio disk and
 * NICs on taps named after their ports, and a serial console logged to a file. This class is
 * the facade the compute agent speaks to: it checks what it is handed, finds the guest, and
 * runs the operation on it.
 */

/** Nova's libvirt driver returns at most the last 100 KiB of a console log (MAX_CONSOLE_BYTES). */
const MAX_CONSOLE_BYTES = 100 * 1024;
const DEFAULT_STOP_TIMEOUT_MS = 60_000;
const DEFAULT_POWERDOWN_RETRY_MS = 10_000;
const DEFAULT_WATCH_INTERVAL_MS = 2_000;
/** Dropping a suspended guest's saved state rewrites its refcounts: seconds, not minutes. */
const SNAPSHOT_DELETE_TIMEOUT_MS = 120_000;
const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export interface QemuDriverOptions {
  /** Instances live in `<dataDir>/instances/<uuid>/`, base images in `<dataDir>/instances/_base/`. */
  dataDir: string;
  /** QEMU's sockets and pid files go in `<stateDir>/qemu/<uuid>/` (the dataplane's /run/kumo/<hash>). */
  stateDir: string;
  /** The cloud's id (`KumoConfig.cloudId`): its guests' taps carry its mark. */
  cloudId: string;
  /** The namespace standing in for the host (tests): taps and QEMU live there. */
  hostNamespace?: string;
  accel: 'kvm' | 'tcg';
  binary?: string;
  tbSizeMb?: number;
  stopTimeoutMs?: number;
  powerdownRetryMs?: number;
  /** How often running guests are checked for a QEMU that is gone (QMP's close is the fast path). */
  watchIntervalMs?: number;
  images: {
    ensure(projectId: string, imageId: string): Promise<CachedImage>;
    ensureBootFile(projectId: string, imageId: string, kind: BootFileKind): Promise<string>;
  };
  hostIp?: string;
  /**
   * The compute host this driver serves. Two agents on one machine may share a data directory
   * (`kumo agent` beside `kumo up`): each lists, and so adopts, only the guests it spawned.
   */
  host?: string;
  /** How long a guest gets to release a volume after each device_del, and how many times it is asked. */
  volumeDetach?: UnplugOptions;
  /** A guest's power state changed without the driver being asked (its QEMU died): Nova's lifecycle events. */
  onLifecycleEvent?: (instanceId: string, powerState: PowerStateValue) => void;
  log?: Logger;
}

export function instancesDirOf(dataDir: string): string {
  return join(dataDir, 'instances');
}

/** Where the image cache keeps base images, as Nova's `instances/_base`. */
export function imageCacheDirOf(dataDir: string): string {
  return join(instancesDirOf(dataDir), '_base');
}

function checkCount(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new VirtError(`${what} must be an integer from ${min} to ${max}, not ${String(value)}`);
}

export class QemuDriver implements VirtDriver {
  readonly name = 'qemu';
  readonly needsImageData = true;
  private readonly guests = new Map<string, Guest>();
  private readonly instancesDir: string;
  private readonly runtimeRoot: string;
  private readonly env: GuestEnv;
  private readonly watch: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: QemuDriverOptions) {
    this.instancesDir = instancesDirOf(options.dataDir);
    this.runtimeRoot = join(options.stateDir, 'qemu');
    this.env = {
      accel: options.accel,
      taps: new Taps(options.cloudId, options.hostNamespace),
      stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
      powerdownRetryMs: options.powerdownRetryMs ?? DEFAULT_POWERDOWN_RETRY_MS,
      onUnexpectedExit: (id) => this.options.onLifecycleEvent?.(id, PowerState.SHUTDOWN),
      ...(options.binary !== undefined ? { binary: options.binary } : {}),
      ...(options.tbSizeMb !== undefined ? { tbSizeMb: options.tbSizeMb } : {}),
      ...(options.hostNamespace !== undefined ? { netns: options.hostNamespace } : {}),
      ...(options.log !== undefined ? { log: options.log } : {}),
    };
    this.watch = setInterval(() => {
      for (const guest of this.guests.values()) void guest.checkExit();
    }, options.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  /** Where a guest's VNC server listens (a unix socket), for the console proxy. */
  vncSocketPath(id: string): string {
    return this.files(id).vncSocket;
  }

  /** The guest's serial console as a unix socket (a client can type into it; output is also in console.log). */
  serialSocketPath(id: string): string {
    return this.files(id).consoleSocket;
  }

  /** The QEMU pid of a running guest (tests and operators); undefined when it is not running. */
  async pidOf(id: string): Promise<number | undefined> {
    const guest = await this.existing(id);
    return guest.isRunning ? guest.processId : undefined;
  }

  /** Lets go of every guest's QMP connection; the guests keep running for the next agent to adopt. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watch);
    for (const guest of this.guests.values()) await guest.detach();
    this.guests.clear();
  }

  async hostResources(): Promise<HostResources> {
    await mkdir(this.instancesDir, { recursive: true });
    const fs = await statfs(this.instancesDir);
    return {
      // Nova reports the virt type: QEMU for emulation (TCG), KVM with hardware acceleration.
      hypervisorType: this.options.accel === 'kvm' ? 'KVM' : 'QEMU',
      hypervisorVersion: await qemuVersion(this.options.binary),
      hostIp: this.options.hostIp ?? '127.0.0.1',
      vcpus: cpus().length,
      memoryMb: Math.floor(totalmem() / MIB),
      localGb: Math.floor((fs.blocks * fs.bsize) / GIB),
    };
  }

  async listInstances(): Promise<InstanceInfo[]> {
    const infos: InstanceInfo[] = [];
    for (const id of await instanceIds(this.instancesDir)) {
      const record = await this.files(id).readRecord().catch(() => undefined);
      if (record === undefined || (record.host ?? this.options.host) !== this.options.host) continue;
      const info = await this.instanceInfo(id);
      if (info) infos.push(info);
    }
    return infos;
  }

  async instanceInfo(id: string): Promise<InstanceInfo | undefined> {
    const files = this.files(id);
    if (!existsSync(files.record)) return undefined;
    const guest = await this.guest(id);
    return { id, powerState: await guest.powerState() };
  }

  async spawn(spec: InstanceSpec): Promise<void> {
    const record = this.recordOf(spec);
    const guest = await this.guest(spec.id);
    const files = guest.files;
    await guest.run(async () => {
      if (existsSync(files.record)) throw new VirtError(`Instance ${spec.id} already exists on this host.`);
      // A directory without a record is what an interrupted spawn left: nothing runs from it.
      await files.removeAll();
      await mkdir(files.dir, { recursive: true, mode: 0o700 });
      try {
        if (spec.rootVolume !== undefined) {
          // Boot from volume: the volume is the disk; no image is fetched, no overlay made.
          volumeNodes(spec.rootVolume, files.volumesDir);
          record.rootVolume = spec.rootVolume;
        } else {
          const base = await this.options.images.ensure(spec.projectId, spec.imageId);
          await createOverlay(base, files.disk, spec.rootGb);
        }
        if (spec.directBoot !== undefined) record.directBoot = await this.placeBootFiles(spec.projectId, spec.directBoot, files);
        for (const volume of spec.volumes ?? []) volumeNodes(volume, files.volumesDir);
        if (spec.volumes !== undefined && spec.volumes.length > 0) record.volumes = spec.volumes;
        if (spec.configDriveFiles !== undefined) {
          await buildConfigDrive(spec.configDriveFiles, files.configDrive);
          record.configDrive = true;
        }
        // The record before the taps: from here on, destroy knows what to remove.
        await files.writeRecord(record);
        await guest.launch(record);
      } catch (error) {
        await this.teardown(guest, record).catch((err: unknown) => this.options.log?.warn({ err, instanceId: spec.id }, 'cleanup after a failed spawn failed'));
        throw error;
      }
    });
  }

  async destroy(id: string): Promise<void> {
    const files = this.files(id);
    const guest = await this.guest(id);
    await guest.run(async () => {
      await this.teardown(guest, await files.readRecord().catch(() => undefined));
    });
    if (this.guests.get(id) === guest) this.guests.delete(id);
  }

  async reboot(id: string, kind: 'SOFT' | 'HARD'): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      const record = await this.record(guest);
      const state = await guest.state();
      if (kind === 'HARD') {
        if (state === 'running' || state === 'paused' || state === 'crashed') {
          await guest.reset();
          return;
        }
        // Not running: start afresh, dropping a suspended state (as Nova's hard reboot does).
        await this.discardSavedState(guest);
        await guest.launch(record);
        return;
      }
      if (state !== 'running') throw new VirtError(`Cannot soft reboot instance ${id} while it is ${state}.`);
      // As Nova's libvirt driver: a clean shutdown and a start; if the guest ignores the
      // button, powerOff ends QEMU hard, which makes this a hard reboot.
      await guest.powerOff();
      await guest.launch(record);
    });
  }

  async powerOn(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      const state = await guest.state();
      if (state === 'running' || state === 'paused' || state === 'crashed') return;
      if (state === 'suspended') {
        await this.resumeSaved(guest);
        return;
      }
      await guest.launch(await this.record(guest));
    });
  }

  async powerOff(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      await guest.powerOff();
    });
  }

  async pause(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      await this.expectState(guest, ['running'], 'pause');
      await guest.pause();
    });
  }

  async unpause(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      await this.expectState(guest, ['paused'], 'unpause');
      await guest.unpause();
    });
  }

  async suspend(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      await this.expectState(guest, ['running', 'paused'], 'suspend');
      await guest.saveAndQuit();
    });
  }

  async resume(id: string): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      await this.expectState(guest, ['suspended'], 'resume');
      await this.resumeSaved(guest);
    });
  }

  /**
   * A cold resize on this host: the guest powers off, its disk grows to the flavor's (never
   * shrinks: a revert to a smaller flavor keeps the grown disk, and Nova refuses to shrink a
   * root disk anyway), and it starts with the flavor's memory and vCPUs.
   */
  async resize(spec: InstanceSpec): Promise<void> {
    const wanted = this.recordOf(spec);
    const guest = await this.existing(spec.id);
    await guest.run(async () => {
      const record = await this.record(guest);
      const state = await guest.state();
      if (state === 'suspended') throw new VirtError(`Cannot resize instance ${spec.id} while it is suspended.`);
      await guest.powerOff();
      // A volume-backed root disk is the volume's size, not the flavor's.
      if (spec.rootGb > record.rootGb && !record.rootVolume) await growDisk(guest.files.disk, spec.rootGb);
      const resized: LaunchRecord = { ...record, vcpus: wanted.vcpus, memoryMb: wanted.memoryMb, rootGb: Math.max(record.rootGb, spec.rootGb) };
      await guest.files.writeRecord(resized);
      await guest.launch(resized);
    });
  }

  /**
   * The root disk as one standalone qcow2. A running guest is paused for the copy (QEMU
   * flushes its caches when it stops the vCPUs), so the image is consistent, and runs on after.
   */
  async snapshot(id: string): Promise<{ diskFormat: string; data: AsyncIterable<Buffer> }> {
    const guest = await this.existing(id);
    // Nova snapshots a volume-backed server's volume in Cinder instead; not done here yet.
    if ((await this.record(guest)).rootVolume) throw new VirtError(`Instance ${id} boots from a volume: snapshot its volume instead.`);
    const exported = await guest.run(async () => {
      const state = await guest.state();
      if (state !== 'running') return exportDisk(guest.files.disk, 'qcow2');
      await guest.pause();
      try {
        return await exportDisk(guest.files.disk, 'qcow2');
      } finally {
        await guest.unpause();
      }
    });
    async function* data(): AsyncIterable<Buffer> {
      try {
        for await (const chunk of exported.data) yield chunk;
      } finally {
        await exported.cleanup();
      }
    }
    return { diskFormat: 'qcow2', data: data() };
  }

  async attachVolume(id: string, volume: VolumeAttachment): Promise<void> {
    const guest = await this.existing(id);
    await guest.run(async () => {
      const record = await this.record(guest);
      const attached = [...(record.rootVolume ? [record.rootVolume] : []), ...(record.volumes ?? [])];
      if (attached.some((v) => v.volumeId === volume.volumeId)) throw new VirtError(`Volume ${volume.volumeId} is already attached to instance ${id}.`);
      const nodes = volumeNodes(volume, guest.files.volumesDir);
      const state = await guest.state();
      // A suspended guest's saved devices must match what it resumes with (Nova refuses too).
      if (state === 'suspended') throw new VirtError(`Cannot attach a volume to instance ${id} while it is suspended.`);
      // A guest that is off gets the volume at its next start, from the record.
      if (state !== 'shutoff') await hotplug(await guest.qmpClient(), nodes);
      await guest.files.writeRecord({ ...record, volumes: [...(record.volumes ?? []), volume] });
    });
  }

  async detachVolume(id: string, volumeId: string): Promise<void> {
    checkVolumeId(volumeId);
    const guest = await this.existing(id);
    await guest.run(async () => {
      const record = await this.record(guest);
      if (record.rootVolume?.volumeId === volumeId) throw new VirtError(`Volume ${volumeId} is the root disk of instance ${id}.`);
      const volume = record.volumes?.find((v) => v.volumeId === volumeId);
      if (!volume) return;
      const nodes = volumeNodes(volume, guest.files.volumesDir);
      const state = await guest.state();
      if (state === 'suspended') throw new VirtError(`Cannot detach a volume from instance ${id} while it is suspended.`);
      if (state !== 'shutoff') await unplug(await guest.qmpClient(), nodes, this.options.volumeDetach);
      else await removeTlsKeys(nodes);
      await guest.files.writeRecord({ ...record, volumes: (record.volumes ?? []).filter((v) => v.volumeId !== volumeId) });
    });
  }

  /** Online extend: QEMU grows the node, and the guest sees the new size (virtio-blk's config change). */
  async extendVolume(id: string, volumeId: string, newSizeBytes: number): Promise<void> {
    checkVolumeId(volumeId);
    const guest = await this.existing(id);
    await guest.run(async () => {
      const record = await this.record(guest);
      const volume = [...(record.rootVolume ? [record.rootVolume] : []), ...(record.volumes ?? [])].find((v) => v.volumeId === volumeId);
      if (!volume) throw new VirtError(`Volume ${volumeId} is not attached to instance ${id}.`);
      const root = record.rootVolume?.volumeId === volumeId;
      const nodes = volumeNodes(volume, guest.files.volumesDir, root ? { protocol: 'root-file', format: 'root', deviceId: 'root-disk' } : undefined);
      const state = await guest.state();
      // Off, the next start opens the file at its new size.
      if (state === 'shutoff' || state === 'suspended') return;
      await resize(await guest.qmpClient(), nodes, newSizeBytes);
    });
  }

  /**
   * Measured figures of a running guest: its memory (the flavor's, in KiB), QEMU's block
   * statistics per disk (query-blockstats) and each tap's kernel counters (sysfs), under
   * libvirt's names.
   */
  async diagnostics(id: string): Promise<Record<string, number>> {
    const guest = await this.existing(id);
    if ((await guest.state()) !== 'running') throw new VirtError(`Instance ${id} is not running.`);
    const record = await this.record(guest);
    const figures: Record<string, number> = { memory: record.memoryMb * 1024 };
    const stats = await (await guest.qmpClient()).execute('query-blockstats');
    for (const disk of stats) {
      const name = (disk.device || disk.qdev || '').replace(/[^A-Za-z0-9_-]/g, '_');
      if (!name) continue;
      Object.assign(figures, {
        [`${name}_read`]: disk.stats.rd_bytes ?? 0,
        [`${name}_read_req`]: disk.stats.rd_operations ?? 0,
        [`${name}_write`]: disk.stats.wr_bytes ?? 0,
        [`${name}_write_req`]: disk.stats.wr_operations ?? 0,
        [`${name}_errors`]: -1,
      });
    }
    for (const nic of record.nics) {
      const tap = tapOfPort(nic.portId);
      const counter = async (which: string) => Number((await readFile(`/sys/class/net/${tap}/statistics/${which}`, 'utf8').catch(() => '0')).trim()) || 0;
      Object.assign(figures, {
        [`${tap}_rx`]: await counter('rx_bytes'),
        [`${tap}_rx_packets`]: await counter('rx_packets'),
        [`${tap}_rx_errors`]: await counter('rx_errors'),
        [`${tap}_rx_drop`]: await counter('rx_dropped'),
        [`${tap}_tx`]: await counter('tx_bytes'),
        [`${tap}_tx_packets`]: await counter('tx_packets'),
        [`${tap}_tx_errors`]: await counter('tx_errors'),
        [`${tap}_tx_drop`]: await counter('tx_dropped'),
      });
    }
    return figures;
  }

  /** The end of the serial console log; at most MAX_CONSOLE_BYTES are read, however big the log is. */
  async consoleOutput(id: string, lines?: number): Promise<string> {
    if (lines !== undefined) checkCount('lines', lines, 0, 1_000_000);
    const guest = await this.existing(id);
    let text = '';
    try {
      const file = await open(guest.files.consoleLog, 'r');
      try {
        const { size } = await file.stat();
        const length = Math.min(size, MAX_CONSOLE_BYTES);
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, size - length);
        text = buffer.subarray(0, bytesRead).toString('utf8');
        // A cut in the middle of a line (or of a character) starts the text: drop that partial line.
        if (size > length) text = text.slice(text.indexOf('\n') + 1);
      } finally {
        await file.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (lines === undefined) return text;
    const all = text.split('\n');
    const trailing = all.at(-1) === '' ? all.pop() : undefined;
    return all.slice(Math.max(0, all.length - lines)).join('\n') + (trailing === '' && lines > 0 ? '\n' : '');
  }

  /** VNC is QEMU's unix socket, for the console proxy; serial and SPICE are not offered (the API answers 400). */
  async console(id: string, protocol: ConsoleTarget['protocol']): Promise<ConsoleTarget> {
    const guest = await this.existing(id);
    return protocol === 'vnc' ? { protocol, unixSocket: guest.files.vncSocket } : { protocol };
  }

  /**
   * After a host reboot (or an agent restart that found the guest not running): a guest that
   * should run is started again, a paused one started and paused; stopped and suspended guests
   * stay as they are, their state on disk. A guest that runs is never started twice.
   */
  async resumeStateOnHostBoot(spec: InstanceSpec, powerState: PowerStateValue): Promise<void> {
    const guest = await this.existing(spec.id);
    await guest.run(async () => {
      const state = await guest.state();
      if (state === 'running' || state === 'paused' || state === 'crashed') return;
      if (powerState !== PowerState.RUNNING && powerState !== PowerState.PAUSED) return;
      if (state === 'suspended') await this.resumeSaved(guest);
      else await guest.launch(await this.record(guest));
      if (powerState === PowerState.PAUSED) await guest.pause();
    });
  }

  private files(id: string): InstanceFiles {
    return new InstanceFiles(checkInstanceId(id), this.instancesDir, this.runtimeRoot);
  }

  /** The guest object of an id (one per id), adopting a QEMU that already runs it. */
  private async guest(id: string): Promise<Guest> {
    if (this.closed) throw new VirtError('the qemu driver is closed');
    let guest = this.guests.get(id);
    if (!guest) {
      guest = new Guest(this.files(id), this.env);
      this.guests.set(id, guest);
    }
    await guest.adopt();
    return guest;
  }

  /** As guest(), for an instance that must exist here. */
  private async existing(id: string): Promise<Guest> {
    const files = this.files(id);
    if (!existsSync(files.record)) throw new VirtError(`Instance ${id} could not be found on this host.`);
    return this.guest(id);
  }

  private async record(guest: Guest): Promise<LaunchRecord> {
    const record = await guest.files.readRecord();
    if (!record) throw new VirtError(`Instance ${guest.id} could not be found on this host.`);
    return record;
  }

  private async expectState(guest: Guest, allowed: string[], action: string): Promise<void> {
    const state = await guest.state();
    if (!allowed.includes(state)) throw new VirtError(`Cannot ${action} instance ${guest.id} while it is ${state}.`);
  }

  /**
   * A direct boot's kernel and ramdisk from the image cache into the instance's directory, as
   * Nova's libvirt driver keeps `instances/<uuid>/kernel` and `ramdisk`: a hard link to the
   * read-only cached file where the file system allows one, else a copy.
   */
  private async placeBootFiles(projectId: string, boot: DirectBoot, files: InstanceFiles): Promise<NonNullable<LaunchRecord['directBoot']>> {
    const place = async (imageId: string, kind: BootFileKind, path: string): Promise<void> => {
      const cached = await this.options.images.ensureBootFile(projectId, imageId, kind);
      await link(cached, path).catch(() => copyFile(cached, path));
    };
    await place(boot.kernelId, 'kernel', files.kernel);
    if (boot.ramdiskId !== undefined) await place(boot.ramdiskId, 'ramdisk', files.ramdisk);
    return { ramdisk: boot.ramdiskId !== undefined, cmdline: boot.cmdline };
  }

  /** Starts a suspended guest from the state saved in its disk, then drops that saved state. */
  private async resumeSaved(guest: Guest): Promise<void> {
    await guest.launch(await this.record(guest), { loadvm: SUSPEND_TAG });
    await rm(guest.files.suspendedMarker, { force: true });
    await guest.hmp(`delvm ${SUSPEND_TAG}`).catch((err: unknown) => this.options.log?.warn({ err, instanceId: guest.id }, 'could not drop the saved suspend state'));
  }

  /** Before a fresh start of a suspended guest: its saved state goes (QEMU is not running). */
  private async discardSavedState(guest: Guest): Promise<void> {
    if (!existsSync(guest.files.suspendedMarker)) return;
    await qemuImg(['snapshot', '-d', SUSPEND_TAG, '-f', 'qcow2', guest.files.disk], SNAPSHOT_DELETE_TIMEOUT_MS).catch(() => undefined);
    await rm(guest.files.suspendedMarker, { force: true });
  }

  /** Ends QEMU and removes the instance's taps and files. */
  private async teardown(guest: Guest, record: LaunchRecord | undefined): Promise<void> {
    await guest.hardStop();
    for (const nic of record?.nics ?? []) await this.env.taps.remove(tapOfPort(nic.portId));
    await guest.files.removeAll();
  }

  /** Checks a spec's shape before anything is made from it. */
  private recordOf(spec: InstanceSpec): LaunchRecord {
    checkInstanceId(spec.id);
    checkCount('vcpus', spec.vcpus, 1, 255);
    checkCount('memoryMb', spec.memoryMb, 1, 4 * 1024 * 1024);
    checkCount('rootGb', spec.rootGb, 0, 64 * 1024);
    if (typeof spec.projectId !== 'string' || spec.projectId === '') throw new VirtError('the instance has no project id');
    if (typeof spec.imageId !== 'string' || (spec.imageId === '' && spec.rootVolume === undefined)) throw new VirtError('the instance has no image');
    if (spec.directBoot !== undefined) {
      try {
        checkKernelCmdline(spec.directBoot.cmdline);
      } catch (error) {
        // The image's own property: no other host would boot it better.
        throw new BuildAbortError(`the image's os_command_line cannot be used: ${(error as Error).message.replace(/^qemu: /, '')}`);
      }
    }
    const taps = new Set<string>();
    for (const nic of spec.nics) {
      const tap = tapOfPort(nic.portId);
      if (taps.has(tap)) throw new VirtError(`two NICs would share tap ${tap}`);
      taps.add(tap);
      checkMac(nic.mac);
    }
    return {
      id: spec.id,
      vcpus: spec.vcpus,
      memoryMb: spec.memoryMb,
      rootGb: spec.rootGb,
      nics: spec.nics.map((nic) => ({ portId: nic.portId, mac: nic.mac.toLowerCase() })),
      configDrive: false,
      ...(this.options.host !== undefined ? { host: this.options.host } : {}),
    };
  }
}
