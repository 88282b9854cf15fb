import { type IdentityDb, nowIso } from './db.js';

/** Which bootstrap steps a database has had: rows every process of a deployment shares. */
export class BootstrapStore {
  constructor(private readonly db: IdentityDb) {}

  async isDone(step: string): Promise<boolean> {
    const row = await this.db.selectFrom('identity_bootstrap').select('name').where('name', '=', step).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Records `step` unless it already is; true when this call recorded it. Inside a transaction a
   * concurrent claimer waits for ours to end, and then finds the row (commit) or takes it (rollback).
   */
  async claim(step: string): Promise<boolean> {
    const result = await this.db
      .insertInto('identity_bootstrap')
      .values({ name: step, completed_at: nowIso() })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }
}
