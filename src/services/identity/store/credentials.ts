import type { ApplicationCredentialRow, RevocationEventRow } from '../tables.js';
import type { ApplicationCredential, RevocationEvent } from '../model.js';
import { type IdentityDb, nowIso, parseJson, toBool, toInt } from './db.js';

/** Application credentials and token revocation events. */
export class CredentialStore {
  constructor(private readonly db: IdentityDb) {}

  async createApplicationCredential(cred: ApplicationCredential): Promise<void> {
    await this.db
      .insertInto('identity_application_credential')
      .values({ ...appCredRow(cred), created_at: nowIso() })
      .execute();
  }

  async getApplicationCredential(id: string): Promise<ApplicationCredential | undefined> {
    const row = await this.db
      .selectFrom('identity_application_credential')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toAppCred(row);
  }

  async getApplicationCredentialByName(userId: string, name: string): Promise<ApplicationCredential | undefined> {
    const row = await this.db
      .selectFrom('identity_application_credential')
      .selectAll()
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toAppCred(row);
  }

  async listApplicationCredentials(userId: string, name?: string): Promise<ApplicationCredential[]> {
    let q = this.db.selectFrom('identity_application_credential').selectAll().where('user_id', '=', userId).orderBy('name');
    if (name !== undefined) q = q.where('name', '=', name);
    return (await q.execute()).map(toAppCred);
  }

  async deleteApplicationCredential(id: string): Promise<void> {
    await this.db.deleteFrom('identity_application_credential').where('id', '=', id).execute();
  }

  async addRevocationEvent(event: RevocationEvent): Promise<void> {
    const row: RevocationEventRow = {
      id: event.id,
      user_id: event.userId,
      project_id: event.projectId,
      domain_id: event.domainId,
      audit_id: event.auditId,
      issued_before: new Date(event.issuedBefore).toISOString(),
      revoked_at: new Date(event.revokedAt).toISOString(),
    };
    await this.db.insertInto('identity_revocation_event').values(row).execute();
  }

  async listRevocationEvents(since: number): Promise<RevocationEvent[]> {
    const rows = await this.db
      .selectFrom('identity_revocation_event')
      .selectAll()
      .where('revoked_at', '>=', new Date(since).toISOString())
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      projectId: r.project_id,
      domainId: r.domain_id,
      auditId: r.audit_id,
      issuedBefore: Date.parse(r.issued_before),
      revokedAt: Date.parse(r.revoked_at),
    }));
  }

  async pruneRevocationEvents(before: number): Promise<void> {
    await this.db.deleteFrom('identity_revocation_event').where('revoked_at', '<', new Date(before).toISOString()).execute();
  }
}

function appCredRow(c: ApplicationCredential): Omit<ApplicationCredentialRow, 'created_at'> {
  return {
    id: c.id,
    name: c.name,
    user_id: c.userId,
    project_id: c.projectId,
    secret_hash: c.secretHash,
    description: c.description,
    expires_at: c.expiresAt,
    unrestricted: toInt(c.unrestricted),
    roles: JSON.stringify(c.roleIds),
    access_rules: c.accessRuleIds.length > 0 ? JSON.stringify(c.accessRuleIds) : null,
  };
}

function toAppCred(row: ApplicationCredentialRow): ApplicationCredential {
  return {
    id: row.id,
    name: row.name,
    userId: row.user_id,
    projectId: row.project_id,
    secretHash: row.secret_hash,
    description: row.description,
    expiresAt: row.expires_at,
    unrestricted: toBool(row.unrestricted),
    roleIds: parseJson<string[]>(row.roles, []),
    accessRuleIds: parseJson<string[]>(row.access_rules, []),
  };
}
