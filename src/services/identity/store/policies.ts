import type { PolicyRow } from '../tables.js';
import { type IdentityDb, parseJson } from './db.js';

export interface PolicyBlob {
  id: string;
  type: string;
  blob: string;
  /** Attributes beyond type and blob that the caller gave (Keystone keeps and returns them). */
  extra: Record<string, unknown>;
}

const toRow = (p: PolicyBlob): PolicyRow => ({ id: p.id, type: p.type, blob: p.blob, extra: JSON.stringify(p.extra) });
const fromRow = (r: PolicyRow): PolicyBlob => ({ id: r.id, type: r.type, blob: r.blob, extra: parseJson(r.extra, {}) });

/** /v3/policies: opaque blobs Keystone stores for other services and never interprets. */
export class PolicyStore {
  constructor(private readonly db: IdentityDb) {}

  async create(policy: PolicyBlob): Promise<void> {
    await this.db.insertInto('identity_policy').values(toRow(policy)).execute();
  }

  async get(id: string): Promise<PolicyBlob | undefined> {
    const row = await this.db.selectFrom('identity_policy').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async list(filter: { type?: string } = {}): Promise<PolicyBlob[]> {
    let q = this.db.selectFrom('identity_policy').selectAll().orderBy('id');
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    return (await q.execute()).map(fromRow);
  }

  async update(policy: PolicyBlob): Promise<void> {
    await this.db.updateTable('identity_policy').set(toRow(policy)).where('id', '=', policy.id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('identity_policy').where('id', '=', id).execute();
  }
}
