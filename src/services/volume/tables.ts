/** Cinder's tables (see identity/tables.ts for the portable-types conventions). */
export interface VolumeRow {
  id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  status: string;
  /** `true`/`false` as 0/1. */
  bootable: number;
  readonly: number;
  multiattach: number;
  volume_type_id: string;
  availability_zone: string;
  /** `host@backend#pool` once the scheduler placed it. */
  host: string | null;
  snapshot_id: string | null;
  source_volid: string | null;
  image_id: string | null;
  /** JSON object of strings. */
  metadata: string;
  /** JSON object of strings (Glance properties copied when made from an image). */
  image_metadata: string;
  /**
   * Cinder's admin metadata (JSON object of strings): `readonly` once the flag was set. The
   * API shows it inside `metadata`, where users cannot change or delete it.
   */
  admin_metadata: string;
  /** Why the last task failed (for operators; Cinder keeps user messages elsewhere). */
  error_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface VolumeTypeRow {
  id: string;
  name: string;
  description: string | null;
  is_public: number;
  /** JSON object of strings. */
  extra_specs: string;
  created_at: string;
  /** The QoS specs associated with the type, if any. */
  qos_specs_id: string | null;
}

export interface VolumeTypeAccessRow {
  volume_type_id: string;
  project_id: string;
}

export interface SnapshotRow {
  id: string;
  volume_id: string;
  project_id: string;
  user_id: string;
  name: string | null;
  description: string | null;
  size: number;
  status: string;
  metadata: string;
  created_at: string;
  updated_at: string;
}

export interface AttachmentRow {
  id: string;
  volume_id: string;
  project_id: string;
  instance_uuid: string | null;
  attached_host: string | null;
  mountpoint: string | null;
  attach_mode: string;
  attach_status: string;
  /** JSON: the connector the attacher sent, and the connection info returned. */
  connector: string | null;
  connection_info: string | null;
  attached_at: string | null;
  detached_at: string | null;
  created_at: string;
}

/** One cinder-volume backend as its agent reports it, and what the scheduler has claimed on it. */
export interface BackendRow {
  /** `host@backend`. */
  host: string;
  backend_name: string;
  driver: string;
  availability_zone: string;
  total_gb: number;
  free_gb: number;
  /** Sum of the sizes of the volumes placed here (claims), kept by the scheduler. */
  allocated_gb: number;
  reserved_percentage: number;
  max_over_subscription_ratio: number;
  thin: number;
  online_extend: number;
  multiattach: number;
  storage_protocol: string;
  disabled: number;
  disabled_reason: string | null;
  last_heartbeat: string;
  created_at: string;
}

/** A project's quota limit for one resource (absent: the default). */
export interface QuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

/** A volume offered to another project (Cinder's transfers), until accepted or withdrawn. */
export interface TransferRow {
  id: string;
  volume_id: string;
  /** The project offering it (the volume's, when offered). */
  project_id: string;
  name: string | null;
  /** sha256(salt + auth key), hex: the key itself is shown once, at creation. */
  salt: string;
  key_hash: string;
  /** 1: the volume's snapshots stay behind (3.55's no_snapshots). */
  no_snapshots: number;
  created_at: string;
}

/** A user message (Cinder's message API): what an asynchronous failure tells the resource's owner. */
export interface MessageRow {
  id: string;
  project_id: string;
  /** `VOLUME` (Cinder's Resource). */
  resource_type: string;
  resource_uuid: string;
  /** Cinder's message_field Action and Detail ids, e.g. 001 and 003. */
  action_id: string;
  detail_id: string;
  message_level: string;
  request_id: string | null;
  created_at: string;
  /** Shown as guaranteed_until; a message past it is no longer listed. */
  expires_at: string;
}

/** A named set of QoS limits (Cinder's qos_specs), for volume types to point at. */
export interface QosSpecsRow {
  id: string;
  name: string;
  /** front-end, back-end or both. */
  consumer: string;
  /** JSON object of strings. */
  specs: string;
  created_at: string;
}

export interface VolumeTables {
  volume_volume: VolumeRow;
  volume_type: VolumeTypeRow;
  volume_type_access: VolumeTypeAccessRow;
  volume_snapshot: SnapshotRow;
  volume_attachment: AttachmentRow;
  volume_backend: BackendRow;
  volume_quota: QuotaRow;
  volume_transfer: TransferRow;
  volume_message: MessageRow;
  volume_qos_specs: QosSpecsRow;
}
