/**
 * The hypervisor interface, modelled on Nova's nova/virt/driver.py: the compute agent
 * speaks only this, and each driver (fake, qemu) is a folder behind it.
 */

import type { ConnectionInfo } from '../../../contracts/volume.js';

/** Nova's power states (nova/compute/power_state.py). */
export const PowerState = {
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const;
export type PowerStateValue = (typeof PowerState)[keyof typeof PowerState];

/** What a driver needs to know about an instance to run it. */
export interface InstanceSpec {
  id: string;
  name: string;
  /** The owning project, on whose behalf the driver fetches the image. */
  projectId: string;
  vcpus: number;
  memoryMb: number;
  rootGb: number;
  ephemeralGb: number;
  swapMb: number;
  imageId: string;
  /** Local path of the cached base image, when the driver needs image data. */
  imagePath?: string;
  userData?: string;
  keyData?: string;
  metadata: Record<string, string>;
  /** Virtual NICs, one per port. */
  nics: Array<{ portId: string; mac: string }>;
  configDrive: boolean;
  /**
   * The config drive's files (relative path -> content) when the instance gets one (asked for
   * at boot or forced by the host): the driver writes them with buildConfigDrive and attaches
   * the image read-only.
   */
  configDriveFiles?: ReadonlyMap<string, Buffer>;
  /**
   * Boot from volume: the root disk is this volume (its connection info), not an image
   * overlay; imageId is then only what the volume was made from.
   */
  rootVolume?: VolumeAttachment;
  /** Volumes the guest gets at boot besides its root disk (block_device_mapping_v2), in order. */
  volumes?: VolumeAttachment[];
  /**
   * An AMI-style image (Glance's kernel_id, ramdisk_id and os_command_line properties): the
   * hypervisor loads this kernel (and initramfs) itself, with this command line, as Nova's
   * libvirt driver does; the root disk is attached as usual.
   */
  directBoot?: DirectBoot;
}

export interface DirectBoot {
  kernelId: string;
  ramdiskId?: string;
  /** The kernel's command line (the image's os_command_line, else Nova's `root=/dev/vda` and consoles). */
  cmdline: string;
}

/**
 * A volume as the hypervisor gets it (Nova's DriverVolumeBlockDevice): the volume service's
 * os-brick-shaped connection info and the volume's id, which the guest sees as the disk's
 * serial (/sys/block/vdX/serial, its first 20 characters).
 */
export interface VolumeAttachment {
  volumeId: string;
  connectionInfo: ConnectionInfo;
}

export interface InstanceInfo {
  id: string;
  powerState: PowerStateValue;
}

export interface HostResources {
  hypervisorType: string;
  hypervisorVersion: number;
  hostIp: string;
  vcpus: number;
  memoryMb: number;
  localGb: number;
}

/**
 * Where an instance's console can be reached on its host (Nova's ctype.Console*): a unix
 * socket or a host and port the console proxy connects to. A driver without a console of
 * that protocol returns neither, and the API answers that the console type is unavailable.
 */
export interface ConsoleTarget {
  protocol: 'vnc' | 'serial' | 'spice';
  unixSocket?: string;
  host?: string;
  port?: number;
}

export interface VirtDriver {
  readonly name: string;
  /** Whether spawning needs the image's data in the host cache (the fake driver does not). */
  readonly needsImageData: boolean;
  hostResources(): Promise<HostResources>;
  listInstances(): Promise<InstanceInfo[]>;
  instanceInfo(id: string): Promise<InstanceInfo | undefined>;
  spawn(instance: InstanceSpec): Promise<void>;
  destroy(id: string): Promise<void>;
  reboot(id: string, kind: 'SOFT' | 'HARD'): Promise<void>;
  powerOn(id: string): Promise<void>;
  powerOff(id: string): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  suspend(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Moves the instance to a new flavor (resize on the same host); revertable until confirmed. */
  resize(instance: InstanceSpec): Promise<void>;
  /** The root disk's content as a stream of qcow2 (or the image's format) bytes. */
  snapshot(id: string): Promise<{ diskFormat: string; data: AsyncIterable<Buffer> }>;
  consoleOutput(id: string, lines?: number): Promise<string>;
  /**
   * Rescue: the guest runs a rescue system (the rescue image, or its own) with its own disk
   * attached second, until unrescue boots it from its own disk again. Drivers without it leave
   * both out; compute refuses the action for their hosts (Nova's InstanceNotRescuable).
   */
  rescue?(id: string): Promise<void>;
  unrescue?(id: string): Promise<void>;
  /**
   * A running guest's figures in Nova's free-form diagnostics (before 2.48), named as libvirt's
   * driver names them (`memory` in KiB, `<disk>_read` bytes, `<tap>_rx` bytes, ...).
   */
  diagnostics(id: string): Promise<Record<string, number>>;
  console(id: string, protocol: ConsoleTarget['protocol']): Promise<ConsoleTarget>;
  /**
   * Gives the instance a volume: hot-plugged into a running guest, recorded for the next
   * start of a stopped one. Attaching the same volume twice is an error.
   */
  attachVolume(id: string, volume: VolumeAttachment): Promise<void>;
  /** Takes the volume away (unplugged from a running guest, which must let go of it). Detaching what is not attached succeeds. */
  detachVolume(id: string, volumeId: string): Promise<void>;
  /** Tells the guest an attached volume grew to newSizeBytes (file volumes; NBD nodes cannot grow online). */
  extendVolume(id: string, volumeId: string, newSizeBytes: number): Promise<void>;
  /**
   * Brings an instance the database says runs here back after the host (or agent) restarted
   * (Nova's resume_state_on_host_boot).
   */
  resumeStateOnHostBoot(instance: InstanceSpec, powerState: PowerStateValue): Promise<void>;
  /** Lets go of the hypervisor when the agent stops; guests keep running (qemu: QMP connections). */
  close?(): Promise<void>;
}

/** A driver failure a user sees in the instance's fault. */
export class VirtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VirtError';
  }
}

/**
 * A boot that no other host would get further with (the flavor's disk is smaller than the
 * image, the image is not one this driver can boot): Nova's BuildAbortException. The build
 * ends in ERROR with this message instead of being rescheduled, whose last word would
 * otherwise be "No valid host was found" with the reason lost.
 */
export class BuildAbortError extends VirtError {
  constructor(message: string) {
    super(message);
    this.name = 'BuildAbortError';
  }
}
