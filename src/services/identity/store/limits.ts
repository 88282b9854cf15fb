import type { LimitRow, RegisteredLimitRow } from '../tables.js';
import type { IdentityDb } from './db.js';

export type RegisteredLimit = RegisteredLimitRow;
export type ProjectLimit = LimitRow;

/** Unified limits: registered defaults per service and resource, and per-project overrides. */
export class LimitStore {
  constructor(private readonly db: IdentityDb) {}

  async createRegistered(limit: RegisteredLimit): Promise<void> {
    await this.db.insertInto('identity_registered_limit').values(limit).execute();
  }

  async getRegistered(id: string): Promise<RegisteredLimit | undefined> {
    return this.db.selectFrom('identity_registered_limit').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listRegistered(filter: Partial<Pick<RegisteredLimit, 'service_id' | 'region_id' | 'resource_name'>> = {}): Promise<RegisteredLimit[]> {
    let q = this.db.selectFrom('identity_registered_limit').selectAll().orderBy('resource_name');
    if (filter.service_id !== undefined) q = q.where('service_id', '=', filter.service_id);
    if (filter.region_id !== undefined) q = q.where('region_id', '=', filter.region_id);
    if (filter.resource_name !== undefined) q = q.where('resource_name', '=', filter.resource_name);
    return q.execute();
  }

  async updateRegistered(limit: RegisteredLimit): Promise<void> {
    await this.db.updateTable('identity_registered_limit').set(limit).where('id', '=', limit.id).execute();
  }

  async deleteRegistered(id: string): Promise<void> {
    await this.db.deleteFrom('identity_registered_limit').where('id', '=', id).execute();
  }

  async createLimit(limit: ProjectLimit): Promise<void> {
    await this.db.insertInto('identity_limit').values(limit).execute();
  }

  async getLimit(id: string): Promise<ProjectLimit | undefined> {
    return this.db.selectFrom('identity_limit').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listLimits(filter: Partial<Pick<ProjectLimit, 'service_id' | 'region_id' | 'resource_name' | 'project_id'>> = {}): Promise<ProjectLimit[]> {
    let q = this.db.selectFrom('identity_limit').selectAll().orderBy('resource_name');
    if (filter.service_id !== undefined) q = q.where('service_id', '=', filter.service_id);
    if (filter.region_id !== undefined) q = q.where('region_id', '=', filter.region_id);
    if (filter.resource_name !== undefined) q = q.where('resource_name', '=', filter.resource_name);
    if (filter.project_id !== undefined) q = q.where('project_id', '=', filter.project_id);
    return q.execute();
  }

  async updateLimit(limit: ProjectLimit): Promise<void> {
    await this.db.updateTable('identity_limit').set(limit).where('id', '=', limit.id).execute();
  }

  async deleteLimit(id: string): Promise<void> {
    await this.db.deleteFrom('identity_limit').where('id', '=', id).execute();
  }
}
