import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

async function initial(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('image_image')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)')
    .addColumn('status', 'varchar(30)', (c) => c.notNull())
    .addColumn('visibility', 'varchar(20)', (c) => c.notNull())
    .addColumn('protected', 'integer', (c) => c.notNull())
    .addColumn('os_hidden', 'integer', (c) => c.notNull())
    .addColumn('checksum', 'varchar(32)')
    .addColumn('os_hash_algo', 'varchar(64)')
    .addColumn('os_hash_value', 'varchar(128)')
    .addColumn('owner', 'varchar(255)')
    .addColumn('size', 'bigint')
    .addColumn('virtual_size', 'bigint')
    .addColumn('container_format', 'varchar(32)')
    .addColumn('disk_format', 'varchar(32)')
    .addColumn('min_ram', 'integer', (c) => c.notNull())
    .addColumn('min_disk', 'integer', (c) => c.notNull())
    .addColumn('store', 'varchar(64)')
    .addColumn('properties', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('image_image_owner').on('image_image').column('owner').execute();
  await db.schema
    .createTable('image_tag')
    .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('value', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_tag_pk', ['image_id', 'value'])
    .execute();
  await db.schema
    .createTable('image_member')
    .addColumn('image_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('member_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_member_pk', ['image_id', 'member_id'])
    .execute();
  await db.schema.createIndex('image_member_member').on('image_member').column('member_id').execute();
}

/** Who is moving an image's data while it is saving, uploading or importing (see transfers.ts). */
async function transferLease(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('image_image').addColumn('transfer_lease', 'varchar(255)').execute();
}

/**
 * Metadata definitions (metadefs): namespaces, the resource types they apply to, and their
 * objects, properties and tags. Each item keeps its JSON body; (namespace, kind, name) is unique,
 * so a duplicate is the database's refusal, not a race lost between a check and an insert.
 */
async function metadefs(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('image_metadef_namespace')
    .addColumn('namespace', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('display_name', 'varchar(80)')
    .addColumn('description', 'text')
    .addColumn('visibility', 'varchar(32)', (c) => c.notNull())
    .addColumn('protected', 'integer', (c) => c.notNull())
    .addColumn('owner', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('image_metadef_item')
    .addColumn('namespace', 'varchar(80)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_metadef_item_pk', ['namespace', 'kind', 'name'])
    .execute();
  await db.schema
    .createTable('image_metadef_resource_type')
    .addColumn('name', 'varchar(80)', (c) => c.primaryKey())
    .addColumn('protected', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('image_metadef_association')
    .addColumn('namespace', 'varchar(80)', (c) => c.notNull())
    .addColumn('resource_type', 'varchar(80)', (c) => c.notNull())
    .addColumn('prefix', 'varchar(80)')
    .addColumn('properties_target', 'varchar(80)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addPrimaryKeyConstraint('image_metadef_association_pk', ['namespace', 'resource_type'])
    .execute();
}

export const imageMigrations: MigrationSet = {
  'image-0001-initial': { up: initial },
  'image-0002-transfer-lease': { up: transferLease },
  'image-0003-metadefs': { up: metadefs },
};
