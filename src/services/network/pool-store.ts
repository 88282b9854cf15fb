import type { Kysely } from 'kysely';
import type { AddressScopeRow, NetworkTables, SubnetPoolRow } from './tables.js';

/** Address scopes and subnet pools (SQL only); tags live in the shared tag table. */
export class PoolRecords {
  constructor(private readonly db: Kysely<NetworkTables>) {}

  async createScope(row: AddressScopeRow): Promise<void> {
    await this.db.insertInto('network_address_scope').values(row).execute();
  }

  async getScope(id: string): Promise<AddressScopeRow | undefined> {
    return this.db.selectFrom('network_address_scope').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Every scope, or those of one project and the shared ones. */
  async listScopes(visibleTo?: string): Promise<AddressScopeRow[]> {
    let q = this.db.selectFrom('network_address_scope').selectAll();
    if (visibleTo !== undefined) q = q.where((eb) => eb.or([eb('project_id', '=', visibleTo), eb('shared', '=', 1)]));
    return q.orderBy('id').execute();
  }

  async updateScope(row: AddressScopeRow): Promise<void> {
    const { id, ...rest } = row;
    await this.db.updateTable('network_address_scope').set(rest).where('id', '=', id).execute();
  }

  async deleteScope(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_address_scope').where('id', '=', id).execute();
    });
  }

  async createPool(row: SubnetPoolRow): Promise<void> {
    await this.db.insertInto('network_subnetpool').values(row).execute();
  }

  async getPool(id: string): Promise<SubnetPoolRow | undefined> {
    return this.db.selectFrom('network_subnetpool').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listPools(filter: { visibleTo?: string; addressScopeId?: string; defaultFor?: number } = {}): Promise<SubnetPoolRow[]> {
    let q = this.db.selectFrom('network_subnetpool').selectAll();
    const project = filter.visibleTo;
    if (project !== undefined) q = q.where((eb) => eb.or([eb('project_id', '=', project), eb('shared', '=', 1)]));
    if (filter.addressScopeId !== undefined) q = q.where('address_scope_id', '=', filter.addressScopeId);
    if (filter.defaultFor !== undefined) q = q.where('is_default', '=', 1).where('ip_version', '=', filter.defaultFor);
    return q.orderBy('id').execute();
  }

  /** Written only if nobody changed the pool since `expectedRevision` was read. */
  async updatePool(row: SubnetPoolRow, expectedRevision: number): Promise<boolean> {
    const { id, ...rest } = row;
    const result = await this.db.updateTable('network_subnetpool').set(rest).where('id', '=', id).where('revision_number', '=', expectedRevision).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deletePool(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_subnetpool').where('id', '=', id).execute();
    });
  }
}
