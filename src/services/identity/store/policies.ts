import type { PolicyRow } from '../tables.js';
import type { IdentityDb } from './db.js';

export type PolicyBlob = PolicyRow;

/** /v3/policies: opaque blobs Keystone stores for other services and never interprets. */
export class PolicyStore {
  constructor(private readonly db: IdentityDb) {}

  async create(policy: PolicyBlob): Promise<void> {
    await this.db.insertInto('identity_policy').values(policy).execute();
  }

  async get(id: string): Promise<PolicyBlob | undefined> {
    return this.db.selectFrom('identity_policy').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: { type?: string } = {}): Promise<PolicyBlob[]> {
    let q = this.db.selectFrom('identity_policy').selectAll().orderBy('id');
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    return q.execute();
  }

  async update(policy: PolicyBlob): Promise<void> {
    await this.db.updateTable('identity_policy').set(policy).where('id', '=', policy.id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('identity_policy').where('id', '=', id).execute();
  }
}
