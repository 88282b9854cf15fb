import type { AssignmentRow, AssignmentType, RoleRow } from '../tables.js';
import type { ActorType, Assignment, Role, TargetType } from '../model.js';
import { atomically, type IdentityDb, parseJson, toBool, toInt } from './db.js';

export interface AssignmentFilter {
  actorType?: ActorType;
  actorIds?: string[];
  targetType?: TargetType;
  targetId?: string;
  roleId?: string;
  inherited?: boolean;
}

/** Roles, implied roles and role assignments. */
export class AssignmentStore {
  constructor(private readonly db: IdentityDb) {}

  async createRole(role: Role): Promise<void> {
    await this.db.insertInto('identity_role').values(roleRow(role)).execute();
  }

  async getRole(id: string): Promise<Role | undefined> {
    const row = await this.db.selectFrom('identity_role').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRole(row);
  }

  async getRoleByName(name: string, domainId: string | null = null): Promise<Role | undefined> {
    const row = await this.db
      .selectFrom('identity_role')
      .selectAll()
      .where('name', '=', name)
      .where('domain_id', '=', domainId ?? '')
      .executeTakeFirst();
    return row && toRole(row);
  }

  async listRoles(filter: { name?: string; domainId?: string | null } = {}): Promise<Role[]> {
    let q = this.db.selectFrom('identity_role').selectAll().orderBy('name');
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.domainId !== undefined) q = q.where('domain_id', '=', filter.domainId ?? '');
    return (await q.execute()).map(toRole);
  }

  async updateRole(role: Role): Promise<void> {
    await this.db.updateTable('identity_role').set(roleRow(role)).where('id', '=', role.id).execute();
  }

  async deleteRole(id: string): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.deleteFrom('identity_assignment').where('role_id', '=', id).execute();
      await tx
        .deleteFrom('identity_implied_role')
        .where((eb) => eb.or([eb('prior_role_id', '=', id), eb('implied_role_id', '=', id)]))
        .execute();
      await tx.deleteFrom('identity_role').where('id', '=', id).execute();
    });
  }

  async addImpliedRole(priorId: string, impliedId: string): Promise<void> {
    if (await this.hasImpliedRole(priorId, impliedId)) return;
    await this.db.insertInto('identity_implied_role').values({ prior_role_id: priorId, implied_role_id: impliedId }).execute();
  }

  async hasImpliedRole(priorId: string, impliedId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('identity_implied_role')
      .select('prior_role_id')
      .where('prior_role_id', '=', priorId)
      .where('implied_role_id', '=', impliedId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async removeImpliedRole(priorId: string, impliedId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('identity_implied_role')
      .where('prior_role_id', '=', priorId)
      .where('implied_role_id', '=', impliedId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listImpliedRoles(priorId?: string): Promise<Array<{ priorRoleId: string; impliedRoleId: string }>> {
    let q = this.db.selectFrom('identity_implied_role').selectAll();
    if (priorId !== undefined) q = q.where('prior_role_id', '=', priorId);
    return (await q.execute()).map((r) => ({ priorRoleId: r.prior_role_id, impliedRoleId: r.implied_role_id }));
  }

  async grant(a: Assignment): Promise<void> {
    if (await this.has(a)) return;
    await this.db.insertInto('identity_assignment').values(assignmentRow(a)).execute();
  }

  async has(a: Assignment): Promise<boolean> {
    const row = assignmentRow(a);
    const found = await this.db
      .selectFrom('identity_assignment')
      .select('role_id')
      .where('type', '=', row.type)
      .where('actor_id', '=', row.actor_id)
      .where('target_id', '=', row.target_id)
      .where('role_id', '=', row.role_id)
      .where('inherited', '=', row.inherited)
      .executeTakeFirst();
    return found !== undefined;
  }

  async revoke(a: Assignment): Promise<boolean> {
    const row = assignmentRow(a);
    const result = await this.db
      .deleteFrom('identity_assignment')
      .where('type', '=', row.type)
      .where('actor_id', '=', row.actor_id)
      .where('target_id', '=', row.target_id)
      .where('role_id', '=', row.role_id)
      .where('inherited', '=', row.inherited)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async list(filter: AssignmentFilter = {}): Promise<Assignment[]> {
    let q = this.db.selectFrom('identity_assignment').selectAll();
    const types = assignmentTypes(filter.actorType, filter.targetType);
    if (types.length < 6) q = q.where('type', 'in', types);
    if (filter.actorIds !== undefined) {
      if (filter.actorIds.length === 0) return [];
      q = q.where('actor_id', 'in', filter.actorIds);
    }
    if (filter.targetId !== undefined) q = q.where('target_id', '=', filter.targetId);
    if (filter.roleId !== undefined) q = q.where('role_id', '=', filter.roleId);
    if (filter.inherited !== undefined) q = q.where('inherited', '=', toInt(filter.inherited));
    return (await q.execute()).map(toAssignment);
  }

  /** Removes every assignment on a target or of an actor (when the project, domain, user or group goes). */
  async removeAllFor(id: string): Promise<void> {
    await this.db
      .deleteFrom('identity_assignment')
      .where((eb) => eb.or([eb('actor_id', '=', id), eb('target_id', '=', id)]))
      .execute();
  }
}

const TYPE_OF: Record<ActorType, Record<TargetType, AssignmentType>> = {
  user: { project: 'UserProject', domain: 'UserDomain', system: 'UserSystem' },
  group: { project: 'GroupProject', domain: 'GroupDomain', system: 'GroupSystem' },
};

function assignmentTypes(actor?: ActorType, target?: TargetType): AssignmentType[] {
  const actors: ActorType[] = actor ? [actor] : ['user', 'group'];
  const targets: TargetType[] = target ? [target] : ['project', 'domain', 'system'];
  return actors.flatMap((a) => targets.map((t) => TYPE_OF[a][t]));
}

function assignmentRow(a: Assignment): AssignmentRow {
  return {
    type: TYPE_OF[a.actorType][a.targetType],
    actor_id: a.actorId,
    target_id: a.targetType === 'system' ? 'system' : a.targetId,
    role_id: a.roleId,
    inherited: toInt(a.inherited),
  };
}

function toAssignment(row: AssignmentRow): Assignment {
  const actorType: ActorType = row.type.startsWith('User') ? 'user' : 'group';
  const targetType: TargetType = row.type.endsWith('Project') ? 'project' : row.type.endsWith('Domain') ? 'domain' : 'system';
  return { actorType, actorId: row.actor_id, targetType, targetId: row.target_id, roleId: row.role_id, inherited: toBool(row.inherited) };
}

function roleRow(r: Role): RoleRow {
  return {
    id: r.id,
    name: r.name,
    domain_id: r.domainId ?? '',
    description: r.description,
    options: JSON.stringify(r.options),
    extra: JSON.stringify(r.extra),
  };
}

function toRole(row: RoleRow): Role {
  return {
    id: row.id,
    name: row.name,
    domainId: row.domain_id === '' ? null : row.domain_id,
    description: row.description,
    options: parseJson(row.options, {}),
    extra: parseJson(row.extra, {}),
  };
}
