import type { Kysely } from 'kysely';
import type { SecurityGroupRow, SecurityGroupRuleRow, NetworkTables } from './tables.js';

/** Security groups and their rules (SQL only). */
export class SecurityGroupRecords {
  constructor(private readonly db: Kysely<NetworkTables>) {}

  async create(group: SecurityGroupRow, rules: SecurityGroupRuleRow[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_security_group').values(group).execute();
      if (rules.length > 0) await tx.insertInto('network_security_group_rule').values(rules).execute();
    });
  }

  /** The id of the project's `default` group, if it has one yet. */
  async defaultOf(projectId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('network_default_security_group')
      .select('security_group_id')
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return row?.security_group_id;
  }

  /**
   * Creates the group as its project's `default`, all or nothing. Fails with the database's
   * unique violation when another request made the project's default first.
   */
  async createDefault(group: SecurityGroupRow, rules: SecurityGroupRuleRow[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_default_security_group').values({ project_id: group.project_id, security_group_id: group.id }).execute();
      await tx.insertInto('network_security_group').values(group).execute();
      if (rules.length > 0) await tx.insertInto('network_security_group_rule').values(rules).execute();
    });
  }

  async get(id: string): Promise<SecurityGroupRow | undefined> {
    return this.db.selectFrom('network_security_group').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: { projectId?: string; name?: string; ids?: string[] } = {}): Promise<SecurityGroupRow[]> {
    let q = this.db.selectFrom('network_security_group').selectAll();
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    return q.orderBy('created_at').execute();
  }

  async update(group: SecurityGroupRow): Promise<void> {
    const { id, ...row } = group;
    await this.db.updateTable('network_security_group').set(row).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_security_group_rule').where('security_group_id', '=', id).execute();
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_default_security_group').where('security_group_id', '=', id).execute();
      await tx.deleteFrom('network_security_group').where('id', '=', id).execute();
    });
  }

  async rules(filter: { groupIds?: string[]; ids?: string[] } = {}): Promise<SecurityGroupRuleRow[]> {
    let q = this.db.selectFrom('network_security_group_rule').selectAll();
    if (filter.groupIds !== undefined) {
      if (filter.groupIds.length === 0) return [];
      q = q.where('security_group_id', 'in', filter.groupIds);
    }
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    return q.orderBy('created_at').execute();
  }

  async addRule(rule: SecurityGroupRuleRow): Promise<void> {
    await this.db.insertInto('network_security_group_rule').values(rule).execute();
  }

  async deleteRule(id: string): Promise<void> {
    await this.db.deleteFrom('network_security_group_rule').where('id', '=', id).execute();
  }

  async portsUsing(groupId: string): Promise<number> {
    const row = await this.db
      .selectFrom('network_port_security_group')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('security_group_id', '=', groupId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
