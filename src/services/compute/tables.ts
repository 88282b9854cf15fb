/**
 * Nova's tables (see identity/tables.ts for the portable-types conventions: booleans are
 * integers, JSON is text, times are ISO strings).
 */

export interface FlavorRow {
  /** Nova's `flavorid`: what the API calls `id` ("1", "42" or a UUID). */
  id: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  rxtx_factor: number;
  is_public: number;
  disabled: number;
  description: string | null;
  created_at: string;
}

export interface FlavorExtraSpecRow {
  flavor_id: string;
  key: string;
  value: string;
}

export interface FlavorAccessRow {
  flavor_id: string;
  project_id: string;
}

export interface KeypairRow {
  user_id: string;
  name: string;
  type: string;
  fingerprint: string;
  public_key: string;
  created_at: string;
}

/** One row per instance; deleted instances are kept (deleted = 1) as Nova soft-deletes them. */
export interface InstanceRow {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  description: string | null;
  /** The flavor as it was at boot (JSON Flavor), so later flavor edits or deletes do not change it. */
  flavor: string;
  /** The flavor's vCPUs and RAM, as columns so quota usage is one SQL sum. */
  vcpus: number;
  memory_mb: number;
  /** During a resize: the flavor being moved to / the one to go back to (JSON Flavor). */
  new_flavor: string | null;
  old_flavor: string | null;
  image_ref: string;
  host: string | null;
  availability_zone: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  /** JSON Record<string, string> */
  metadata: string;
  /** JSON string[] */
  tags: string;
  /** JSON string[] of security group names */
  security_groups: string;
  /** JSON: what `networks` asked for at boot ('auto', 'none' or a list). */
  requested_networks: string;
  /** JSON scheduler hints */
  scheduler_hints: string;
  config_drive: string;
  locked: number;
  locked_by: string | null;
  reservation_id: string;
  launch_index: number;
  /** JSON {code, message, details, created} when in ERROR */
  fault: string | null;
  /** Hosts tried so far for this boot, JSON string[] (reschedules skip them). */
  attempted_hosts: string;
  access_ip_v4: string;
  access_ip_v6: string;
  created_at: string;
  updated_at: string;
  launched_at: string | null;
  terminated_at: string | null;
  deleted: number;
}

/** A compute host: Nova's compute service and compute node in one row. */
export interface ComputeHostRow {
  host: string;
  /** The os-services id and the os-hypervisors id (UUIDs, as from microversion 2.53). */
  service_id: string;
  node_id: string;
  availability_zone: string;
  hypervisor_type: string;
  hypervisor_version: number;
  host_ip: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  vcpus_used: number;
  memory_mb_used: number;
  local_gb_used: number;
  running_vms: number;
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  reserved_host_memory_mb: number;
  disabled: number;
  disabled_reason: string | null;
  forced_down: number;
  /** ISO time of the agent's last heartbeat; the service is down when it is too old. */
  last_heartbeat: string;
  created_at: string;
  updated_at: string;
}

/**
 * What an instance holds on its host (Nova's placement allocations): the claim the
 * scheduler made, released when the instance is deleted or fails. The host's *_used
 * counters are the sum of these rows, kept in step in the same transaction.
 */
export interface AllocationRow {
  instance_id: string;
  host: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

export interface InstanceActionRow {
  id: string;
  instance_id: string;
  request_id: string;
  action: string;
  project_id: string;
  user_id: string;
  start_time: string;
  finish_time: string | null;
  message: string | null;
}

export interface InstanceActionEventRow {
  id: string;
  action_id: string;
  event: string;
  start_time: string;
  finish_time: string | null;
  result: string | null;
  host: string | null;
  traceback: string | null;
}

export interface ServerGroupRow {
  id: string;
  project_id: string;
  user_id: string;
  name: string;
  policy: string;
  /** JSON rules, e.g. {"max_server_per_host": 1} */
  rules: string;
  created_at: string;
}

export interface ServerGroupMemberRow {
  group_id: string;
  instance_id: string;
}

/** A project's (or, with project_id 'default', the cloud's default) limit for one resource. */
export interface ComputeQuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

/** The password the guest posted to the metadata service (encrypted by the guest with its key). */
export interface InstancePasswordRow {
  instance_id: string;
  password: string;
  created_at: string;
}

/** A console URL's token: only its SHA-256 is kept, with where it leads and until when. */
export interface ConsoleAuthTokenRow {
  token_hash: string;
  instance_id: string;
  /** `novnc` (Nova's console type). */
  console_type: string;
  unix_socket: string | null;
  target_host: string | null;
  target_port: number | null;
  /** The host the instance was on when the token was issued; the token opens nothing elsewhere. */
  compute_host: string;
  expires_at: string;
  created_at: string;
}

/**
 * Nova's block device mapping: one volume of an instance. `status` is the attach workflow's
 * step ('attaching' until the guest has it, 'attached', 'detaching'); connection_info is
 * the volume service's os-brick-shaped answer (JSON), kept so a restart re-attaches it.
 */
export interface BlockDeviceMappingRow {
  id: string;
  instance_id: string;
  volume_id: string | null;
  attachment_id: string | null;
  device_name: string | null;
  /** image | volume | snapshot | blank */
  source_type: string;
  /** volume (local is the flavor's disk, which has no row here) */
  destination_type: string;
  boot_index: number | null;
  delete_on_termination: number;
  volume_size: number | null;
  image_id: string | null;
  snapshot_id: string | null;
  tag: string | null;
  connection_info: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}

/** Nova's host aggregates: an integer id (the API's before 2.41) and a uuid (from 2.41). */
export interface AggregateRow {
  id: number;
  uuid: string;
  name: string;
  created_at: string;
  updated_at: string | null;
}

export interface AggregateHostRow {
  aggregate_id: number;
  host: string;
}

/** An aggregate's metadata; the `availability_zone` key puts its hosts in that zone. */
export interface AggregateMetadataRow {
  aggregate_id: number;
  key: string;
  value: string;
}

/** A control service (nova-conductor, nova-scheduler) of a host, alive while its heartbeat is fresh. */
export interface ControlServiceRow {
  host: string;
  binary: string;
  service_id: string;
  last_heartbeat: string;
  created_at: string;
}

export interface ComputeTables {
  compute_flavor: FlavorRow;
  compute_flavor_extra_spec: FlavorExtraSpecRow;
  compute_flavor_access: FlavorAccessRow;
  compute_keypair: KeypairRow;
  compute_instance: InstanceRow;
  compute_host: ComputeHostRow;
  compute_allocation: AllocationRow;
  compute_instance_action: InstanceActionRow;
  compute_instance_action_event: InstanceActionEventRow;
  compute_server_group: ServerGroupRow;
  compute_server_group_member: ServerGroupMemberRow;
  compute_quota: ComputeQuotaRow;
  compute_instance_password: InstancePasswordRow;
  compute_console_auth_token: ConsoleAuthTokenRow;
  compute_block_device_mapping: BlockDeviceMappingRow;
  compute_aggregate: AggregateRow;
  compute_aggregate_host: AggregateHostRow;
  compute_aggregate_metadata: AggregateMetadataRow;
  compute_control_service: ControlServiceRow;
}
