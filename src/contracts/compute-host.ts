import type { ConnectionInfo } from './volume.js';

/**
 * The compute host's contract with the control plane (Nova's nova-compute <-> nova-conductor
 * since Grizzly): a compute agent holds no database connection. The conductor hands it an
 * instance's whole build request; the agent reports every state change, action event, power
 * state, resource change and heartbeat back through calls on this topic, and the control plane
 * makes every database write. In `kumo up` the same calls cross the in-process bus.
 */

/** Served by the control plane (any conductor process may answer). */
export const COMPUTE_HOST_TOPIC = 'compute-host';

/** The flavor an instance runs with, as a host needs it. */
export interface HostFlavor {
  id: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  rootGb: number;
  ephemeralGb: number;
  swapMb: number;
  extraSpecs: Record<string, string>;
}

/** What a boot asked of the network (Nova's `networks` entries). */
export type HostRequestedNetworks = Array<{ uuid?: string; port?: string; fixed_ip?: string; tag?: string }> | 'auto' | 'none';

/** An instance as its host sees it: never the database row. */
export interface HostInstance {
  id: string;
  projectId: string;
  userId: string;
  name: string;
  flavor: HostFlavor;
  newFlavor: HostFlavor | null;
  oldFlavor: HostFlavor | null;
  imageRef: string;
  host: string | null;
  vmState: string;
  taskState: string | null;
  powerState: number;
  keyData: string | null;
  userData: string | null;
  metadata: Record<string, string>;
  /** The boot asked for a config drive (or the host forced one). */
  configDrive: boolean;
  requestedNetworks: HostRequestedNetworks;
  attemptedHosts: string[];
  deleted: boolean;
}

/** Glance's record of the instance's image, as the conductor read it for the build. */
export interface HostImageMeta {
  id: string;
  diskFormat: string | null;
  containerFormat: string | null;
  minDisk: number;
  minRam: number;
  size: number | null;
  properties: Record<string, string>;
}

/**
 * A block device mapping (Nova's BDM with its block_device_info): a volume the conductor
 * attached for this host, with the volume service's connection info; boot index 0 is the
 * root disk (boot from volume).
 */
export interface HostBlockDeviceMapping {
  volumeId: string;
  deviceName: string | null;
  bootIndex: number | null;
  deleteOnTermination: boolean;
  connectionInfo: ConnectionInfo;
}

/** One NIC of an instance: a port the network service bound to the host. */
export interface HostNic {
  portId: string;
  mac: string;
}

/** What the conductor casts to the chosen host: everything the build needs but its ports. */
export interface BuildRequest {
  instance: HostInstance;
  image: HostImageMeta | null;
  blockDeviceMappings: HostBlockDeviceMapping[];
}

/** A state change expects this; it applies only while the instance still matches. */
export interface ExpectedState {
  vmState?: string[];
  /** null means "no task running". */
  taskState?: Array<string | null>;
  host?: string | null;
}

export interface HostFault {
  code: number;
  message: string;
  details?: string;
  created: string;
}

/** The fields a host may change on its instances. */
export interface InstanceChanges {
  vmState?: string;
  taskState?: string | null;
  powerState?: number;
  launchedAt?: string;
  fault?: HostFault;
  host?: string | null;
  attemptedHosts?: string[];
  flavor?: HostFlavor;
  oldFlavor?: HostFlavor | null;
  newFlavor?: HostFlavor | null;
  configDrive?: boolean;
}

export interface HostRegistration {
  host: string;
  availabilityZone: string;
  hypervisorType: string;
  hypervisorVersion: number;
  hostIp: string;
  vcpus: number;
  memoryMb: number;
  localGb: number;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedHostMemoryMb: number;
}

export interface HostResourceClaim {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

/** An open instance-action event; `finishEvent` closes it. */
export interface EventHandle {
  eventId: string;
  actionId: string;
}

/** allocate_network's answer: the NICs, or the port whose binding failed (Nova's PortBindingFailed). */
export type AllocateResult = { nics: HostNic[] } | { bindingFailed: string; message: string };

/** Calls an agent makes (all RPC calls with a reply). */
export const ComputeHostMethods = {
  register: 'register_host',
  heartbeat: 'host_heartbeat',
  getInstance: 'get_instance',
  listInstances: 'list_host_instances',
  transition: 'instance_transition',
  update: 'instance_update',
  markDeleted: 'instance_deleted',
  startAction: 'action_start',
  startEvent: 'action_event_start',
  finishEvent: 'action_event_finish',
  release: 'release_claim',
  reclaim: 'reclaim',
  reconcile: 'reconcile_host',
  allocateNetwork: 'allocate_network',
  instanceNics: 'instance_nics',
  deallocateNetwork: 'deallocate_network',
  configDriveFiles: 'config_drive_files',
} as const;

/**
 * The control plane as a compute host reaches it. The agent's side (a bus client) and the
 * control plane's side (the conductor's handler) implement the same shape.
 */
export interface ComputeHostApi {
  register(reg: HostRegistration): Promise<void>;
  heartbeat(host: string): Promise<void>;
  getInstance(instanceId: string): Promise<HostInstance | null>;
  listInstances(host: string): Promise<HostInstance[]>;
  transition(instanceId: string, expected: ExpectedState, changes: InstanceChanges): Promise<boolean>;
  update(instanceId: string, changes: InstanceChanges): Promise<void>;
  markDeleted(instanceId: string): Promise<void>;
  startAction(instanceId: string, action: string, who: { projectId: string; userId: string; requestId: string }): Promise<void>;
  startEvent(instanceId: string, event: string, host: string | null): Promise<EventHandle | null>;
  finishEvent(handle: EventHandle, error?: string): Promise<void>;
  release(instanceId: string): Promise<void>;
  reclaim(instanceId: string, wanted: HostResourceClaim): Promise<boolean>;
  reconcile(host: string): Promise<void>;
  /** Ports made or bound on `host` through the network service, which pushes them to the network agents. */
  allocateNetwork(instanceId: string, host: string): Promise<AllocateResult>;
  instanceNics(instanceId: string): Promise<HostNic[]>;
  /** Deletes the ports compute made, unbinds those the user passed in. */
  deallocateNetwork(instanceId: string): Promise<void>;
  /** The metadata service's config drive content: relative path -> base64. */
  configDriveFiles(instanceId: string): Promise<Record<string, string>>;
}

/**
 * Image data as a host moves it: downloads into its own cache, snapshot uploads. Over the
 * Image API as the `nova` service user in a split deployment; the same calls in-process in
 * `kumo up`.
 */
export interface HostImageTransfer {
  download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }>;
  upload(projectId: string, imageId: string, data: AsyncIterable<Buffer> | Buffer): Promise<void>;
  /** Deletes a snapshot that could not be completed. */
  discard(projectId: string, imageId: string): Promise<void>;
}
