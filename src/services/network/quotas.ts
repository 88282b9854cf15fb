import { NeutronError, type NetworkContext } from './context.js';

/** Neutron's default per-project quotas. */
export const DEFAULT_QUOTAS: Record<string, number> = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
  // Neutron's quota_subnetpool (unlimited) and quota_rbac_policy defaults.
  subnetpool: -1,
  rbac_policy: 10,
};

const TABLES = {
  network: 'network_network',
  subnet: 'network_subnet',
  port: 'network_port',
  router: 'network_router',
  floatingip: 'network_floatingip',
  security_group: 'network_security_group',
  security_group_rule: 'network_security_group_rule',
  subnetpool: 'network_subnetpool',
  rbac_policy: 'network_rbac',
} as const;

export type QuotaResource = keyof typeof TABLES;
export type QuotaTable = (typeof TABLES)[QuotaResource];

export async function quotaLimits(ctx: NetworkContext, projectId: string): Promise<Record<string, number>> {
  const overrides = await ctx.records.quotaOverrides(projectId);
  const limits: Record<string, number> = { ...ctx.settings.defaultQuotas };
  for (const [resource, limit] of overrides) limits[resource] = limit;
  return limits;
}

/** Refuses a create that would take the project over its quota (-1 means unlimited). */
export async function checkQuota(ctx: NetworkContext, projectId: string, resource: QuotaResource, adding = 1): Promise<void> {
  const limit = (await quotaLimits(ctx, projectId))[resource] ?? -1;
  if (limit < 0) return;
  const used = await ctx.records.count(TABLES[resource], projectId);
  if (used + adding > limit) {
    throw new NeutronError(409, 'OverQuota', `Quota exceeded for resources: ['${resource}'].`);
  }
}

export async function quotaUsage(ctx: NetworkContext, projectId: string): Promise<Record<string, number>> {
  const usage: Record<string, number> = {};
  for (const [resource, table] of Object.entries(TABLES)) usage[resource] = await ctx.records.count(table, projectId);
  return usage;
}
