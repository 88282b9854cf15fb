import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

/**
 * Names sort as Swift sorts them, by their UTF-8 bytes: SQLite's BINARY collation does, and on
 * PostgreSQL the "C" collation does (the database's default may be a locale's).
 */
function nameType(db: Kysely<unknown>, length: number) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return postgres ? sql`varchar(${sql.raw(String(length))}) collate "C"` : sql`varchar(${sql.raw(String(length))})`;
}

async function initial(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('object_account')
    .addColumn('account', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(20)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('object_container')
    .addColumn('account', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', nameType(db, 256), (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(20)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(20)', (c) => c.notNull())
    .addColumn('object_count', 'bigint', (c) => c.notNull())
    .addColumn('bytes_used', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('object_container_pk', ['account', 'name'])
    .execute();
  // The primary key is the listing index: (account, container, name) walked from a marker.
  await db.schema
    .createTable('object_object')
    .addColumn('account', 'varchar(255)', (c) => c.notNull())
    .addColumn('container', nameType(db, 256), (c) => c.notNull())
    .addColumn('name', nameType(db, 1024), (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('etag', 'varchar(64)', (c) => c.notNull())
    .addColumn('content_type', 'varchar(256)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(20)', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('file', 'varchar(64)', (c) => c.notNull())
    .addColumn('slo', 'integer', (c) => c.notNull())
    .addColumn('delete_at', 'bigint')
    .addPrimaryKeyConstraint('object_object_pk', ['account', 'container', 'name'])
    .execute();
  await db.schema.createIndex('object_object_delete_at').on('object_object').column('delete_at').execute();
}

export const objectMigrations: MigrationSet = {
  'object-0001-initial': { up: initial },
};
