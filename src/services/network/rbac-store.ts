import type { Kysely } from 'kysely';
import type { NetworkTables, RbacRow } from './tables.js';

export const WILDCARD = '*';
export type RbacAction = 'access_as_shared' | 'access_as_external';

/** RBAC entries (Neutron's networkrbacs), SQL only. */
export class RbacRecords {
  constructor(private readonly db: Kysely<NetworkTables>) {}

  async create(row: RbacRow): Promise<void> {
    await this.db.insertInto('network_rbac').values(row).execute();
  }

  /** Adds an entry unless the same one exists (a flag set twice is one entry). */
  async ensure(row: RbacRow): Promise<void> {
    await this.db
      .insertInto('network_rbac')
      .values(row)
      .onConflict((oc) => oc.columns(['object_type', 'object_id', 'action', 'target_project']).doNothing())
      .execute();
  }

  async get(id: string): Promise<RbacRow | undefined> {
    return this.db.selectFrom('network_rbac').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: { projectId?: string; objectIds?: string[]; objectType?: string; targets?: string[] } = {}): Promise<RbacRow[]> {
    let q = this.db.selectFrom('network_rbac').selectAll();
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.objectType !== undefined) q = q.where('object_type', '=', filter.objectType);
    if (filter.objectIds && filter.objectIds.length === 0) return [];
    // A long id list (every network an admin lists) is filtered here, not in one huge IN.
    const inSql = filter.objectIds !== undefined && filter.objectIds.length <= 500;
    if (inSql) q = q.where('object_id', 'in', filter.objectIds as string[]);
    if (filter.targets) q = q.where('target_project', 'in', filter.targets);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    if (inSql || !filter.objectIds) return rows;
    const wanted = new Set(filter.objectIds);
    return rows.filter((r) => wanted.has(r.object_id));
  }

  async updateTarget(id: string, target: string): Promise<void> {
    await this.db.updateTable('network_rbac').set({ target_project: target }).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('network_rbac').where('id', '=', id).execute();
  }

  async deleteWildcard(objectType: string, objectId: string, action: RbacAction): Promise<void> {
    await this.db
      .deleteFrom('network_rbac')
      .where('object_type', '=', objectType)
      .where('object_id', '=', objectId)
      .where('action', '=', action)
      .where('target_project', '=', WILDCARD)
      .execute();
  }

  async deleteFor(objectType: string, objectId: string): Promise<void> {
    await this.db.deleteFrom('network_rbac').where('object_type', '=', objectType).where('object_id', '=', objectId).execute();
  }
}
