/**
 * Block storage contracts.
 *
 * 1. The bus contract between the volume service (Cinder's API + scheduler) and the volume
 *    agents (cinder-volume, one per storage backend of a host). They meet only on the bus.
 * 2. The os-brick-shaped connection info an attachment hands to the compute side.
 * 3. VolumeClient: the typed, in-process client compute (Nova) uses to reserve, attach and
 *    detach volumes (Nova's `nova/volume/cinder.py` API), implemented by the volume service.
 *
 * Messages carry everything the agent needs (ids, sizes, paths it chose before): agents
 * never read the database.
 */

// ---------------------------------------------------------------------------------------
// Connection info (os-brick shapes)

/**
 * A host's description of itself as an attacher (os-brick's connector properties):
 * `host` is the compute host; `initiator` would carry an iSCSI IQN on real hosts.
 */
export interface VolumeConnector {
  host: string;
  ip?: string;
  initiator?: string;
  multipath?: boolean;
  platform?: string;
  os_type?: string;
  /** Set when a caller names the instance (Nova does). */
  instance?: string;
  [key: string]: unknown;
}

/** `file`: a qcow2 or raw file on the attaching host (os-brick's LocalConnector / remotefs). */
export interface FileConnectionData {
  /** Absolute path to the volume's file; the guest's QEMU opens it directly. */
  device_path: string;
  /** The format QEMU must open it with. */
  format: 'qcow2' | 'raw';
  volume_id: string;
  access_mode: 'rw' | 'ro';
  /** Whether `block_resize` may grow it while attached. */
  online_extend: boolean;
  /** Cinder's `qos_specs`, absent when the type has none. */
  qos_specs?: Record<string, string> | null;
  encrypted?: boolean;
  discard?: boolean;
}

/** `nbd`: an export of qemu-storage-daemon reached over TCP with TLS-PSK. */
export interface NbdConnectionData {
  host: string;
  port: number;
  /** The NBD export name. */
  export_name: string;
  /** TLS-PSK: the identity and the hex key QEMU's tls-creds-psk needs (never logged). */
  tls_psk_identity: string;
  tls_psk_key: string;
  /** The format layered on top of the NBD node (the daemon exports the raw guest view). */
  format: 'raw';
  volume_id: string;
  access_mode: 'rw' | 'ro';
  online_extend: false;
  qos_specs?: Record<string, string> | null;
  encrypted?: boolean;
  discard?: boolean;
}

export type ConnectionInfo =
  | { driver_volume_type: 'file'; data: FileConnectionData }
  | { driver_volume_type: 'nbd'; data: NbdConnectionData };

// ---------------------------------------------------------------------------------------
// Bus contract: service <-> volume agent

/** Each volume agent serves this topic under its backend's host name (see agentServerOf). */
export const VOLUME_AGENT_TOPIC = 'cinder-volume';

/** The bus server name of backend `host@backend` (bus names take no `@`): `host:backend`. */
export const agentServerOf = (backendHost: string): string => backendHost.replace('@', ':');
/** The volume service serves this topic: agents report capacity and finished work to it. */
export const VOLUME_SERVER_TOPIC = 'cinder-volume-manager';

/** What a backend reports about itself (Cinder's get_volume_stats), every report interval. */
export interface BackendCapabilities {
  /** `host@backend`, e.g. `kumo-1@file`. */
  host: string;
  /** The backend name (volume_backend_name), e.g. `file`. */
  backendName: string;
  /** The driver kind: `file`, `nbd`. */
  driver: string;
  availabilityZone: string;
  totalCapacityGb: number;
  freeCapacityGb: number;
  /** Percentage of total kept back (Cinder's reserved_percentage). */
  reservedPercentage: number;
  thinProvisioning: boolean;
  maxOverSubscriptionRatio: number;
  onlineExtend: boolean;
  multiattach: boolean;
  /** Storage protocol as Cinder names it (`file`, `NBD`). */
  storageProtocol: string;
  /** Volume ids the backend holds (so the service can spot lost or stray volumes). */
  volumeCount: number;
  /** The first report of this agent process. */
  starting: boolean;
}

export const VolumeServerMethods = {
  /** cast, args BackendCapabilities. */
  reportCapabilities: 'report_capabilities',
  /** cast, args VolumeTaskResult: an asynchronous task finished (or failed). */
  taskDone: 'task_done',
} as const;

/** Where an image's data comes from: the Image API, over HTTP, with a token. */
export interface ImageSource {
  imageId: string;
  /** e.g. http://127.0.0.1:8080/image/v2/images/ID/file */
  url: string;
  /** Headers to send (X-Auth-Token). Never logged. */
  headers: Record<string, string>;
  diskFormat: string;
  sizeBytes: number | null;
}

/** Where an upload of a volume to an image goes (PUT to the Image API). */
export interface ImageTarget {
  imageId: string;
  url: string;
  headers: Record<string, string>;
  diskFormat: 'raw' | 'qcow2';
}

export interface CreateVolumeArgs {
  volumeId: string;
  sizeGb: number;
  /** At most one source; none for a blank volume. */
  source?:
    | { kind: 'image'; image: ImageSource }
    | { kind: 'snapshot'; snapshotId: string; sourceVolumeId: string }
    | { kind: 'volume'; volumeId: string };
}

export interface VolumeIdArgs {
  volumeId: string;
}

export interface ExtendVolumeArgs {
  volumeId: string;
  newSizeGb: number;
  /**
   * When attached, a backend that can grow online leaves the data alone (the guest's QEMU holds
   * it and grows it with block_resize when compute gets the volume-extended event).
   */
  attached: boolean;
  /** The status the volume returns to when the extend is done (`available` or `in-use`). */
  previousStatus?: string;
}

export interface SnapshotArgs {
  snapshotId: string;
  volumeId: string;
}

export interface InitializeConnectionArgs {
  volumeId: string;
  connector: VolumeConnector;
  accessMode: 'rw' | 'ro';
}

export interface TerminateConnectionArgs {
  volumeId: string;
  connector: VolumeConnector;
}

export interface CopyVolumeToImageArgs {
  volumeId: string;
  image: ImageTarget;
}

/** Reported by an agent for each asynchronous task it finishes. */
export interface VolumeTaskResult {
  kind: 'create_volume' | 'delete_volume' | 'extend_volume' | 'create_snapshot' | 'delete_snapshot' | 'copy_volume_to_image';
  /** The volume (or for snapshot tasks, the snapshot) the task acted on. */
  id: string;
  ok: boolean;
  error?: string;
  /** create_volume: whether the new volume is bootable (made from an image). */
  bootable?: boolean;
  /** The size in GiB the backend actually has now. */
  sizeGb?: number;
  /** extend_volume: echoed from ExtendVolumeArgs. */
  previousStatus?: string;
}

/**
 * Methods a volume agent serves. Long tasks are casts answered with a `task_done` cast to the
 * server; quick ones are calls.
 */
export const VolumeAgentMethods = {
  createVolume: 'create_volume',
  deleteVolume: 'delete_volume',
  extendVolume: 'extend_volume',
  createSnapshot: 'create_snapshot',
  deleteSnapshot: 'delete_snapshot',
  copyVolumeToImage: 'copy_volume_to_image',
  /** call: returns ConnectionInfo. */
  initializeConnection: 'initialize_connection',
  /** call: returns null. */
  terminateConnection: 'terminate_connection',
  /** call: returns BackendCapabilities. */
  getCapabilities: 'get_capabilities',
  /** call: returns the volume ids the backend holds. */
  listVolumes: 'list_volumes',
} as const;

// ---------------------------------------------------------------------------------------
// In-process client for compute (Nova's cinder API)

/** The caller, as the token says (the volume service checks policy and ownership with it). */
export interface VolumeCaller {
  userId: string;
  projectId: string;
  roles: string[];
  isAdmin?: boolean;
  /** The token, for services that forward it. */
  token?: string;
}

/** The attachment view Nova reads (Cinder's attachment record, 3.27+). */
export interface VolumeAttachmentView {
  id: string;
  volume_id: string;
  instance: string | null;
  status: 'reserved' | 'attaching' | 'attached' | 'detaching' | 'detached' | 'error_attaching' | 'error_detaching';
  attach_mode: 'rw' | 'ro';
  attached_at: string | null;
  detached_at: string | null;
  connection_info: ConnectionInfo | null;
  connector: VolumeConnector | null;
}

/** The volume view Nova reads (Cinder's volume detail, trimmed to what Nova needs). */
export interface VolumeView {
  id: string;
  name: string | null;
  status: string;
  size: number;
  availability_zone: string;
  bootable: boolean;
  multiattach: boolean;
  volume_type: string | null;
  project_id: string;
  /** `host@backend#pool`, null until scheduled. */
  host: string | null;
  attachments: Array<{ id: string; attachment_id: string; server_id: string | null; volume_id: string; host_name: string | null; device: string | null; attached_at: string | null }>;
}

/** Raised by VolumeClient with Cinder's HTTP status, so Nova can map it (400, 403, 404, 409, 413). */
export class VolumeClientError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'VolumeClientError';
  }
}

/**
 * What compute calls on the volume service, in Nova's order for an attach:
 * `attachmentCreate` (reserves: volume goes `reserved`/`attaching`) -> `attachmentUpdate` with
 * the connector (returns connection_info) -> hot-plug -> `attachmentComplete` (volume `in-use`).
 * Detach: `attachmentDelete` (connection terminated; volume `available` when its last goes).
 * Boot from volume uses `createVolume` then waits on `getVolume` for `available`.
 * Every call checks the caller's policy and that the volume is theirs (or admin).
 */
export interface VolumeClient {
  getVolume(caller: VolumeCaller, volumeId: string): Promise<VolumeView>;
  createVolume(
    caller: VolumeCaller,
    req: { size: number; name?: string; imageId?: string; snapshotId?: string; sourceVolumeId?: string; volumeType?: string; availabilityZone?: string },
  ): Promise<VolumeView>;
  deleteVolume(caller: VolumeCaller, volumeId: string): Promise<void>;
  /** Legacy os-reserve: `available` -> `attaching`. */
  reserve(caller: VolumeCaller, volumeId: string): Promise<void>;
  unreserve(caller: VolumeCaller, volumeId: string): Promise<void>;
  /** Creates an attachment for the instance; with a connector it also initializes the connection. */
  attachmentCreate(
    caller: VolumeCaller,
    req: { volumeId: string; instanceId: string; connector?: VolumeConnector; mode?: 'rw' | 'ro' },
  ): Promise<VolumeAttachmentView>;
  attachmentUpdate(caller: VolumeCaller, attachmentId: string, connector: VolumeConnector): Promise<VolumeAttachmentView>;
  attachmentComplete(caller: VolumeCaller, attachmentId: string): Promise<void>;
  attachmentDelete(caller: VolumeCaller, attachmentId: string): Promise<void>;
  attachmentGet(caller: VolumeCaller, attachmentId: string): Promise<VolumeAttachmentView>;
  /** Grows a volume (os-extend); Nova then tells the guest's QEMU (block_resize). */
  extendVolume(caller: VolumeCaller, volumeId: string, newSizeGb: number): Promise<void>;
}
