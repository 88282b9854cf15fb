import type { ComputeContext } from './context.js';
import { projectLimits, usage } from './quotas.js';

/** GET /limits at 2.1: no rate limits, and the absolute limits with what is in use. */
export async function absoluteLimits(ctx: ComputeContext, projectId: string, userId: string): Promise<Record<string, number>> {
  const limits = await projectLimits(ctx, projectId);
  const used = await usage(ctx, projectId, userId);
  const limit = (resource: string) => limits[resource] ?? -1;
  return {
    maxImageMeta: limit('metadata_items'),
    maxPersonality: limit('injected_files'),
    maxPersonalitySize: limit('injected_file_content_bytes'),
    maxSecurityGroupRules: limit('security_group_rules'),
    maxSecurityGroups: limit('security_groups'),
    maxServerGroupMembers: limit('server_group_members'),
    maxServerGroups: limit('server_groups'),
    maxServerMeta: limit('metadata_items'),
    maxTotalCores: limit('cores'),
    maxTotalFloatingIps: limit('floating_ips'),
    maxTotalInstances: limit('instances'),
    maxTotalKeypairs: limit('key_pairs'),
    maxTotalRAMSize: limit('ram'),
    totalCoresUsed: used.cores,
    totalFloatingIpsUsed: 0,
    totalInstancesUsed: used.instances,
    totalRAMUsed: used.ram,
    totalSecurityGroupsUsed: 0,
    totalServerGroupsUsed: used.server_groups,
  };
}
