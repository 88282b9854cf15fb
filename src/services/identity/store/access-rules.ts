import { newHexId } from '../../../core/ids.js';
import type { AccessRule } from '../model.js';
import type { AccessRuleRow } from '../tables.js';
import { type IdentityDb, parseJson } from './db.js';

/**
 * The creation time a new rule is stamped with, strictly later than the last one this process
 * stamped: rules made in one request (one millisecond) must still list in the order they were
 * made, as Keystone lists them (by its row sequence). Rules show no creation time, so the bump
 * is never seen.
 */
let lastStamp = 0;
function creationStamp(): string {
  lastStamp = Math.max(Date.now(), lastStamp + 1);
  return new Date(lastStamp).toISOString();
}

/** Application credentials' access rules, each a user's own and named by id from their credentials. */
export class AccessRuleStore {
  constructor(private readonly db: IdentityDb) {}

  /** The user's rule of this service, path and method: the one there is, or a new one. */
  async findOrCreate(userId: string, rule: Pick<AccessRule, 'service' | 'path' | 'method'>): Promise<AccessRule> {
    const existing = await this.find(userId, rule);
    if (existing) return existing;
    const made: AccessRule = { id: newHexId(), userId, ...rule };
    await this.db
      .insertInto('identity_access_rule')
      .values({ id: made.id, user_id: userId, service: rule.service, path: rule.path, method: rule.method, created_at: creationStamp() })
      .onConflict((oc) => oc.columns(['user_id', 'service', 'path', 'method']).doNothing())
      .execute();
    // Another request may have made the same rule a moment before: that one is the rule.
    return (await this.find(userId, rule)) ?? made;
  }

  async get(userId: string, id: string): Promise<AccessRule | undefined> {
    const row = await this.db.selectFrom('identity_access_rule').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return row && toRule(row);
  }

  async list(userId: string, ids?: readonly string[]): Promise<AccessRule[]> {
    if (ids && ids.length === 0) return [];
    let q = this.db.selectFrom('identity_access_rule').selectAll().where('user_id', '=', userId);
    if (ids) q = q.where('id', 'in', [...ids]);
    const rules = (await q.orderBy('created_at').orderBy('id').execute()).map(toRule);
    // A credential's rules come back in the order it named them.
    return ids ? ids.flatMap((id) => rules.filter((r) => r.id === id)) : rules;
  }

  /** Whether one of the user's application credentials names the rule. */
  async inUse(userId: string, id: string): Promise<boolean> {
    const rows = await this.db.selectFrom('identity_application_credential').select('access_rules').where('user_id', '=', userId).where('access_rules', 'is not', null).execute();
    return rows.some((r) => parseJson<string[]>(r.access_rules, []).includes(id));
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('identity_access_rule').where('id', '=', id).execute();
  }

  private async find(userId: string, rule: Pick<AccessRule, 'service' | 'path' | 'method'>): Promise<AccessRule | undefined> {
    const row = await this.db
      .selectFrom('identity_access_rule')
      .selectAll()
      .where('user_id', '=', userId)
      .where('service', '=', rule.service)
      .where('path', '=', rule.path)
      .where('method', '=', rule.method)
      .executeTakeFirst();
    return row && toRule(row);
  }
}

function toRule(row: AccessRuleRow): AccessRule {
  return { id: row.id, userId: row.user_id, service: row.service, path: row.path, method: row.method };
}
