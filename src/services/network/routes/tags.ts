import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, NeutronError, type Caller, type NetworkContext } from '../context.js';
import { tagParamRoute, tagsRoute } from '../attributes/schemas.js';

/** Who a taggable resource belongs to, and who else may see it. */
interface Tagged {
  /** The rule names' resource: `update_<member>:tags`. */
  member: string;
  projectId: string;
  /** The owner of the network it is on (subnets and ports). */
  networkProjectId?: string;
  /** Seen by every project: a shared or external network, a subnet of a shared network. */
  everyone: boolean;
}

/** URL segment to the resource's owner and visibility. */
const TAGGABLE: Record<string, (ctx: NetworkContext, id: string) => Promise<Tagged | undefined>> = {
  networks: async (ctx, id) => {
    const n = await ctx.records.getNetwork(id);
    // External for everyone is the `*` entry; one made external for a single project is not.
    const publicExternal = n?.external && (await ctx.rbac.list({ objectType: 'network', objectIds: [id], targets: ['*'] })).some((e) => e.action === 'access_as_external');
    return n && { member: 'network', projectId: n.projectId, everyone: n.shared || publicExternal === true };
  },
  subnets: async (ctx, id) => {
    const s = await ctx.records.getSubnet(id);
    const n = s && (await ctx.records.getNetwork(s.networkId));
    return s && { member: 'subnet', projectId: s.projectId, networkProjectId: n?.projectId ?? '', everyone: n?.shared ?? false };
  },
  ports: async (ctx, id) => {
    const p = await ctx.records.getPort(id);
    const n = p && (await ctx.records.getNetwork(p.networkId));
    return p && { member: 'port', projectId: p.projectId, networkProjectId: n?.projectId ?? '', everyone: false };
  },
  routers: async (ctx, id) => {
    const r = await ctx.l3.getRouter(id);
    return r && { member: 'router', projectId: r.projectId, everyone: false };
  },
  floatingips: async (ctx, id) => {
    const f = await ctx.l3.getFloatingIp(id);
    return f && { member: 'floatingip', projectId: f.projectId, everyone: false };
  },
  // Neutron's standard-attr tags cover subnet pools too (openstacksdk's pool test sets them); a shared pool is seen by all.
  subnetpools: async (ctx, id) => {
    const p = await ctx.pools.getPool(id);
    return p && { member: 'subnetpool', projectId: p.project_id, everyone: p.shared === 1 };
  },
  // Security groups are at `/v2.0/security-groups` (the body key is `security_groups`).
  'security-groups': async (ctx, id) => {
    const g = await ctx.groups.get(id);
    return g && { member: 'security_group', projectId: g.project_id, everyone: false };
  },
};

type Params = { collection: string; id: string };

/**
 * Neutron's tag extension: whoever sees a resource sees its tags; adding or removing them is
 * `update_<resource>:tags` / `delete_<resource>:tags`, so a reader may not, nor may a project
 * change the tags of a network another project shares with it.
 */
export function tagRoutes(app: FastifyInstance, ctx: NetworkContext): void {
  const load = async (params: Params, caller: Caller, change?: 'update' | 'delete'): Promise<string[]> => {
    const find = TAGGABLE[params.collection];
    const tagged = find ? await find(ctx, params.id) : undefined;
    const sees = tagged && (caller.isAdmin || tagged.everyone || tagged.projectId === caller.projectId || tagged.networkProjectId === caller.projectId);
    if (!tagged || !sees) throw new NeutronError(404, 'NotFound', `${params.collection.replace(/s$/, '')} ${params.id} could not be found.`);
    if (change) {
      authorize(ctx, caller, `${change}_${tagged.member}:tags`, { project_id: tagged.projectId, 'network:project_id': tagged.networkProjectId ?? tagged.projectId });
    }
    return (await ctx.records.tagsOf([params.id])).get(params.id) ?? [];
  };
  const tagNotFound = (params: Params & { tag: string }) => new NeutronError(404, 'TagNotFound', `Tag ${params.tag} could not be found for ${params.id}.`);

  app.get<{ Params: Params }>('/v2.0/:collection/:id/tags', async (request) => ({ tags: await load(request.params, callerFrom(request)) }));
  app.put<{ Params: Params; Body: { tags: string[] } }>('/v2.0/:collection/:id/tags', tagsRoute(), async (request) => {
    await load(request.params, callerFrom(request), 'update');
    // Neutron refuses a tag given twice; Kumo keeps it once.
    const tags = [...new Set(request.body.tags)];
    await ctx.records.replaceTags(request.params.id, tags);
    return { tags };
  });
  app.delete<{ Params: Params }>('/v2.0/:collection/:id/tags', async (request, reply) => {
    await load(request.params, callerFrom(request), 'delete');
    await ctx.records.replaceTags(request.params.id, []);
    reply.code(204).send();
  });
  app.put<{ Params: Params & { tag: string } }>('/v2.0/:collection/:id/tags/:tag', tagParamRoute(), async (request, reply) => {
    await load(request.params, callerFrom(request), 'update');
    await ctx.records.addTag(request.params.id, request.params.tag);
    reply.code(201).send();
  });
  app.get<{ Params: Params & { tag: string } }>('/v2.0/:collection/:id/tags/:tag', async (request, reply) => {
    const current = await load(request.params, callerFrom(request));
    if (!current.includes(request.params.tag)) throw tagNotFound(request.params);
    reply.code(204).send();
  });
  app.delete<{ Params: Params & { tag: string } }>('/v2.0/:collection/:id/tags/:tag', async (request, reply) => {
    await load(request.params, callerFrom(request), 'delete');
    if (!(await ctx.records.removeTag(request.params.id, request.params.tag))) throw tagNotFound(request.params);
    reply.code(204).send();
  });
}
