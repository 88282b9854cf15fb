import type { FastifyInstance, FastifyRequest } from 'fastify';
import { queryBool, queryString, type Json } from '../../../core/http/body.js';
import { badRequest } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';
import type { ActorType, Assignment, Role, TargetType } from '../model.js';
import { collection, renderRole } from '../render.js';
import { authorize, notFoundError, requestUrl } from './common.js';

interface GrantParams {
  target?: string;
  actor: string;
  role?: string;
}

/** The URL families of grants: /{targets}/{target}/{actors}/{actor}/roles[/{role}]. */
const FAMILIES: Array<{ prefix: string; targetType: TargetType; actorType: ActorType; inherited: boolean; suffix: string }> = [];
for (const actorType of ['user', 'group'] as const) {
  FAMILIES.push({ prefix: `/v3/projects/:target/${actorType}s/:actor/roles`, targetType: 'project', actorType, inherited: false, suffix: '' });
  FAMILIES.push({ prefix: `/v3/domains/:target/${actorType}s/:actor/roles`, targetType: 'domain', actorType, inherited: false, suffix: '' });
  FAMILIES.push({ prefix: `/v3/system/${actorType}s/:actor/roles`, targetType: 'system', actorType, inherited: false, suffix: '' });
  FAMILIES.push({
    prefix: `/v3/OS-INHERIT/domains/:target/${actorType}s/:actor/roles`,
    targetType: 'domain',
    actorType,
    inherited: true,
    suffix: '/inherited_to_projects',
  });
  FAMILIES.push({
    prefix: `/v3/OS-INHERIT/projects/:target/${actorType}s/:actor/roles`,
    targetType: 'project',
    actorType,
    inherited: true,
    suffix: '/inherited_to_projects',
  });
}

export function assignmentRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  for (const family of FAMILIES) {
    const system = family.targetType === 'system';
    const action = (verb: string) =>
      system
        ? `identity:${verb === 'list' ? 'list_system_grants' : `${verb}_system_grant`}_for_${family.actorType}`
        : `identity:${verb === 'list' ? 'list_grants' : `${verb}_grant`}`;

    const resolve = async (params: GrantParams): Promise<Assignment & { role?: Role }> => {
      const targetId = system ? 'system' : (params.target as string);
      if (family.targetType === 'project' && !(await ctx.stores.resources.getProject(targetId))) throw notFoundError('project', targetId);
      if (family.targetType === 'domain' && !(await ctx.stores.resources.getDomain(targetId))) throw notFoundError('domain', targetId);
      const actorExists =
        family.actorType === 'user' ? await ctx.stores.users.getUser(params.actor) : await ctx.stores.users.getGroup(params.actor);
      if (!actorExists) throw notFoundError(family.actorType, params.actor);
      let role: Role | undefined;
      if (params.role !== undefined) {
        role = await ctx.stores.assignments.getRole(params.role);
        if (!role) throw notFoundError('role', params.role);
      }
      return {
        actorType: family.actorType,
        actorId: params.actor,
        targetType: family.targetType,
        targetId,
        roleId: role?.id ?? '',
        inherited: family.inherited,
        ...(role ? { role } : {}),
      };
    };

    const one = `${family.prefix}/:role${family.suffix}`;
    app.head<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('check'));
      const grant = await resolve(request.params);
      if (!(await ctx.stores.assignments.has(grant))) throw notFoundError('role assignment', grant.roleId);
      reply.code(204).send();
    });
    app.get<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('check'));
      const grant = await resolve(request.params);
      if (!(await ctx.stores.assignments.has(grant))) throw notFoundError('role assignment', grant.roleId);
      reply.code(204).send();
    });
    app.put<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('create'));
      const grant = await resolve(request.params);
      await ctx.stores.assignments.grant(grant);
      ctx.changed();
      reply.code(204).send();
    });
    app.delete<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('revoke'));
      const grant = await resolve(request.params);
      if (!(await ctx.stores.assignments.revoke(grant))) throw notFoundError('role assignment', grant.roleId);
      if (grant.actorType === 'user' && grant.targetType === 'project' && !grant.inherited) {
        await ctx.revocations.revoke({ userId: grant.actorId, projectId: grant.targetId });
      }
      ctx.changed();
      reply.code(204).send();
    });
    app.get<{ Params: GrantParams }>(`${family.prefix}${family.suffix}`, async (request) => {
      authorize(ctx, request, action('list'));
      const grant = await resolve(request.params);
      const assignments = await ctx.stores.assignments.list({
        actorType: grant.actorType,
        actorIds: [grant.actorId],
        targetType: grant.targetType,
        ...(system ? {} : { targetId: grant.targetId }),
        inherited: grant.inherited,
      });
      const roles = [];
      for (const a of assignments) {
        const role = await ctx.directory.roleById(a.roleId);
        if (role) roles.push(renderRole(role, ctx.baseUrl));
      }
      return collection('roles', roles, requestUrl(ctx, request));
    });
  }

  app.get('/v3/role_assignments', async (request) => {
    authorize(ctx, request, 'identity:list_role_assignments');
    const entries = await listRoleAssignments(ctx, request);
    return { role_assignments: entries, links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });
}

async function listRoleAssignments(ctx: IdentityContext, request: FastifyRequest): Promise<Json[]> {
  const q = request.query;
  const userId = queryString(q, 'user.id');
  const groupId = queryString(q, 'group.id');
  const roleId = queryString(q, 'role.id');
  const projectId = queryString(q, 'scope.project.id');
  const domainId = queryString(q, 'scope.domain.id');
  const system = queryString(q, 'scope.system');
  const inheritedTo = queryString(q, 'scope.OS-INHERIT:inherited_to');
  const effective = queryBool(q, 'effective') ?? false;
  const includeNames = queryBool(q, 'include_names') ?? false;
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
