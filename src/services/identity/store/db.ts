import type { Kysely } from 'kysely';
import type { Database } from '../../../core/db/database.js';
import type { IdentityTables } from '../tables.js';

export type IdentityDb = Kysely<IdentityTables>;

export function identityDb(database: Database): IdentityDb {
  return database.tables<IdentityTables>();
}

export const toInt = (b: boolean): number => (b ? 1 : 0);
export const toBool = (n: number | boolean | null | undefined): boolean => n === 1 || n === true;

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export const nowIso = (): string => new Date().toISOString();

/** Runs `work` in a transaction, or in the one `db` already belongs to (stores built on a transaction's handle). */
export function atomically<T>(db: IdentityDb, work: (tx: IdentityDb) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
