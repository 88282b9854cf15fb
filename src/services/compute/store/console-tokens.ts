import type { Kysely } from 'kysely';
import type { ComputeTables, ConsoleAuthTokenRow } from '../tables.js';

/** Console auth token rows, keyed by the token's hash (SQL only; tokens and their rules live in console-tokens.ts). */
export class ConsoleTokenRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async deleteExpired(now: Date): Promise<void> {
    await this.db.deleteFrom('compute_console_auth_token').where('expires_at', '<=', now.toISOString()).execute();
  }

  async insert(row: ConsoleAuthTokenRow): Promise<void> {
    await this.db.insertInto('compute_console_auth_token').values(row).execute();
  }

  async byHash(tokenHash: string): Promise<ConsoleAuthTokenRow | undefined> {
    return this.db.selectFrom('compute_console_auth_token').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  async deleteByHash(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('compute_console_auth_token').where('token_hash', '=', tokenHash).execute();
  }
}
