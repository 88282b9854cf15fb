import type { Trust } from '../model.js';
import type { TrustRow } from '../tables.js';
import { type IdentityDb, nowIso, parseJson, toBool, toInt } from './db.js';

/** OS-TRUST trusts. Deleted ones stay as rows (Keystone soft-deletes them) but are never returned. */
export class TrustStore {
  constructor(private readonly db: IdentityDb) {}

  async create(trust: Trust): Promise<void> {
    await this.db
      .insertInto('identity_trust')
      .values({ ...trustRow(trust), created_at: nowIso(), deleted_at: null })
      .execute();
  }

  async get(id: string): Promise<Trust | undefined> {
    const row = await this.db.selectFrom('identity_trust').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    return row && toTrust(row);
  }

  async list(filter: { trustorUserId?: string; trusteeUserId?: string } = {}): Promise<Trust[]> {
    let q = this.db.selectFrom('identity_trust').selectAll().where('deleted_at', 'is', null).orderBy('created_at').orderBy('id');
    if (filter.trustorUserId !== undefined) q = q.where('trustor_user_id', '=', filter.trustorUserId);
    if (filter.trusteeUserId !== undefined) q = q.where('trustee_user_id', '=', filter.trusteeUserId);
    return (await q.execute()).map(toTrust);
  }

  /** Marks it deleted; false when there was no such live trust. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.updateTable('identity_trust').set({ deleted_at: nowIso() }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Takes one use of a trust with limited uses, in one statement so that two logins racing for
   * the last use cannot both get it. True when a use was taken (or the trust is unlimited).
   */
  async consumeUse(id: string): Promise<boolean> {
    const trust = await this.get(id);
    if (!trust) return false;
    if (trust.remainingUses === null) return true;
    const result = await this.db
      .updateTable('identity_trust')
      .set((eb) => ({ remaining_uses: eb('remaining_uses', '-', 1) }))
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .where('remaining_uses', '>', 0)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}

function trustRow(t: Trust): Omit<TrustRow, 'created_at' | 'deleted_at'> {
  return {
    id: t.id,
    trustor_user_id: t.trustorUserId,
    trustee_user_id: t.trusteeUserId,
    project_id: t.projectId,
    impersonation: toInt(t.impersonation),
    expires_at: t.expiresAt,
    remaining_uses: t.remainingUses,
    roles: JSON.stringify(t.roleIds),
    allow_redelegation: toInt(t.allowRedelegation),
    redelegation_count: t.redelegationCount,
    redelegated_trust_id: t.redelegatedTrustId,
  };
}

function toTrust(row: TrustRow): Trust {
  return {
    id: row.id,
    trustorUserId: row.trustor_user_id,
    trusteeUserId: row.trustee_user_id,
    projectId: row.project_id,
    impersonation: toBool(row.impersonation),
    expiresAt: row.expires_at,
    remainingUses: row.remaining_uses,
    roleIds: parseJson<string[]>(row.roles, []),
    allowRedelegation: toBool(row.allow_redelegation),
    redelegationCount: row.redelegation_count,
    redelegatedTrustId: row.redelegated_trust_id,
  };
}
