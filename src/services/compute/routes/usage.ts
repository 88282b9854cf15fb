import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { instancesActiveIn, tenantUsages, usagePeriod, type UsagePeriod } from '../usage.js';
import { queryValue } from '../validate.js';
import { usageIndexQuery, usageShowQuery } from '../schemas/usage.js';
import { queryByVersion } from '../schemas/validation.js';

/** Nova's max_limit: the page size of 2.40's usage paging when the request names none. */
const MAX_LIMIT = 1000;

interface UsagePage {
  instances: Instance[];
  /** The next page's link, when this one is full (2.40). */
  next?: string;
}

/**
 * The instances that ran in the window, oldest first. From 2.40 a page of them: `limit`
 * (Nova's max_limit without one) after `marker` (an instance id), with a link to the next.
 */
async function usageInstances(ctx: ComputeContext, request: FastifyRequest, period: UsagePeriod, projectId: string | undefined, path: string): Promise<UsagePage> {
  const all = await instancesActiveIn(ctx, period, projectId);
  if (!request.computeVersion.atLeast('2.40')) return { instances: all };
  const q = (key: string) => queryValue(request.query, key);
  const limitRaw = q('limit');
  // The route's query schema let through digits only.
  const limit = limitRaw === undefined ? MAX_LIMIT : Number(limitRaw);
  let rest = all;
  const marker = q('marker');
  if (marker !== undefined) {
    const at = all.findIndex((i) => i.id === marker);
    if (at < 0) throw badRequest(`marker [${marker}] not found`);
    rest = all.slice(at + 1);
  }
  const instances = rest.slice(0, Math.min(limit, MAX_LIMIT));
  const last = instances.at(-1);
  if (!last || instances.length < limit) return { instances };
  const params = new URLSearchParams();
  for (const key of ['start', 'end', 'detailed']) {
    const value = q(key);
    if (value !== undefined) params.set(key, value);
  }
  params.set('limit', String(limit));
  params.set('marker', last.id);
  return { instances, next: `${path}?${params.toString()}` };
}

const TRUTHY = new Set(['1', 'true', 'yes', 'on', 't', 'y']);

/**
 * os-simple-tenant-usage: hours, vCPU-, RAM- and disk-hours of instances over a window, as
 * Horizon's overview asks for its project (show) and an admin for all of them (index). Deleted
 * instances count for the time they ran.
 */
export function usageRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  const base = () => `${ctx.config.publicUrl}/compute/v2.1/os-simple-tenant-usage`;

  app.get('/os-simple-tenant-usage', queryByVersion(usageIndexQuery), async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-simple-tenant-usage:list');
    const q = (key: string) => queryValue(request.query, key);
    const period = usagePeriod(q('start'), q('end'));
    const detailed = TRUTHY.has((q('detailed') ?? '').toLowerCase());
    const page = await usageInstances(ctx, request, period, undefined, base());
    const usages = tenantUsages(page.instances, period);
    return {
      tenant_usages: usages.map(({ server_usages, ...totals }) => (detailed ? { ...totals, server_usages } : totals)),
      ...(page.next ? { tenant_usages_links: [{ rel: 'next', href: page.next }] } : {}),
    };
  });

  app.get<{ Params: { tenantId: string } }>('/os-simple-tenant-usage/:tenantId', queryByVersion(usageShowQuery), async (request) => {
    const caller = callerFrom(request);
    const projectId = request.params.tenantId;
    authorize(ctx, caller, 'os_compute_api:os-simple-tenant-usage:show', { project_id: projectId });
    const q = (key: string) => queryValue(request.query, key);
    const period = usagePeriod(q('start'), q('end'));
    const page = await usageInstances(ctx, request, period, projectId, `${base()}/${encodeURIComponent(projectId)}`);
    const [usage] = tenantUsages(page.instances, period);
    // Nova answers an empty object for a project that ran nothing in the window.
    return { tenant_usage: usage ?? {}, ...(page.next ? { tenant_usage_links: [{ rel: 'next', href: page.next }] } : {}) };
  });
}
