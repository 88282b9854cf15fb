import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../../core/db/database.js';
import type { ComputeTables, KeypairRow } from '../tables.js';

/** Key pairs, keyed by (user, name) (SQL only; the rules live in keypairs.ts). */
export class KeypairRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Inserts the key pair; false when the user already has one of that name. */
  async insert(row: KeypairRow): Promise<boolean> {
    try {
      await this.db.insertInto('compute_keypair').values(row).execute();
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return false;
    }
  }

  async get(userId: string, name: string): Promise<KeypairRow | undefined> {
    return this.db.selectFrom('compute_keypair').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  }

  /** A user's key pairs by name. */
  async list(userId: string): Promise<KeypairRow[]> {
    return this.db.selectFrom('compute_keypair').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }

  /** False when there was no such key pair. */
  async delete(userId: string, name: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('compute_keypair').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }
}
