import type { FastifyInstance } from 'fastify';
import { SECURITY_GROUP, SECURITY_GROUP_RULE } from '../attributes/resources.js';
import type { NetworkContext } from '../context.js';
import { notFound } from '../context.js';
import { renderRule, renderSecurityGroup } from '../render.js';
import { createRule, createSecurityGroup, defaultSecurityGroup, deleteRule, deleteSecurityGroup, updateSecurityGroup, visibleGroup } from '../security-groups.js';
import { resourceRoutes } from './resource.js';

export function securityGroupRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  const rulesOf = async (groupIds: string[]) => {
    const map = new Map<string, Awaited<ReturnType<typeof ctx.groups.rules>>>();
    for (const r of await ctx.groups.rules({ groupIds })) map.set(r.security_group_id, [...(map.get(r.security_group_id) ?? []), r]);
    return map;
  };

  resourceRoutes(app, baseUrl, {
    attributes: SECURITY_GROUP,
    path: 'security-groups',
    list: async (caller) => {
      // Listing is one of the "first needs" on which Neutron creates the project's default group.
      if (caller.projectId) await defaultSecurityGroup(ctx, caller.projectId);
      const groups = await ctx.groups.list(caller.isAdmin ? {} : { projectId: caller.projectId });
      const rules = await rulesOf(groups.map((g) => g.id));
      const tags = await ctx.records.tagsOf(groups.map((g) => g.id));
      return groups.map((g) => renderSecurityGroup(g, rules.get(g.id) ?? [], tags.get(g.id) ?? []));
    },
    show: async (caller, id) => {
      const group = await visibleGroup(ctx, caller, id);
      const tags = await ctx.records.tagsOf([id]);
      return renderSecurityGroup(group, (await rulesOf([id])).get(id) ?? [], tags.get(id) ?? []);
    },
    create: async (caller, body) => {
      const group = await createSecurityGroup(ctx, caller, body);
      return renderSecurityGroup(group, (await rulesOf([group.id])).get(group.id) ?? []);
    },
    update: async (caller, id, body) => {
      const group = await updateSecurityGroup(ctx, caller, id, body);
      return renderSecurityGroup(group, (await rulesOf([id])).get(id) ?? []);
    },
    remove: (caller, id) => deleteSecurityGroup(ctx, caller, id),
  });

  resourceRoutes(app, baseUrl, {
    attributes: SECURITY_GROUP_RULE,
    path: 'security-group-rules',
    list: async (caller) => {
      const groups = await ctx.groups.list(caller.isAdmin ? {} : { projectId: caller.projectId });
      return (await ctx.groups.rules({ groupIds: groups.map((g) => g.id) })).map(renderRule);
    },
    show: async (caller, id) => {
      const rule = (await ctx.groups.rules({ ids: [id] }))[0];
      if (!rule || (!caller.isAdmin && rule.project_id !== caller.projectId)) throw notFound('SecurityGroupRule', id);
      return renderRule(rule);
    },
    create: async (caller, body) => renderRule(await createRule(ctx, caller, body)),
    remove: (caller, id) => deleteRule(ctx, caller, id),
  });
}
