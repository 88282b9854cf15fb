import { badRequest, type ComputeContext } from './context.js';
import { DEFAULT_CLASS, defaultLimits, projectLimits, QUOTA_RESOURCES, setLimits, usage, type Usage } from './quotas.js';
import { toBoolean, toInteger } from './validate.js';

/** os-quota-sets and os-quota-class-sets: reading, changing and resetting limits. */

const ordered = (limits: Record<string, number>) => Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, limits[r] ?? -1]));

export async function showQuotaSet(ctx: ComputeContext, projectId: string): Promise<Record<string, unknown>> {
  return { id: projectId, ...ordered(await projectLimits(ctx, projectId)) };
}

export async function showQuotaDefaults(ctx: ComputeContext, projectId: string): Promise<Record<string, unknown>> {
  return { id: projectId, ...ordered(await defaultLimits(ctx)) };
}

/** Limits with usage; key pairs belong to users, so they count only when a user is named. */
export async function showQuotaDetail(ctx: ComputeContext, projectId: string, userId?: string): Promise<Record<string, unknown>> {
  const limits = ordered(await projectLimits(ctx, projectId));
  const used: Partial<Usage> = await usage(ctx, projectId, userId);
  const detail: Record<string, unknown> = { id: projectId };
  for (const [resource, limit] of Object.entries(limits)) {
    detail[resource] = { in_use: used[resource as keyof Usage] ?? 0, limit, reserved: 0 };
  }
  return detail;
}

/** A quota set body as its schema (schemas/quotas.ts) lets it through: limits as numbers or digit strings. */
export type QuotaSetBody = Record<string, Record<string, number | string | boolean>>;

function parseLimits(body: QuotaSetBody, key: string): { limits: Record<string, number>; force: boolean } {
  const set = body[key] ?? {};
  const limits: Record<string, number> = {};
  for (const resource of QUOTA_RESOURCES) {
    const value = set[resource];
    if (value !== undefined && typeof value !== 'boolean') limits[resource] = toInteger(value);
  }
  const force = set.force !== undefined && typeof set.force !== 'number' && toBoolean(set.force);
  return { limits, force };
}

/** PUT /os-quota-sets/{id}: a new limit below what is in use is refused unless `force`d. */
export async function updateQuotaSet(ctx: ComputeContext, projectId: string, body: QuotaSetBody): Promise<Record<string, number>> {
  // The id is stored; longer than the column would be PostgreSQL's error (a 500), not a 400.
  if (projectId.length > 255) throw badRequest(`Project ID ${projectId} is not a valid project.`);
  const { limits, force } = parseLimits(body, 'quota_set');
  if (!force) {
    const used: Partial<Record<string, number>> = { ...(await usage(ctx, projectId)), key_pairs: 0 };
    for (const [resource, limit] of Object.entries(limits)) {
      const inUse = used[resource] ?? 0;
      if (limit >= 0 && limit < inUse) {
        throw badRequest(`Quota limit ${limit} for ${resource} must be greater than or equal to already used and reserved ${inUse}.`);
      }
    }
  }
  await setLimits(ctx, projectId, limits);
  return ordered(await projectLimits(ctx, projectId));
}

/** Only the `default` class means anything to Nova; other classes are kept apart and unused. */
const classOwner = (name: string) => (name === DEFAULT_CLASS ? DEFAULT_CLASS : `class:${name}`);

export async function showQuotaClass(ctx: ComputeContext, name: string): Promise<Record<string, unknown>> {
  const limits = name === DEFAULT_CLASS ? await defaultLimits(ctx) : await projectLimits(ctx, classOwner(name));
  return { id: name, ...ordered(limits) };
}

export async function updateQuotaClass(ctx: ComputeContext, name: string, body: QuotaSetBody): Promise<Record<string, number>> {
  if (name.length > 200) throw badRequest(`Quota class ${name} is not valid.`);
  const { limits } = parseLimits(body, 'quota_class_set');
  await setLimits(ctx, classOwner(name), limits);
  const { id: _id, ...rest } = await showQuotaClass(ctx, name);
  return rest as Record<string, number>;
}
