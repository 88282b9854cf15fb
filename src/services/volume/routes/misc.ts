import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { authorize, callerFrom } from '../context.js';
import { QUOTA_DEFAULTS, QUOTA_RESOURCES, quotaLimits, quotaUsage, resetQuotas, setQuota } from '../quotas.js';
import type { VolumeService } from '../service.js';
import { requireVersion } from '../microversion.js';
import { cinderTime } from '../render.js';
import { virtualFree } from '../scheduler.js';
import { q, truthy } from './listing.js';

type ProjectParams = { target: string };

const EXTENSIONS: Array<[string, string, string]> = [
  ['os-admin-actions', 'AdminActions', 'Enable admin actions.'],
  ['os-availability-zone', 'AvailabilityZones', 'Describe Availability Zones.'],
  ['os-hosts', 'Hosts', 'Admin-only host administration.'],
  ['os-extended-snapshot-attributes', 'ExtendedSnapshotAttributes', 'Extended SnapshotAttributes support.'],
  ['os-quota-sets', 'Quotas', 'Quota management support.'],
  ['os-quota-class-sets', 'QuotaClasses', 'Quota classes management support.'],
  ['os-services', 'Services', 'Services support.'],
  ['os-types-manage', 'TypesManage', 'Types manage support.'],
  ['os-types-extra-specs', 'TypesExtraSpecs', 'Type extra specs support.'],
  ['os-volume-actions', 'VolumeActions', 'Enable volume actions.'],
  ['os-volume-type-access', 'VolumeTypeAccess', 'Volume type access support.'],
  ['os-vol-host-attr', 'VolumeHostAttribute', 'Expose host as an attribute of a volume.'],
  ['os-vol-image-meta', 'VolumeImageMetadata', 'Show image metadata associated with the volume.'],
  ['os-vol-tenant-attr', 'VolumeTenantAttribute', 'Expose the internal project_id as an attribute of a volume.'],
  ['scheduler-stats', 'Scheduler_stats', 'Scheduler stats support.'],
];

/**
 * Cinder's resource_filters (3.33+): the query filters each list answers to. Cinder reads them
 * from its resource_filters.json; here they are the ones Kumo's list routes read (routes/volumes.ts,
 * snapshots.ts, attachments.ts, types.ts). Keep the two together.
 */
export const RESOURCE_FILTERS: Record<string, string[]> = {
  volume: ['name', 'status', 'metadata', 'bootable', 'availability_zone', 'volume_type'],
  snapshot: ['name', 'status', 'volume_id'],
  attachment: ['volume_id', 'status', 'instance_id'],
  volume_type: ['is_public'],
};

/** Quotas, limits, availability zones, services and pools. */
export function miscRoutes(app: FastifyInstance, svc: VolumeService): void {
  const ctx = svc.ctx;

  app.get<{ Params: ProjectParams }>('/os-quota-sets/:target', async (request) => {
    const caller = callerFrom(request);
    const target = request.params.target;
    authorize(ctx, caller, 'volume_extension:quotas:show', { project_id: target });
    const limits = await quotaLimits(ctx.db, target);
    if (truthy(q(request.query, 'usage'))) {
      const used = await quotaUsage(ctx.db, target);
      const body: Record<string, unknown> = { id: target };
      for (const key of QUOTA_RESOURCES) body[key] = { limit: limits[key], in_use: used[key] ?? 0, reserved: 0, allocated: 0 };
      return { quota_set: body };
    }
    return { quota_set: { id: target, ...limits } };
  });
  app.get<{ Params: ProjectParams }>('/os-quota-sets/:target/defaults', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:quotas:show', { project_id: request.params.target });
    return { quota_set: { id: request.params.target, ...QUOTA_DEFAULTS } };
  });
  app.put<{ Params: ProjectParams; Body: { quota_set: Record<string, unknown> } }>(
    '/os-quota-sets/:target',
    { schema: { body: { type: 'object', required: ['quota_set'], properties: { quota_set: { type: 'object' } } } } },
    async (request) => {
      const caller = callerFrom(request);
      const target = request.params.target;
      authorize(ctx, caller, 'volume_extension:quotas:update', { project_id: target });
      const changes: Array<[string, number]> = [];
      for (const [key, value] of Object.entries(request.body.quota_set)) {
        if (key === 'tenant_id' || key === 'id') continue;
        if (!QUOTA_RESOURCES.includes(key)) throw new ApiError(400, `Invalid input received: Bad key(s) in quota set: ${key}`);
        const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 2 ** 31 - 1) throw new ApiError(400, `Invalid input received: Quota limit ${String(value)} for ${key} must be an integer of -1 or more.`);
        changes.push([key, n]);
      }
      const used = await quotaUsage(ctx.db, target);
      for (const [key, n] of changes) {
        if (n >= 0 && key !== 'per_volume_gigabytes' && (used[key] ?? 0) > n) throw new ApiError(400, `Invalid input received: Quota limit ${n} for ${key} must be equal or greater than existing resources (${used[key]}).`);
      }
      for (const [key, n] of changes) await setQuota(ctx.db, target, key, n);
      return { quota_set: await quotaLimits(ctx.db, target) };
    },
  );
  app.delete<{ Params: ProjectParams }>('/os-quota-sets/:target', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:quotas:delete', { project_id: request.params.target });
    await resetQuotas(ctx.db, request.params.target);
    return null;
  });
  app.get<{ Params: { cls: string } }>('/os-quota-class-sets/:cls', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:quota_classes');
    return { quota_class_set: { id: request.params.cls, ...QUOTA_DEFAULTS } };
  });

  app.get('/limits', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'limits_extension:used_limits', { project_id: caller.projectId });
    const limits = await quotaLimits(ctx.db, caller.projectId);
    const used = await quotaUsage(ctx.db, caller.projectId);
    return {
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: limits.volumes,
          maxTotalSnapshots: limits.snapshots,
          maxTotalVolumeGigabytes: limits.gigabytes,
          maxTotalBackups: limits.backups,
          maxTotalBackupGigabytes: limits.backup_gigabytes,
          totalVolumesUsed: used.volumes,
          totalSnapshotsUsed: used.snapshots,
          totalGigabytesUsed: used.gigabytes,
          totalBackupsUsed: 0,
          totalBackupGigabytesUsed: 0,
        },
      },
    };
  });

  // Cinder's extensions list (deprecated, but tempest and old clients read it).
  app.get('/extensions', async () => ({
    extensions: EXTENSIONS.map(([alias, name, description]) => ({ alias, name, description, links: [], updated: '2022-08-31T00:00:00+00:00' })),
  }));

  app.get('/os-availability-zone', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:availability_zone_list');
    const backends = await svc.volumes.scheduler.list();
    const zones = new Map<string, boolean>();
    for (const b of backends) zones.set(b.availability_zone, (zones.get(b.availability_zone) ?? false) || (b.disabled === 0 && svc.volumes.scheduler.isUp(b)));
    return { availabilityZoneInfo: [...zones].map(([zoneName, available]) => ({ zoneName, zoneState: { available } })) };
  });

  // Cinder's os-hosts: the volume services' hosts, as `cinder host-list` shows them.
  app.get('/os-hosts', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:hosts');
    const backends = await svc.volumes.scheduler.list();
    return {
      hosts: backends.map((b) => ({
        service: 'cinder-volume',
        host_name: b.host,
        zone: b.availability_zone,
        'service-status': b.disabled === 0 ? 'available' : 'unavailable',
        'service-state': svc.volumes.scheduler.isUp(b) ? 'enabled' : 'disabled',
        'last-update': cinderTime(b.last_heartbeat),
      })),
    };
  });

  app.get('/os-services', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:services:index');
    const backends = await svc.volumes.scheduler.list();
    const binary = q(request.query, 'binary');
    const host = q(request.query, 'host');
    const newest = backends.reduce((t, b) => (b.last_heartbeat > t ? b.last_heartbeat : t), '');
    const services = [
      // The scheduler runs inside the API process: up whenever this answers.
      { binary: 'cinder-scheduler', host: ctx.config.hostName, zone: 'nova', status: 'enabled', state: 'up', updated_at: cinderTime(newest || new Date().toISOString()), disabled_reason: null },
      ...backends.map((b) => ({
        binary: 'cinder-volume',
        host: b.host,
        zone: b.availability_zone,
        status: b.disabled === 0 ? 'enabled' : 'disabled',
        state: svc.volumes.scheduler.isUp(b) ? 'up' : 'down',
        updated_at: cinderTime(b.last_heartbeat),
        disabled_reason: b.disabled_reason,
      })),
    ];
    return { services: services.filter((s) => (binary === undefined || s.binary === binary) && (host === undefined || s.host === host)) };
  });

  // Cinder's capabilities of one backend host (`host@backend`, as os-hosts names it), in its
  // capabilities view's shape; the properties are the standard ones the backend reports.
  app.get<{ Params: { host: string } }>('/capabilities/:host', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:capabilities');
    const backend = (await svc.volumes.scheduler.list()).find((b) => b.host === request.params.host);
    if (!backend) throw new ApiError(404, `Can't find service: ${request.params.host}`);
    return {
      namespace: `OS::Storage::Capabilities::${backend.host}`,
      vendor_name: 'Kumo',
      volume_backend_name: backend.backend_name,
      pool_name: null,
      driver_version: '1.0',
      storage_protocol: backend.storage_protocol,
      display_name: null,
      description: null,
      visibility: null,
      replication_targets: [],
      properties: backend.thin === 1 ? { thin_provisioning: { title: 'Thin Provisioning', description: 'Sets thin provisioning.', type: 'boolean' } } : {},
    };
  });

  app.get('/resource_filters', async (request) => {
    requireVersion(request, '3.33');
    const resource = q(request.query, 'resource');
    const chosen = Object.entries(RESOURCE_FILTERS).filter(([name]) => resource === undefined || name === resource);
    return { resource_filters: chosen.map(([name, filters]) => ({ resource: name, filters })) };
  });

  app.get('/scheduler-stats/get_pools', async (request) => {
    authorize(ctx, callerFrom(request), 'scheduler_extension:scheduler_stats:get_pools');
    const detail = truthy(q(request.query, 'detail'));
    const backends = await svc.volumes.scheduler.list();
    return {
      pools: backends.map((b) => ({
        name: `${b.host}#${b.backend_name}`,
        ...(detail
          ? {
              capabilities: {
                volume_backend_name: b.backend_name,
                driver_version: '1.0',
                storage_protocol: b.storage_protocol,
                total_capacity_gb: b.total_gb,
                free_capacity_gb: b.free_gb,
                allocated_capacity_gb: b.allocated_gb,
                provisioned_capacity_gb: b.allocated_gb,
                virtual_free_capacity_gb: virtualFree(b),
                reserved_percentage: b.reserved_percentage,
                thin_provisioning_support: b.thin === 1,
                max_over_subscription_ratio: Number(b.max_over_subscription_ratio),
                multiattach: b.multiattach === 1,
                online_extend_support: b.online_extend === 1,
                vendor_name: 'Kumo',
              },
            }
          : {}),
      })),
    };
  });
}
