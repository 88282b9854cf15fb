import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { CooperativeSqliteDialect } from './cooperative-sqlite.js';

export type DatabaseKind = 'sqlite' | 'postgres';

/**
 * The one handle on the state store. Services see it through `tables<T>()`, each with
 * the table types it owns, so no service needs to know another's schema.
 */
export class Database {
  constructor(
    readonly kind: DatabaseKind,
    private readonly kysely: Kysely<object>,
    /** PostgreSQL: the schema this handle works in, when it has one of its own. */
    readonly schema?: string,
  ) {}

  tables<T extends object>(): Kysely<T> {
    return this.kysely as unknown as Kysely<T>;
  }

  /** True when the failure is a unique or primary-key violation, whatever the engine. */
  isUniqueViolation(error: unknown): boolean {
    return isUniqueViolation(error);
  }

  /**
   * Runs `work` in one transaction on a handle of its own: it commits when `work` resolves and
   * rolls back when it throws. Stores built on that handle join the transaction.
   */
  transaction<T>(work: (db: Database) => Promise<T>): Promise<T> {
    return this.kysely.transaction().execute((trx) => work(new Database(this.kind, trx, this.schema)));
  }

  /**
   * PostgreSQL: runs `work` while this process holds the server-wide lock on schema changes,
   * which every Kumo process (and the test helpers that drop schemas) takes around its DDL.
   * Kysely's migrator reads the catalog of every schema on the server (`has_schema_privilege`
   * by name), so a schema dropped meanwhile by another process fails it with 3F000; and two
   * processes of one cloud starting at once migrate one after the other. SQLite: just `work`.
   */
  async withSchemaLock<T>(work: () => Promise<T>): Promise<T> {
    if (this.kind !== 'postgres') return work();
    return this.kysely.connection().execute(async (session) => {
      await sql`select pg_advisory_lock(${SCHEMA_LOCK_KEY})`.execute(session);
      try {
        return await work();
      } finally {
        await sql`select pg_advisory_unlock(${SCHEMA_LOCK_KEY})`.execute(session);
      }
    });
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }
}

/** The advisory lock key of schema changes on a PostgreSQL server ('kumo' in ASCII). */
export const SCHEMA_LOCK_KEY = 0x6b756d6f;

export interface OpenOptions {
  /** PostgreSQL only: schema to create and use, so test runs can share one database. */
  schema?: string;
  poolSize?: number;
}

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgres(url, options);
  }
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  throw new Error(`unsupported database URL ${url}: use sqlite:PATH or postgres://...`);
}

function openSqlite(path: string): Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    keepPrivate(path);
  }
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return new Database('sqlite', new Kysely<object>({ dialect: new CooperativeSqliteDialect(sqlite) }));
}

/**
 * The file holds password hashes and EC2 secrets: its owner's alone, whatever the umask, and
 * also when an older version left it readable. SQLite gives the -wal and -shm files it makes
 * the database file's mode; ones an older version left behind are fixed here too.
 */
function keepPrivate(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

async function openPostgres(url: string, options: OpenOptions): Promise<Database> {
  // Loaded only here: an all-in-one on SQLite starts without it.
  const { default: pg } = await import('pg');
  if (options.schema !== undefined) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) throw new Error(`bad schema name ${options.schema}`);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema !== undefined ? { options: `-c search_path=${options.schema}` } : {}),
  });
  return new Database('postgres', new Kysely<object>({ dialect: new PostgresDialect({ pool }) }), options.schema);
}

/** True when the failure is a unique or primary-key violation, whatever the engine. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
