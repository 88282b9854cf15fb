/**
 * Bus contracts of the boot workflow: API -> conductor -> compute agent, as Nova's
 * compute_task and compute RPC APIs. Messages carry ids (and a build its request); every
 * state change is a compare-and-set in the control plane, so a late or repeated message
 * acts on the current state.
 */
import type { BuildRequest } from './compute-host.js';

import type { ConnectionInfo } from './volume.js';

/** The conductor serves this topic (any one conductor may take a message). */
export const CONDUCTOR_TOPIC = 'compute-conductor';
/** Each compute agent serves this topic under its host name. */
export const COMPUTE_TOPIC = 'compute';

export interface BuildInstancesArgs {
  instanceIds: string[];
}

/** Sent by an agent whose spawn failed: try another host (the failed one is in attempted_hosts). */
export interface RescheduleArgs {
  instanceId: string;
  reason: string;
}

export const ConductorMethods = {
  buildInstances: 'build_instances',
  reschedule: 'reschedule_instance',
} as const;

export interface InstanceArgs {
  instanceId: string;
}

/** build_and_run_instance: the whole build request travels with the id (contracts/compute-host.ts). */
export interface BuildArgs extends InstanceArgs {
  request?: BuildRequest;
}

/** A volume as the compute host gets it: the volume service's connection info for this host. */
export interface VolumeConnection {
  volumeId: string;
  connectionInfo: ConnectionInfo;
}

export interface AttachVolumeArgs extends InstanceArgs {
  volume: VolumeConnection;
}

export interface DetachVolumeArgs extends InstanceArgs {
  volumeId: string;
}

export interface ExtendVolumeArgs extends InstanceArgs {
  volumeId: string;
  newSizeBytes: number;
}

export interface RebootArgs extends InstanceArgs {
  kind: 'SOFT' | 'HARD';
}

export interface SnapshotArgs extends InstanceArgs {
  imageId: string;
}

export interface ConsoleOutputArgs extends InstanceArgs {
  lines?: number;
}

export interface ConsoleArgs extends InstanceArgs {
  protocol: 'vnc' | 'serial' | 'spice';
}

/** Methods an agent serves; casts unless noted. */
export const ComputeMethods = {
  buildAndRun: 'build_and_run_instance',
  terminate: 'terminate_instance',
  start: 'start_instance',
  stop: 'stop_instance',
  reboot: 'reboot_instance',
  pause: 'pause_instance',
  unpause: 'unpause_instance',
  suspend: 'suspend_instance',
  resume: 'resume_instance',
  resize: 'resize_instance',
  confirmResize: 'confirm_resize',
  revertResize: 'revert_resize',
  rebuild: 'rebuild_instance',
  snapshot: 'snapshot_instance',
  /** call: returns the console log text. */
  consoleOutput: 'get_console_output',
  /** cast: boots the rescue system with the instance's disk attached second (Nova's rescue_instance). */
  rescue: 'rescue_instance',
  /** cast: boots the instance from its own disk again. */
  unrescue: 'unrescue_instance',
  /** call: the running guest's figures (Nova's free-form diagnostics, libvirt's names). */
  diagnostics: 'get_diagnostics',
  /** call: returns the driver's ConsoleTarget: where the console is on the host (a unix socket or host and port), or neither. */
  console: 'get_console',
  /** call: hot-plugs a volume (or records it for a guest that is off); fails with the driver's reason. */
  attachVolume: 'attach_volume',
  /** call: unplugs a volume; resolves once the guest let go of it. */
  detachVolume: 'detach_volume',
  /** call: tells the guest an attached volume grew. */
  extendVolume: 'extend_volume',
} as const;
