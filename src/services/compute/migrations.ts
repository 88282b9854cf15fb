import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

async function initial(db: Kysely<unknown>): Promise<void> {
  const s = db.schema;
  await s
    .createTable('compute_flavor')
    .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('root_gb', 'integer', (c) => c.notNull())
    .addColumn('ephemeral_gb', 'integer', (c) => c.notNull())
    .addColumn('swap', 'integer', (c) => c.notNull())
    .addColumn('rxtx_factor', 'double precision', (c) => c.notNull())
    .addColumn('is_public', 'integer', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await s
    .createTable('compute_flavor_extra_spec')
    .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_flavor_extra_spec_pk', ['flavor_id', 'key'])
    .execute();
  await s
    .createTable('compute_flavor_access')
    .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_flavor_access_pk', ['flavor_id', 'project_id'])
    .execute();
  await s
    .createTable('compute_keypair')
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_keypair_pk', ['user_id', 'name'])
    .execute();
  await s
    .createTable('compute_instance')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('flavor', 'text', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('new_flavor', 'text')
    .addColumn('old_flavor', 'text')
    .addColumn('image_ref', 'varchar(255)', (c) => c.notNull())
    .addColumn('host', 'varchar(255)')
    .addColumn('availability_zone', 'varchar(255)')
    .addColumn('vm_state', 'varchar(32)', (c) => c.notNull())
    .addColumn('task_state', 'varchar(64)')
    .addColumn('power_state', 'integer', (c) => c.notNull())
    .addColumn('key_name', 'varchar(255)')
    .addColumn('key_data', 'text')
    .addColumn('user_data', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('security_groups', 'text', (c) => c.notNull())
    .addColumn('requested_networks', 'text', (c) => c.notNull())
    .addColumn('scheduler_hints', 'text', (c) => c.notNull())
    .addColumn('config_drive', 'varchar(16)', (c) => c.notNull())
    .addColumn('locked', 'integer', (c) => c.notNull())
    .addColumn('locked_by', 'varchar(16)')
    .addColumn('reservation_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('launch_index', 'integer', (c) => c.notNull())
    .addColumn('fault', 'text')
    .addColumn('attempted_hosts', 'text', (c) => c.notNull())
    .addColumn('access_ip_v4', 'varchar(64)', (c) => c.notNull())
    .addColumn('access_ip_v6', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('launched_at', 'varchar(40)')
    .addColumn('terminated_at', 'varchar(40)')
    .addColumn('deleted', 'integer', (c) => c.notNull())
    .execute();
  await s.createIndex('compute_instance_project').on('compute_instance').columns(['project_id', 'deleted']).execute();
  await s.createIndex('compute_instance_host').on('compute_instance').columns(['host', 'deleted']).execute();
  await s
    .createTable('compute_host')
    .addColumn('host', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('service_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('node_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
    .addColumn('hypervisor_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('hypervisor_version', 'integer', (c) => c.notNull())
    .addColumn('host_ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('local_gb', 'integer', (c) => c.notNull())
    .addColumn('vcpus_used', 'integer', (c) => c.notNull())
    .addColumn('memory_mb_used', 'integer', (c) => c.notNull())
    .addColumn('local_gb_used', 'integer', (c) => c.notNull())
    .addColumn('running_vms', 'integer', (c) => c.notNull())
    .addColumn('cpu_allocation_ratio', 'double precision', (c) => c.notNull())
    .addColumn('ram_allocation_ratio', 'double precision', (c) => c.notNull())
    .addColumn('disk_allocation_ratio', 'double precision', (c) => c.notNull())
    .addColumn('reserved_host_memory_mb', 'integer', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'varchar(255)')
    .addColumn('forced_down', 'integer', (c) => c.notNull())
    .addColumn('last_heartbeat', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await s
    .createTable('compute_allocation')
    .addColumn('instance_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('vcpus', 'integer', (c) => c.notNull())
    .addColumn('memory_mb', 'integer', (c) => c.notNull())
    .addColumn('disk_gb', 'integer', (c) => c.notNull())
    .execute();
  await s.createIndex('compute_allocation_host').on('compute_allocation').column('host').execute();
  await s
    .createTable('compute_instance_action')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('start_time', 'varchar(40)', (c) => c.notNull())
    .addColumn('finish_time', 'varchar(40)')
    .addColumn('message', 'varchar(255)')
    .execute();
  await s.createIndex('compute_instance_action_instance').on('compute_instance_action').column('instance_id').execute();
  await s
    .createTable('compute_instance_action_event')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('action_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('event', 'varchar(255)', (c) => c.notNull())
    .addColumn('start_time', 'varchar(40)', (c) => c.notNull())
    .addColumn('finish_time', 'varchar(40)')
    .addColumn('result', 'varchar(32)')
    .addColumn('host', 'varchar(255)')
    .addColumn('traceback', 'text')
    .execute();
  await s.createIndex('compute_instance_action_event_action').on('compute_instance_action_event').column('action_id').execute();
  await s
    .createTable('compute_server_group')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('policy', 'varchar(32)', (c) => c.notNull())
    .addColumn('rules', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await s
    .createTable('compute_server_group_member')
    .addColumn('group_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_server_group_member_pk', ['group_id', 'instance_id'])
    .execute();
  await s
    .createTable('compute_quota')
    .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource', 'varchar(64)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_quota_pk', ['project_id', 'resource'])
    .execute();
}

/**
 * The password a guest posts to the metadata service (Nova keeps it in system_metadata as
 * password_0..3): one row per instance, written once, so "set only once" is the primary key.
 */
async function instancePassword(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_instance_password')
    .addColumn('instance_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('password', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

/**
 * Nova's console_auth_tokens: what a console URL's token opens (the token itself is never
 * stored, only its SHA-256), for one instance on one host, until it expires.
 */
async function consoleAuthToken(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_console_auth_token')
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('console_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('unix_socket', 'text')
    .addColumn('target_host', 'varchar(255)')
    .addColumn('target_port', 'integer')
    .addColumn('compute_host', 'varchar(255)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('compute_console_auth_token_instance').on('compute_console_auth_token').column('instance_id').execute();
  await db.schema.createIndex('compute_console_auth_token_expires').on('compute_console_auth_token').column('expires_at').execute();
}

/**
 * Nova's block_device_mapping: the volumes an instance has (at boot or attached later), each
 * with its Cinder attachment and, once the volume service answered, its connection info.
 * One volume is mapped to an instance at most once (Nova's 400 "already attached").
 */
async function blockDeviceMapping(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_block_device_mapping')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('instance_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('volume_id', 'varchar(36)')
    .addColumn('attachment_id', 'varchar(36)')
    .addColumn('device_name', 'varchar(64)')
    .addColumn('source_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('destination_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('boot_index', 'integer')
    .addColumn('delete_on_termination', 'integer', (c) => c.notNull())
    .addColumn('volume_size', 'integer')
    .addColumn('image_id', 'varchar(36)')
    .addColumn('snapshot_id', 'varchar(36)')
    .addColumn('tag', 'varchar(60)')
    .addColumn('connection_info', 'text')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('compute_bdm_instance').on('compute_block_device_mapping').column('instance_id').execute();
  await db.schema.createIndex('compute_bdm_instance_volume').on('compute_block_device_mapping').columns(['instance_id', 'volume_id']).unique().execute();
}

/** Nova's aggregates, their hosts and metadata. A host is in an aggregate at most once. */
async function aggregates(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_aggregate')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)')
    .execute();
  await db.schema
    .createTable('compute_aggregate_host')
    .addColumn('aggregate_id', 'integer', (c) => c.notNull())
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_aggregate_host_pk', ['aggregate_id', 'host'])
    .execute();
  await db.schema.createIndex('compute_aggregate_host_host').on('compute_aggregate_host').column('host').execute();
  await db.schema
    .createTable('compute_aggregate_metadata')
    .addColumn('aggregate_id', 'integer', (c) => c.notNull())
    .addColumn('key', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_aggregate_metadata_pk', ['aggregate_id', 'key'])
    .execute();
}

/** The conductor's and scheduler's services, one row per host and binary, for os-services. */
async function controlServices(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('compute_control_service')
    .addColumn('host', 'varchar(255)', (c) => c.notNull())
    .addColumn('binary', 'varchar(64)', (c) => c.notNull())
    .addColumn('service_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('last_heartbeat', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('compute_control_service_pk', ['host', 'binary'])
    .execute();
}

export const computeMigrations: MigrationSet = {
  'compute-0001-initial': { up: initial },
  'compute-0002-instance-password': { up: instancePassword },
  'compute-0003-console-auth-token': { up: consoleAuthToken },
  'compute-0004-block-device-mapping': { up: blockDeviceMapping },
  'compute-0005-aggregates': { up: aggregates },
  'compute-0006-control-services': { up: controlServices },
};
