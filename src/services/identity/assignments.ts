import { badRequest } from '../../core/http/errors.js';
import type { Json } from '../../core/http/body.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { ActorType, Assignment, Role, TargetType } from './model.js';

/** Role assignments (grants) of users and groups on projects, domains and the system, and their effective view. */

/** Which kind of grant a URL family names. */
export interface GrantKind {
  targetType: TargetType;
  actorType: ActorType;
  inherited: boolean;
}

/** The grant a URL names: its target, actor and (when named) role must exist. */
export async function resolveGrant(
  ctx: IdentityContext,
  kind: GrantKind,
  params: { target?: string; actor: string; role?: string },
): Promise<Assignment & { role?: Role }> {
  const targetId = kind.targetType === 'system' ? 'system' : (params.target as string);
  if (kind.targetType === 'project' && !(await ctx.stores.resources.getProject(targetId))) throw notFoundError('project', targetId);
  if (kind.targetType === 'domain' && !(await ctx.stores.resources.getDomain(targetId))) throw notFoundError('domain', targetId);
  const actorExists = kind.actorType === 'user' ? await ctx.stores.users.getUser(params.actor) : await ctx.stores.users.getGroup(params.actor);
  if (!actorExists) throw notFoundError(kind.actorType, params.actor);
  let role: Role | undefined;
  if (params.role !== undefined) {
    role = await ctx.stores.assignments.getRole(params.role);
    if (!role) throw notFoundError('role', params.role);
  }
  return {
    actorType: kind.actorType,
    actorId: params.actor,
    targetType: kind.targetType,
    targetId,
    roleId: role?.id ?? '',
    inherited: kind.inherited,
    ...(role ? { role } : {}),
  };
}

/** 404 unless the grant exists. */
export async function checkGrant(ctx: IdentityContext, grant: Assignment): Promise<void> {
  if (!(await ctx.stores.assignments.has(grant))) throw notFoundError('role assignment', grant.roleId);
}

export async function createGrant(ctx: IdentityContext, grant: Assignment): Promise<void> {
  await ctx.stores.assignments.grant(grant);
  ctx.changed();
}

/** Revokes the grant; a user's direct project grant also revokes the user's tokens on that project. */
export async function revokeGrant(ctx: IdentityContext, grant: Assignment): Promise<void> {
  if (!(await ctx.stores.assignments.revoke(grant))) throw notFoundError('role assignment', grant.roleId);
  if (grant.actorType === 'user' && grant.targetType === 'project' && !grant.inherited) {
    await ctx.revocations.revoke({ userId: grant.actorId, projectId: grant.targetId });
  }
  ctx.changed();
}

/** The roles granted to the grant's actor on its target (any target, for the system). */
export async function grantedRoles(ctx: IdentityContext, grant: Assignment): Promise<Role[]> {
  const assignments = await ctx.stores.assignments.list({
    actorType: grant.actorType,
    actorIds: [grant.actorId],
    targetType: grant.targetType,
    ...(grant.targetType === 'system' ? {} : { targetId: grant.targetId }),
    inherited: grant.inherited,
  });
  const roles = [];
  for (const a of assignments) {
    const role = await ctx.directory.roleById(a.roleId);
    if (role) roles.push(role);
  }
  return roles;
}

/** GET /v3/role_assignments' query. */
export interface RoleAssignmentQuery {
  userId?: string | undefined;
  groupId?: string | undefined;
  roleId?: string | undefined;
  projectId?: string | undefined;
  domainId?: string | undefined;
  system?: string | undefined;
  inheritedTo?: string | undefined;
  effective: boolean;
  includeNames: boolean;
}

/** The role_assignments entries the query selects (effective: expanded to users, projects and implied roles). */
export async function listRoleAssignments(ctx: IdentityContext, q: RoleAssignmentQuery): Promise<Json[]> {
  const { userId, groupId, roleId, projectId, domainId, system, inheritedTo, effective, includeNames } = q;
  if (userId && groupId) throw badRequest('Specify at most one of user.id and group.id.');
  if ([projectId, domainId, system].filter((x) => x !== undefined).length > 1) {
    throw badRequest('Specify at most one scope.');
  }
  if (effective && groupId) throw badRequest('effective and group.id cannot be combined.');

  let assignments = await ctx.stores.assignments.list({
    ...(groupId ? { actorType: 'group' as const, actorIds: [groupId] } : {}),
    ...(roleId && !effective ? { roleId } : {}),
    ...(inheritedTo !== undefined ? { inherited: true } : {}),
  });

  if (effective) assignments = await expandEffective(ctx, assignments);
  if (userId) assignments = assignments.filter((a) => a.actorType === 'user' && a.actorId === userId);
  if (roleId) assignments = assignments.filter((a) => a.roleId === roleId);
  if (projectId) assignments = assignments.filter((a) => a.targetType === 'project' && a.targetId === projectId);
  if (domainId) assignments = assignments.filter((a) => a.targetType === 'domain' && a.targetId === domainId);
  if (system !== undefined) assignments = assignments.filter((a) => a.targetType === 'system');

  const entries: Json[] = [];
  for (const a of assignments) entries.push(await renderAssignment(ctx, a, includeNames));
  return entries;
}

/** Groups become their members, inherited grants land on the projects below them, implied roles join. */
async function expandEffective(ctx: IdentityContext, assignments: Assignment[]): Promise<Assignment[]> {
  const out = new Map<string, Assignment>();
  const add = (a: Assignment) => out.set(`${a.actorId}|${a.targetType}|${a.targetId}|${a.roleId}`, a);
  for (const a of assignments) {
    const userIds = a.actorType === 'user' ? [a.actorId] : await ctx.stores.users.userIdsInGroup(a.actorId);
    let targets: Array<{ type: TargetType; id: string }> = [{ type: a.targetType, id: a.targetId }];
    if (a.inherited) {
      const projects =
        a.targetType === 'domain'
          ? await ctx.stores.resources.listProjects({ domainId: a.targetId })
          : await ctx.stores.resources.listProjects({ parentId: a.targetId });
      targets = projects.map((p) => ({ type: 'project' as const, id: p.id }));
    }
    const roles = (await ctx.directory.expand([a.roleId])).filter((r) => r.domainId === null);
    for (const userId of userIds) {
      for (const t of targets) {
        for (const role of roles) {
          add({ actorType: 'user', actorId: userId, targetType: t.type, targetId: t.id, roleId: role.id, inherited: false });
        }
      }
    }
  }
  return [...out.values()];
}

/** A role_assignments entry; its names (include_names) need lookups, which is why it is made here and not in render.ts. */
async function renderAssignment(ctx: IdentityContext, a: Assignment, includeNames: boolean): Promise<Json> {
  const role: Json = { id: a.roleId };
  const actor: Json = { id: a.actorId };
  let scope: Json;
  const targetRef: Json = { id: a.targetId };
  if (includeNames) {
    const r = await ctx.directory.roleById(a.roleId);
    if (r) {
      role.name = r.name;
      if (r.domainId) role.domain = { id: r.domainId };
    }
    const entity = a.actorType === 'user' ? await ctx.directory.user(a.actorId) : await ctx.stores.users.getGroup(a.actorId);
    if (entity) {
      actor.name = entity.name;
      actor.domain = await domainRef(ctx, entity.domainId);
    }
    if (a.targetType === 'project') {
      const p = await ctx.directory.project(a.targetId);
      if (p) {
        targetRef.name = p.name;
        targetRef.domain = await domainRef(ctx, p.domainId);
      }
    } else if (a.targetType === 'domain') {
      const d = await ctx.directory.domain(a.targetId);
      if (d) targetRef.name = d.name;
    }
  }
  scope = a.targetType === 'system' ? { system: { all: true } } : { [a.targetType]: targetRef };
  if (a.inherited) scope['OS-INHERIT:inherited_to'] = 'projects';
  const base = a.targetType === 'system' ? `${ctx.baseUrl}/system` : `${ctx.baseUrl}/${a.targetType}s/${a.targetId}`;
  const link = `${a.inherited ? base.replace('/v3/', '/v3/OS-INHERIT/') : base}/${a.actorType}s/${a.actorId}/roles/${a.roleId}${a.inherited ? '/inherited_to_projects' : ''}`;
  return { role, [a.actorType]: actor, scope, links: { assignment: link } };
}

async function domainRef(ctx: IdentityContext, id: string): Promise<Json> {
  const d = await ctx.directory.domain(id);
  return d ? { id: d.id, name: d.name } : { id };
}
