import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { InstanceRecords } from '../instances/store.js';
import { tenantUsages, usagePeriod } from '../usage.js';
import { queryValue } from '../validate.js';

const TRUTHY = new Set(['1', 'true', 'yes', 'on', 't', 'y']);

/**
 * os-simple-tenant-usage: hours, vCPU-, RAM- and disk-hours of instances over a window, as
 * Horizon's overview asks for its project (show) and an admin for all of them (index). Deleted
 * instances count for the time they ran.
 */
export function usageRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  const records = new InstanceRecords(ctx.db);

  app.get('/os-simple-tenant-usage', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-simple-tenant-usage:list');
    const q = (key: string) => queryValue(request.query, key);
    const period = usagePeriod(q('start'), q('end'));
    const detailed = TRUTHY.has((q('detailed') ?? '').toLowerCase());
    const usages = tenantUsages(await records.list({}), period);
    return { tenant_usages: usages.map(({ server_usages, ...totals }) => (detailed ? { ...totals, server_usages } : totals)) };
  });

  app.get<{ Params: { tenantId: string } }>('/os-simple-tenant-usage/:tenantId', async (request) => {
    const caller = callerFrom(request);
    const projectId = request.params.tenantId;
    authorize(ctx, caller, 'os_compute_api:os-simple-tenant-usage:show', { project_id: projectId });
    const q = (key: string) => queryValue(request.query, key);
    const period = usagePeriod(q('start'), q('end'));
    const [usage] = tenantUsages(await records.list({ projectId }), period);
    // Nova answers an empty object for a project that ran nothing in the window.
    return { tenant_usage: usage ?? {} };
  });
}
