import type { FastifyInstance } from 'fastify';
import { availabilityZones } from '../availability-zones.js';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { absoluteLimits } from '../limits.js';
import { queryValue } from '../validate.js';

/** /os-availability-zone and /limits. */
export function zoneAndLimitRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  app.get('/os-availability-zone', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-availability-zone:list');
    return { availabilityZoneInfo: await availabilityZones(ctx, false) };
  });
  app.get('/os-availability-zone/detail', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-availability-zone:detail');
    return { availabilityZoneInfo: await availabilityZones(ctx, true) };
  });
  app.get('/limits', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:limits');
    const other = queryValue(request.query, 'tenant_id');
    let projectId = caller.projectId;
    if (other !== undefined && other !== caller.projectId) {
      authorize(ctx, caller, 'os_compute_api:limits:other_project', { project_id: other });
      projectId = other;
    }
    const absolute = await absoluteLimits(ctx, projectId, caller.userId);
    // From 2.36 the limits Neutron enforces are no longer shown by Nova.
    if (request.computeVersion.atLeast('2.36')) {
      for (const key of ['maxSecurityGroupRules', 'maxSecurityGroups', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed']) delete absolute[key];
    }
    // From 2.39 the image metadata quota is Glance's, and Nova no longer shows one.
    if (request.computeVersion.atLeast('2.39')) delete absolute.maxImageMeta;
    return { limits: { rate: [], absolute } };
  });
}
