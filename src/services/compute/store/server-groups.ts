import type { Kysely } from 'kysely';
import type { ComputeTables, ServerGroupRow } from '../tables.js';

/** Server group rows and their members (SQL only; the rules live in server-groups.ts). */
export class ServerGroupRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async get(id: string): Promise<ServerGroupRow | undefined> {
    return this.db.selectFrom('compute_server_group').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Oldest first; one project's, or (null) every project's. */
  async list(projectId: string | null): Promise<ServerGroupRow[]> {
    let query = this.db.selectFrom('compute_server_group').selectAll().orderBy('created_at').orderBy('id');
    if (projectId !== null) query = query.where('project_id', '=', projectId);
    return query.execute();
  }

  async insert(row: ServerGroupRow): Promise<void> {
    await this.db.insertInto('compute_server_group').values(row).execute();
  }

  /** The group and its memberships, in one transaction. */
  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('compute_server_group_member').where('group_id', '=', id).execute();
      await tx.deleteFrom('compute_server_group').where('id', '=', id).execute();
    });
  }

  /** Each group's member instance ids, by group (every id asked for is a key). */
  async membersOf(ids: string[]): Promise<Map<string, string[]>> {
    const map = new Map<string, string[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return map;
    const rows = await this.db.selectFrom('compute_server_group_member').selectAll().where('group_id', 'in', ids).orderBy('instance_id').execute();
    for (const row of rows) map.get(row.group_id)?.push(row.instance_id);
    return map;
  }

  async addMembers(groupId: string, instanceIds: string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    await this.db
      .insertInto('compute_server_group_member')
      .values(instanceIds.map((instance_id) => ({ group_id: groupId, instance_id })))
      .execute();
  }

  async memberCount(groupId: string): Promise<number> {
    const row = await this.db
      .selectFrom('compute_server_group_member')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('group_id', '=', groupId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * The hosts of the group's live members other than `exceptInstance`: where each runs, or,
   * with `includeClaims`, where a member not yet placed holds its claim.
   */
  async memberHosts(groupId: string, exceptInstance: string, includeClaims: boolean): Promise<string[]> {
    const rows = await this.db
      .selectFrom('compute_server_group_member as m')
      .innerJoin('compute_instance as i', 'i.id', 'm.instance_id')
      .leftJoin('compute_allocation as a', 'a.instance_id', 'i.id')
      .select(['i.host as host', 'a.host as claimed'])
      .where('m.group_id', '=', groupId)
      .where('i.deleted', '=', 0)
      .where('i.id', '!=', exceptInstance)
      .execute();
    return rows.map((r) => r.host ?? (includeClaims ? r.claimed : null)).filter((h): h is string => h !== null);
  }
}
