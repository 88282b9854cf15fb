import type { CredentialRow } from '../tables.js';
import type { IdentityDb } from './db.js';

export type Credential = CredentialRow;

/** Keystone's /v3/credentials, EC2 keys included (type 'ec2'); distinct from application credentials. */
export class UserCredentialStore {
  constructor(private readonly db: IdentityDb) {}

  async create(cred: Credential): Promise<void> {
    await this.db.insertInto('identity_credential').values(cred).execute();
  }

  async get(id: string): Promise<Credential | undefined> {
    return this.db.selectFrom('identity_credential').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: Partial<Pick<Credential, 'user_id' | 'type' | 'project_id'>> = {}): Promise<Credential[]> {
    let q = this.db.selectFrom('identity_credential').selectAll().orderBy('id');
    if (filter.user_id !== undefined) q = q.where('user_id', '=', filter.user_id);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (filter.project_id !== undefined) q = q.where('project_id', '=', filter.project_id);
    return q.execute();
  }

  async update(cred: Credential): Promise<void> {
    await this.db.updateTable('identity_credential').set(cred).where('id', '=', cred.id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('identity_credential').where('id', '=', id).execute();
  }

  /** As Keystone, a deleted user takes its credentials along. */
  async deleteForUser(userId: string): Promise<void> {
    await this.db.deleteFrom('identity_credential').where('user_id', '=', userId).execute();
  }
}
