import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, SCHEMA_LOCK_KEY, type Database } from '../../src/core/db/database.js';

export interface DatabaseUnderTest {
  name: 'sqlite' | 'postgres';
  /** Why this engine is skipped here, if it is. */
  skip: string | false;
  open(): Promise<{ database: Database; url: string; schema?: string; dispose(): Promise<void> }>;
}

const PG_URL = process.env.KUMO_TEST_DATABASE_URL;

/**
 * The engines every shared store suite runs on: SQLite always, PostgreSQL when
 * KUMO_TEST_DATABASE_URL names one (CI sets it). Each open gets a fresh file or schema.
 */
export const DATABASES: DatabaseUnderTest[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'kumo-db-'));
      const url = `sqlite:${join(dir, 'test.sqlite')}`;
      const database = await openDatabase(url);
      return {
        database,
        url,
        async dispose() {
          await database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: PG_URL ? false : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)',
    async open() {
      const url = PG_URL as string;
      const schema = `kumo_test_${randomBytes(6).toString('hex')}`;
      const database = await openDatabase(url, { schema });
      return {
        database,
        url,
        schema,
        async dispose() {
          await database.close();
          await dropSchema(url, schema);
        },
      };
    },
  },
];

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Under the lock migrations hold: they read every schema's catalog, and fail on one dropped meanwhile.
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
  } finally {
    await client.end();
  }
}
