import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { createServerGroup, deleteServerGroup, getServerGroup, listServerGroups, parseServerGroup, renderServerGroup, type ServerGroupBody } from '../server-groups.js';
import { queryValue } from '../validate.js';
import { createServerGroup as createServerGroupBody, listServerGroupsQuery } from '../schemas/server-groups.js';
import { bodyByVersion } from '../schemas/validation.js';

type IdParams = { id: string };

const TRUE = ['true', '1', 'yes', 'on', 't', 'y'];

/** /os-server-groups: owners shown from 2.13, soft policies from 2.15. */
export function serverGroupRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  app.get('/os-server-groups', { schema: { querystring: listServerGroupsQuery } }, async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-server-groups:index');
    const allProjectsParam = queryValue(request.query, 'all_projects');
    // Nova treats the parameter's presence as the request; `=False` still means no. From a
    // non-admin it is ignored (their own project's groups), as Nova does until it drops the legacy rules.
    const allProjects = caller.isAdmin && allProjectsParam !== undefined && (allProjectsParam === '' || TRUE.includes(allProjectsParam.toLowerCase()));
    if (allProjects) authorize(ctx, caller, 'os_compute_api:os-server-groups:index:all_projects');
    const limit = queryValue(request.query, 'limit');
    const offset = queryValue(request.query, 'offset');
    const groups = await listServerGroups(ctx, caller, {
      allProjects,
      ...(limit !== undefined ? { limit } : {}),
      ...(offset !== undefined ? { offset } : {}),
    });
    const withOwner = request.computeVersion.atLeast('2.13');
    return { server_groups: groups.map((g) => renderServerGroup(g, withOwner)) };
  });

  app.get<{ Params: IdParams }>('/os-server-groups/:id', async (request) => {
    const group = await getServerGroup(ctx, callerFrom(request), request.params.id);
    return { server_group: renderServerGroup(group, request.computeVersion.atLeast('2.13')) };
  });

  app.post<{ Body: ServerGroupBody }>('/os-server-groups', bodyByVersion(createServerGroupBody), async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-server-groups:create');
    const group = await createServerGroup(ctx, caller, parseServerGroup(request.body));
    return { server_group: renderServerGroup(group, request.computeVersion.atLeast('2.13')) };
  });

  app.delete<{ Params: IdParams }>('/os-server-groups/:id', async (request, reply) => {
    await deleteServerGroup(ctx, callerFrom(request), request.params.id);
    return reply.code(204).send();
  });
}
