import { forbidden, type ComputeContext } from './context.js';
import { QuotaRecords, type Counts } from './store/quotas.js';
import { ServerGroupRecords } from './store/server-groups.js';

/** Nova's default limits (-1 is unlimited). */
export const DEFAULT_QUOTAS: Readonly<Record<string, number>> = {
  instances: 10,
  cores: 20,
  ram: 51200,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  injected_file_path_bytes: 255,
};

/** Neutron counts these; Nova before 2.36 still shows (and accepts) them as unlimited. */
export const PROXIED_QUOTAS: Readonly<Record<string, number>> = {
  fixed_ips: -1,
  floating_ips: -1,
  security_groups: -1,
  security_group_rules: -1,
};

export const QUOTA_RESOURCES = [...Object.keys(DEFAULT_QUOTAS), ...Object.keys(PROXIED_QUOTAS)].sort();

/** compute_quota's project_id for the cloud-wide defaults (quota class `default`). */
export const DEFAULT_CLASS = 'default';

/** Stored limits of a project or quota class, by resource. */
async function stored(ctx: ComputeContext, owner: string): Promise<Record<string, number>> {
  return new QuotaRecords(ctx.db).limitsOf(owner);
}

/** The defaults in force: Nova's, with the `default` quota class's overrides. */
export async function defaultLimits(ctx: ComputeContext): Promise<Record<string, number>> {
  return { ...DEFAULT_QUOTAS, ...PROXIED_QUOTAS, ...(await stored(ctx, DEFAULT_CLASS)) };
}

export async function projectLimits(ctx: ComputeContext, projectId: string): Promise<Record<string, number>> {
  return { ...(await defaultLimits(ctx)), ...(await stored(ctx, projectId)) };
}

export async function setLimits(ctx: ComputeContext, owner: string, limits: Record<string, number>): Promise<void> {
  await new QuotaRecords(ctx.db).setLimits(owner, limits);
}

export async function resetLimits(ctx: ComputeContext, projectId: string): Promise<void> {
  await new QuotaRecords(ctx.db).deleteLimits(projectId);
}

export type Usage = Counts;

/** What a project (and, for key pairs, a user) holds now. */
export async function usage(ctx: ComputeContext, projectId: string, userId?: string): Promise<Usage> {
  return new QuotaRecords(ctx.db).counts(projectId, userId);
}

export interface QuotaRequest {
  instances?: number;
  cores?: number;
  ram?: number;
  key_pairs?: number;
  server_groups?: number;
  server_group_members?: number;
}

/**
 * Refuses (403) what would take the project over its limits, with Nova's messages. The
 * check is not atomic with the create that follows, as Nova's own is not without its recheck.
 * `serverGroupId` names the group whose members `server_group_members` adds to.
 */
export async function checkQuota(
  ctx: ComputeContext,
  projectId: string,
  userId: string,
  requested: QuotaRequest,
  options: { serverGroupId?: string } = {},
): Promise<void> {
  const limits = await projectLimits(ctx, projectId);
  // Unlimited for everything asked: nothing to count (this keeps boots cheap for such projects).
  const limited = Object.entries(requested).some(([resource, adding]) => adding !== undefined && adding > 0 && (limits[resource] ?? -1) >= 0);
  if (!limited) return;
  const used = await usage(ctx, projectId, userId);
  const over = (resource: keyof Usage, adding: number | undefined) => {
    const limit = limits[resource] ?? -1;
    return adding !== undefined && adding > 0 && limit >= 0 && used[resource] + adding > limit;
  };
  const overs = (['cores', 'instances', 'ram'] as const).filter((r) => over(r, requested[r]));
  if (overs.length > 0) {
    const join = (f: (r: (typeof overs)[number]) => number) => overs.map((r) => String(f(r))).join(', ');
    const names = overs.join(', ');
    throw forbidden(
      `Quota exceeded for ${names}: Requested ${join((r) => requested[r] ?? 0)}, but already used ${join((r) => used[r])} of ${join((r) => limits[r] ?? -1)} ${names}`,
    );
  }
  if (over('key_pairs', requested.key_pairs)) throw forbidden('Quota exceeded, too many key pairs.');
  if (over('server_groups', requested.server_groups)) throw forbidden('Quota exceeded, too many server groups.');
  const adding = requested.server_group_members;
  const memberLimit = limits.server_group_members ?? -1;
  if (adding !== undefined && adding > 0 && memberLimit >= 0 && options.serverGroupId !== undefined) {
    const members = await new ServerGroupRecords(ctx.db).memberCount(options.serverGroupId);
    if (members + adding > memberLimit) throw forbidden('Quota exceeded, too many servers in group');
  }
}
