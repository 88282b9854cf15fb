import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

async function initial(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('volume_volume')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)')
    .addColumn('description', 'varchar(255)')
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('bootable', 'integer', (c) => c.notNull())
    .addColumn('readonly', 'integer', (c) => c.notNull())
    .addColumn('multiattach', 'integer', (c) => c.notNull())
    .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
    .addColumn('host', 'varchar(255)')
    .addColumn('snapshot_id', 'varchar(36)')
    .addColumn('source_volid', 'varchar(36)')
    .addColumn('image_id', 'varchar(36)')
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('image_metadata', 'text', (c) => c.notNull())
    .addColumn('admin_metadata', 'text', (c) => c.notNull())
    .addColumn('error_reason', 'text')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_volume_project').on('volume_volume').column('project_id').execute();
  await db.schema
    .createTable('volume_type')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('description', 'varchar(255)')
    .addColumn('is_public', 'integer', (c) => c.notNull())
    .addColumn('extra_specs', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('volume_type_access')
    .addColumn('volume_type_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('volume_type_access_pk', ['volume_type_id', 'project_id'])
    .execute();
  await db.schema
    .createTable('volume_snapshot')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('volume_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)')
    .addColumn('description', 'varchar(255)')
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_snapshot_volume').on('volume_snapshot').column('volume_id').execute();
  await db.schema
    .createTable('volume_attachment')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('volume_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('instance_uuid', 'varchar(36)')
    .addColumn('attached_host', 'varchar(255)')
    .addColumn('mountpoint', 'varchar(255)')
    .addColumn('attach_mode', 'varchar(4)', (c) => c.notNull())
    .addColumn('attach_status', 'varchar(32)', (c) => c.notNull())
    .addColumn('connector', 'text')
    .addColumn('connection_info', 'text')
    .addColumn('attached_at', 'varchar(40)')
    .addColumn('detached_at', 'varchar(40)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_attachment_volume').on('volume_attachment').column('volume_id').execute();
  await db.schema
    .createTable('volume_backend')
    .addColumn('host', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('backend_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('driver', 'varchar(32)', (c) => c.notNull())
    .addColumn('availability_zone', 'varchar(255)', (c) => c.notNull())
    .addColumn('total_gb', 'integer', (c) => c.notNull())
    .addColumn('free_gb', 'integer', (c) => c.notNull())
    .addColumn('allocated_gb', 'integer', (c) => c.notNull())
    .addColumn('reserved_percentage', 'integer', (c) => c.notNull())
    .addColumn('max_over_subscription_ratio', 'real', (c) => c.notNull())
    .addColumn('thin', 'integer', (c) => c.notNull())
    .addColumn('online_extend', 'integer', (c) => c.notNull())
    .addColumn('multiattach', 'integer', (c) => c.notNull())
    .addColumn('storage_protocol', 'varchar(32)', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull())
    .addColumn('disabled_reason', 'varchar(255)')
    .addColumn('last_heartbeat', 'varchar(40)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('volume_quota')
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('resource', 'varchar(64)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('volume_quota_pk', ['project_id', 'resource'])
    .execute();
}

async function transfers(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('volume_transfer')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('volume_id', 'varchar(36)', (c) => c.notNull().unique())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)')
    .addColumn('salt', 'varchar(32)', (c) => c.notNull())
    .addColumn('key_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('no_snapshots', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_transfer_project').on('volume_transfer').column('project_id').execute();
}

async function messages(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('volume_message')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('resource_type', 'varchar(36)', (c) => c.notNull())
    .addColumn('resource_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('action_id', 'varchar(10)', (c) => c.notNull())
    .addColumn('detail_id', 'varchar(10)', (c) => c.notNull())
    .addColumn('message_level', 'varchar(255)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(255)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('volume_message_project').on('volume_message').column('project_id').execute();
}

async function qosSpecs(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('volume_qos_specs')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('consumer', 'varchar(16)', (c) => c.notNull())
    .addColumn('specs', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('volume_type').addColumn('qos_specs_id', 'varchar(36)').execute();
}

export const volumeMigrations: MigrationSet = {
  'volume-0001-initial': { up: initial },
  'volume-0002-transfers': { up: transfers },
  'volume-0003-messages': { up: messages },
  'volume-0004-qos-specs': { up: qosSpecs },
};
