import { mapInTurns } from '../../../core/cooperative.js';
import type { GroupRow, UserRow } from '../tables.js';
import type { Group, User } from '../model.js';
import { atomically, type IdentityDb, nowIso, parseJson, toBool, toInt } from './db.js';

export interface UserFilter {
  name?: string;
  domainId?: string;
  enabled?: boolean;
  ids?: string[];
}

/** Users, groups and group membership. */
export class UserStore {
  constructor(private readonly db: IdentityDb) {}

  async createUser(user: User): Promise<void> {
    const now = nowIso();
    await this.db
      .insertInto('identity_user')
      .values({ ...userRow(user), password_created_at: user.passwordHash ? now : null, created_at: now, failed_auth_count: 0, failed_auth_at: null })
      .execute();
    if (user.passwordHash) await this.addPasswordHistory(user.id, user.passwordHash);
  }

  /** Failed password attempts since the last success, for Keystone-style lockout. */
  async failedAuth(userId: string): Promise<{ count: number; at: number | null }> {
    const row = await this.db
      .selectFrom('identity_user')
      .select(['failed_auth_count', 'failed_auth_at'])
      .where('id', '=', userId)
      .executeTakeFirst();
    return { count: row?.failed_auth_count ?? 0, at: row?.failed_auth_at ? Date.parse(row.failed_auth_at) : null };
  }

  async recordFailedAuth(userId: string): Promise<void> {
    await this.db
      .updateTable('identity_user')
      .set((eb) => ({ failed_auth_count: eb('failed_auth_count', '+', 1), failed_auth_at: nowIso() }))
      .where('id', '=', userId)
      .execute();
  }

  async clearFailedAuth(userId: string): Promise<void> {
    await this.db.updateTable('identity_user').set({ failed_auth_count: 0, failed_auth_at: null }).where('id', '=', userId).execute();
  }

  /** The user's most recent password hashes, newest first. */
  async passwordHistory(userId: string, count: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('identity_password_history')
      .select('password_hash')
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .limit(count)
      .execute();
    return rows.map((r) => r.password_hash);
  }

  async addPasswordHistory(userId: string, passwordHash: string): Promise<void> {
    await this.db.insertInto('identity_password_history').values({ user_id: userId, password_hash: passwordHash, created_at: nowIso() }).execute();
  }

  async getUser(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('identity_user').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async getUserByName(domainId: string, name: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('identity_user')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(filter: UserFilter = {}): Promise<User[]> {
    let q = this.db.selectFrom('identity_user').selectAll().orderBy('name');
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', toInt(filter.enabled));
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    return mapInTurns(await q.execute(), (row) => toUser(row));
  }

  async updateUser(user: User, passwordChanged: boolean): Promise<void> {
    await this.db
      .updateTable('identity_user')
      .set({ ...userRow(user), ...(passwordChanged ? { password_created_at: nowIso() } : {}) })
      .where('id', '=', user.id)
      .execute();
    if (passwordChanged && user.passwordHash) await this.addPasswordHistory(user.id, user.passwordHash);
  }

  async deleteUser(id: string): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.deleteFrom('identity_membership').where('user_id', '=', id).execute();
      await tx.deleteFrom('identity_application_credential').where('user_id', '=', id).execute();
      await tx.deleteFrom('identity_password_history').where('user_id', '=', id).execute();
      await tx.deleteFrom('identity_user').where('id', '=', id).execute();
    });
  }

  async createGroup(group: Group): Promise<void> {
    await this.db.insertInto('identity_group').values(groupRow(group)).execute();
  }

  async getGroup(id: string): Promise<Group | undefined> {
    const row = await this.db.selectFrom('identity_group').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toGroup(row);
  }

  async getGroupByName(domainId: string, name: string): Promise<Group | undefined> {
    const row = await this.db
      .selectFrom('identity_group')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toGroup(row);
  }

  async listGroups(filter: { name?: string; domainId?: string; ids?: string[] } = {}): Promise<Group[]> {
    let q = this.db.selectFrom('identity_group').selectAll().orderBy('name');
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId);
    if (filter.ids !== undefined) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    return mapInTurns(await q.execute(), (row) => toGroup(row));
  }

  async updateGroup(group: Group): Promise<void> {
    await this.db.updateTable('identity_group').set(groupRow(group)).where('id', '=', group.id).execute();
  }

  async deleteGroup(id: string): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.deleteFrom('identity_membership').where('group_id', '=', id).execute();
      await tx.deleteFrom('identity_group').where('id', '=', id).execute();
    });
  }

  async addMember(groupId: string, userId: string): Promise<void> {
    const exists = await this.isMember(groupId, userId);
    if (!exists) await this.db.insertInto('identity_membership').values({ group_id: groupId, user_id: userId }).execute();
  }

  async removeMember(groupId: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_membership')
      .where('group_id', '=', groupId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async isMember(groupId: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('identity_membership')
      .select('user_id')
      .where('group_id', '=', groupId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async groupIdsOfUser(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('identity_membership').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }

  async userIdsInGroup(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('identity_membership').select('user_id').where('group_id', '=', groupId).execute();
    return rows.map((r) => r.user_id);
  }
}

function userRow(u: User): Omit<UserRow, 'created_at' | 'password_created_at' | 'failed_auth_count' | 'failed_auth_at'> {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: toInt(u.enabled),
    password_hash: u.passwordHash,
    password_expires_at: u.passwordExpiresAt,
    default_project_id: u.defaultProjectId,
    description: u.description,
    extra: JSON.stringify(u.extra),
    options: JSON.stringify(u.options),
  };
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    domainId: row.domain_id,
    enabled: toBool(row.enabled),
    passwordHash: row.password_hash,
    passwordExpiresAt: row.password_expires_at,
    defaultProjectId: row.default_project_id,
    description: row.description,
    extra: parseJson(row.extra, {}),
    options: parseJson(row.options, {}),
  };
}

function groupRow(g: Group): GroupRow {
  return { id: g.id, name: g.name, domain_id: g.domainId, description: g.description, extra: JSON.stringify(g.extra) };
}

function toGroup(row: GroupRow): Group {
  return {
    id: row.id,
    name: row.name,
    domainId: row.domain_id,
    description: row.description,
    extra: parseJson(row.extra, {}),
  };
}
