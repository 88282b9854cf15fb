import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../../core/db/database.js';
import type { ComputeTables, FlavorRow } from '../tables.js';

/** Why a flavor insert was refused: its name or its id is taken. */
export type FlavorClash = 'name' | 'id';

/** Flavors, their extra specs and the access lists of private ones (SQL only; the rules live in flavors.ts and flavor-extras.ts). */
export class FlavorRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async get(id: string): Promise<FlavorRow | undefined> {
    return this.db.selectFrom('compute_flavor').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(): Promise<FlavorRow[]> {
    return this.db.selectFrom('compute_flavor').selectAll().execute();
  }

  async any(): Promise<boolean> {
    return (await this.db.selectFrom('compute_flavor').select('id').limit(1).executeTakeFirst()) !== undefined;
  }

  /** Inserts the flavor; which of name or id clashed when one did. */
  async insert(row: FlavorRow): Promise<FlavorClash | undefined> {
    try {
      await this.db.insertInto('compute_flavor').values(row).execute();
      return undefined;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // The constraint's name differs by engine; which one clashed is read back instead.
      const byName = await this.db.selectFrom('compute_flavor').select('id').where('name', '=', row.name).executeTakeFirst();
      return byName ? 'name' : 'id';
    }
  }

  /** One multi-row insert that skips rows whose keys exist. */
  async insertMissing(rows: FlavorRow[]): Promise<void> {
    await this.db.insertInto('compute_flavor').values(rows).onConflict((oc) => oc.doNothing()).execute();
  }

  /** The flavor with its extra specs and access list, in one transaction; false when there was no such flavor. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const deleted = await tx.deleteFrom('compute_flavor').where('id', '=', id).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await tx.deleteFrom('compute_flavor_extra_spec').where('flavor_id', '=', id).execute();
      await tx.deleteFrom('compute_flavor_access').where('flavor_id', '=', id).execute();
      return true;
    });
  }

  async extraSpecs(flavorId: string): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('compute_flavor_extra_spec').select(['key', 'value']).where('flavor_id', '=', flavorId).execute();
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** Sets each spec, all in one transaction. */
  async upsertExtraSpecs(flavorId: string, values: Record<string, string>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (const [key, value] of Object.entries(values)) {
        await tx
          .insertInto('compute_flavor_extra_spec')
          .values({ flavor_id: flavorId, key, value })
          .onConflict((oc) => oc.columns(['flavor_id', 'key']).doUpdateSet({ value }))
          .execute();
      }
    });
  }

  /** False when the flavor had no such spec. */
  async deleteExtraSpec(flavorId: string, key: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('compute_flavor_extra_spec').where('flavor_id', '=', flavorId).where('key', '=', key).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  async hasAccess(flavorId: string, projectId: string): Promise<boolean> {
    const access = await this.db
      .selectFrom('compute_flavor_access')
      .select('project_id')
      .where('flavor_id', '=', flavorId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return access !== undefined;
  }

  /** The projects a flavor is granted to, sorted. */
  async accessOf(flavorId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('compute_flavor_access').select('project_id').where('flavor_id', '=', flavorId).orderBy('project_id').execute();
    return rows.map((r) => r.project_id);
  }

  /** The flavors granted to a project. */
  async grantedTo(projectId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('compute_flavor_access').select('flavor_id').where('project_id', '=', projectId).execute();
    return new Set(rows.map((r) => r.flavor_id));
  }

  /** False when the project already had access. */
  async grant(flavorId: string, projectId: string): Promise<boolean> {
    try {
      await this.db.insertInto('compute_flavor_access').values({ flavor_id: flavorId, project_id: projectId }).execute();
      return true;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return false;
    }
  }

  /** False when the project had no access to revoke. */
  async revoke(flavorId: string, projectId: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('compute_flavor_access').where('flavor_id', '=', flavorId).where('project_id', '=', projectId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }
}
