import type { FastifyInstance } from 'fastify';
import { queryBool, queryString } from '../../../core/http/body.js';
import { checkGrant, createGrant, grantedRoles, listRoleAssignments, resolveGrant, revokeGrant } from '../assignments.js';
import type { IdentityContext } from '../context.js';
import type { ActorType, TargetType } from '../model.js';
import { collection, renderRole } from '../render.js';
import { authorize, requestUrl } from './common.js';

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
    const resolve = (params: GrantParams) => resolveGrant(ctx, family, params);

    const one = `${family.prefix}/:role${family.suffix}`;
    app.head<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('check'));
      await checkGrant(ctx, await resolve(request.params));
      reply.code(204).send();
    });
    app.get<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('check'));
      await checkGrant(ctx, await resolve(request.params));
      reply.code(204).send();
    });
    app.put<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('create'));
      await createGrant(ctx, await resolve(request.params));
      reply.code(204).send();
    });
    app.delete<{ Params: GrantParams }>(one, async (request, reply) => {
      authorize(ctx, request, action('revoke'));
      await revokeGrant(ctx, await resolve(request.params));
      reply.code(204).send();
    });
    app.get<{ Params: GrantParams }>(`${family.prefix}${family.suffix}`, async (request) => {
      authorize(ctx, request, action('list'));
      const roles = await grantedRoles(ctx, await resolve(request.params));
      return collection('roles', roles.map((role) => renderRole(role, ctx.baseUrl)), requestUrl(ctx, request));
    });
  }

  app.get('/v3/role_assignments', async (request) => {
    authorize(ctx, request, 'identity:list_role_assignments');
    const q = request.query;
    const entries = await listRoleAssignments(ctx, {
      userId: queryString(q, 'user.id'),
      groupId: queryString(q, 'group.id'),
      roleId: queryString(q, 'role.id'),
      projectId: queryString(q, 'scope.project.id'),
      domainId: queryString(q, 'scope.domain.id'),
      system: queryString(q, 'scope.system'),
      inheritedTo: queryString(q, 'scope.OS-INHERIT:inherited_to'),
      effective: queryBool(q, 'effective') ?? false,
      includeNames: queryBool(q, 'include_names') ?? false,
    });
    return { role_assignments: entries, links: { self: requestUrl(ctx, request), previous: null, next: null } };
  });
}
