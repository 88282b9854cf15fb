import type { Flavor } from '../flavors.js';
import type { InstanceRow } from '../tables.js';
import type { RequestedNetwork } from '../peers.js';
import type { VmState } from './states.js';

/** The flavor an instance was booted with, copied into the instance (Nova's instance.flavor). */
export type InstanceFlavor = Pick<Flavor, 'id' | 'name' | 'vcpus' | 'memoryMb' | 'rootGb' | 'ephemeralGb' | 'swapMb' | 'extraSpecs'>;

export interface Fault {
  code: number;
  message: string;
  details?: string;
  created: string;
}

export interface SchedulerHints {
  group?: string;
  same_host?: string[];
  different_host?: string[];
}

export interface Instance {
  id: string;
  projectId: string;
  userId: string;
  name: string;
  description: string | null;
  flavor: InstanceFlavor;
  newFlavor: InstanceFlavor | null;
  oldFlavor: InstanceFlavor | null;
  imageRef: string;
  host: string | null;
  availabilityZone: string | null;
  vmState: VmState;
  taskState: string | null;
  powerState: number;
  keyName: string | null;
  keyData: string | null;
  userData: string | null;
  metadata: Record<string, string>;
  tags: string[];
  /**
   * The groups the boot asked for (ids, or `default`), which allocation puts on the ports it
   * makes. What the server has since is on its ports: they are read, never this.
   */
  securityGroups: string[];
  requestedNetworks: RequestedNetwork[] | 'auto' | 'none';
  schedulerHints: SchedulerHints;
  configDrive: string;
  locked: boolean;
  lockedBy: string | null;
  reservationId: string;
  launchIndex: number;
  fault: Fault | null;
  attemptedHosts: string[];
  accessIpV4: string;
  accessIpV6: string;
  createdAt: string;
  updatedAt: string;
  launchedAt: string | null;
  terminatedAt: string | null;
  deleted: boolean;
}

/** Resources an instance holds on its host, as the scheduler and claims count them. */
export function resourcesOf(flavor: InstanceFlavor): { vcpus: number; memoryMb: number; diskGb: number } {
  return { vcpus: flavor.vcpus, memoryMb: flavor.memoryMb, diskGb: flavor.rootGb + flavor.ephemeralGb + Math.ceil(flavor.swapMb / 1024) };
}

export function instanceFromRow(row: InstanceRow): Instance {
  return {
    id: row.id,
    projectId: row.project_id,
    userId: row.user_id,
    name: row.name,
    description: row.description,
    flavor: JSON.parse(row.flavor) as InstanceFlavor,
    newFlavor: row.new_flavor ? (JSON.parse(row.new_flavor) as InstanceFlavor) : null,
    oldFlavor: row.old_flavor ? (JSON.parse(row.old_flavor) as InstanceFlavor) : null,
    imageRef: row.image_ref,
    host: row.host,
    availabilityZone: row.availability_zone,
    vmState: row.vm_state as VmState,
    taskState: row.task_state,
    powerState: row.power_state,
    keyName: row.key_name,
    keyData: row.key_data,
    userData: row.user_data,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    tags: JSON.parse(row.tags) as string[],
    securityGroups: JSON.parse(row.security_groups) as string[],
    requestedNetworks: JSON.parse(row.requested_networks) as Instance['requestedNetworks'],
    schedulerHints: JSON.parse(row.scheduler_hints) as SchedulerHints,
    configDrive: row.config_drive,
    locked: row.locked === 1,
    lockedBy: row.locked_by,
    reservationId: row.reservation_id,
    launchIndex: row.launch_index,
    fault: row.fault ? (JSON.parse(row.fault) as Fault) : null,
    attemptedHosts: JSON.parse(row.attempted_hosts) as string[],
    accessIpV4: row.access_ip_v4,
    accessIpV6: row.access_ip_v6,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    launchedAt: row.launched_at,
    terminatedAt: row.terminated_at,
    deleted: row.deleted === 1,
  };
}

export function instanceToRow(instance: Instance): InstanceRow {
  return {
    id: instance.id,
    project_id: instance.projectId,
    user_id: instance.userId,
    name: instance.name,
    description: instance.description,
    ...flavorColumns(instance.flavor),
    new_flavor: instance.newFlavor ? JSON.stringify(instance.newFlavor) : null,
    old_flavor: instance.oldFlavor ? JSON.stringify(instance.oldFlavor) : null,
    image_ref: instance.imageRef,
    host: instance.host,
    availability_zone: instance.availabilityZone,
    vm_state: instance.vmState,
    task_state: instance.taskState,
    power_state: instance.powerState,
    key_name: instance.keyName,
    key_data: instance.keyData,
    user_data: instance.userData,
    metadata: JSON.stringify(instance.metadata),
    tags: JSON.stringify(instance.tags),
    security_groups: JSON.stringify(instance.securityGroups),
    requested_networks: JSON.stringify(instance.requestedNetworks),
    scheduler_hints: JSON.stringify(instance.schedulerHints),
    config_drive: instance.configDrive,
    locked: instance.locked ? 1 : 0,
    locked_by: instance.lockedBy,
    reservation_id: instance.reservationId,
    launch_index: instance.launchIndex,
    fault: instance.fault ? JSON.stringify(instance.fault) : null,
    attempted_hosts: JSON.stringify(instance.attemptedHosts),
    access_ip_v4: instance.accessIpV4,
    access_ip_v6: instance.accessIpV6,
    created_at: instance.createdAt,
    updated_at: instance.updatedAt,
    launched_at: instance.launchedAt,
    terminated_at: instance.terminatedAt,
    deleted: instance.deleted ? 1 : 0,
  };
}

/** Ports the user passed in at boot: unbound, not deleted, when the instance goes. */
export function preservedPorts(instance: Instance): string[] {
  return Array.isArray(instance.requestedNetworks) ? instance.requestedNetworks.flatMap((n) => (n.port ? [n.port] : [])) : [];
}

/** The row's columns that describe its flavor; every change of flavor writes all of them. */
export function flavorColumns(flavor: InstanceFlavor): { flavor: string; vcpus: number; memory_mb: number } {
  return { flavor: JSON.stringify(flavor), vcpus: flavor.vcpus, memory_mb: flavor.memoryMb };
}
