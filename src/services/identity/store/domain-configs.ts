import { type IdentityDb, parseJson } from './db.js';

/** Option values by option name, by group name: `{ ldap: { url: '...' } }`. */
export type DomainConfig = Record<string, Record<string, unknown>>;

/** Domain-specific configuration, one JSON document per domain. */
export class DomainConfigStore {
  constructor(private readonly db: IdentityDb) {}

  async get(domainId: string): Promise<DomainConfig | undefined> {
    const row = await this.db.selectFrom('identity_domain_config').selectAll().where('domain_id', '=', domainId).executeTakeFirst();
    return row && parseJson<DomainConfig>(row.config, {});
  }

  /**
   * Replaces the whole document in one statement, so a reader at the same moment sees the old
   * or the new one, never none; an empty one removes the row, so "no config" has one meaning.
   */
  async put(domainId: string, config: DomainConfig): Promise<void> {
    if (Object.keys(config).length === 0) return this.delete(domainId);
    const document = JSON.stringify(config);
    await this.db
      .insertInto('identity_domain_config')
      .values({ domain_id: domainId, config: document })
      .onConflict((oc) => oc.column('domain_id').doUpdateSet({ config: document }))
      .execute();
  }

  async delete(domainId: string): Promise<void> {
    await this.db.deleteFrom('identity_domain_config').where('domain_id', '=', domainId).execute();
  }
}
