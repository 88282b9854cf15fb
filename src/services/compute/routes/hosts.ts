import { loadavg, uptime as osUptime } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, notFound, type ComputeContext } from '../context.js';
import { deleteComputeService, instancesOnHost, isUp, type ComputeHosts } from '../hosts.js';
import { ControlServices, controlServiceIsUp } from '../control-services.js';
import type { ComputeHostRow } from '../tables.js';
import { listHypervisorsQuery, listServicesQuery, updateService } from '../schemas/services.js';
import { bodyByVersion, queryByVersion } from '../schemas/validation.js';
import { toBoolean } from '../validate.js';

const apiTime = (iso: string) => `${iso.slice(0, 19)}.${iso.slice(20, 23)}000`;

/** os-services (the compute service of each host) and os-hypervisors (its compute node). */
export function hostRoutes(app: FastifyInstance, ctx: ComputeContext, hosts: ComputeHosts): void {
  const downTime = () => ctx.config.compute.serviceDownTimeSeconds;
  const controlServices = new ControlServices(ctx.db);
  const useUuids = (version: { atLeast(v: string): boolean }) => version.atLeast('2.53');

  const renderService = (row: ComputeHostRow, uuids: boolean, forcedDown: boolean) => ({
    id: uuids ? row.service_id : serviceNumber(row),
    binary: 'nova-compute',
    host: row.host,
    zone: row.availability_zone,
    status: row.disabled ? 'disabled' : 'enabled',
    state: isUp(row, downTime()) ? 'up' : 'down',
    updated_at: apiTime(row.last_heartbeat),
    disabled_reason: row.disabled_reason,
    ...(forcedDown ? { forced_down: row.forced_down === 1 } : {}),
  });

  app.get('/os-services', { schema: { querystring: listServicesQuery } }, async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-services:list');
    const q = request.query as Record<string, string | undefined>;
    const v = request.computeVersion;
    const computes = (await hosts.list()).map((r) => renderService(r, useUuids(v), v.atLeast('2.11')));
    const now = Date.now();
    // The conductor's and scheduler's services, in Nova's `internal` zone, first as Nova lists them.
    const controls = (await controlServices.list()).map((r) => ({
      id: useUuids(v) ? r.service_id : numberOf(r.service_id),
      binary: r.binary,
      host: r.host,
      zone: 'internal',
      status: 'enabled',
      state: controlServiceIsUp(r, downTime(), now) ? 'up' : 'down',
      updated_at: apiTime(r.last_heartbeat),
      disabled_reason: null,
      ...(v.atLeast('2.11') ? { forced_down: false } : {}),
    }));
    let services = [...controls, ...computes];
    if (q.host) services = services.filter((s) => s.host === q.host);
    if (q.binary) services = services.filter((s) => s.binary === q.binary);
    return { services };
  });

  // Before 2.53 services are enabled and disabled by host and binary.
  type ServiceBody = { host: string; binary: string; disabled_reason?: string; forced_down?: boolean | string };
  const setStatus = (enable: boolean, withReason: boolean) => async (request: FastifyRequest<{ Body: ServiceBody }>) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-services:update');
    const { host, binary } = request.body;
    if (binary !== 'nova-compute') throw notFound(`Service ${binary} on host ${host} could not be found.`);
    const reason = withReason ? (request.body.disabled_reason ?? null) : null;
    if (!(await hosts.setEnabled(host, enable, reason))) throw notFound(`Compute host ${host} could not be found.`);
    return { service: { host, binary, status: enable ? 'enabled' : 'disabled', ...(reason !== null ? { disabled_reason: reason } : {}) } };
  };
  app.put<{ Body: ServiceBody }>('/os-services/enable', bodyByVersion(updateService), setStatus(true, false));
  app.put<{ Body: ServiceBody }>('/os-services/disable', bodyByVersion(updateService), setStatus(false, false));
  app.put<{ Body: ServiceBody }>('/os-services/disable-log-reason', bodyByVersion(updateService), setStatus(false, true));
  app.put<{ Body: ServiceBody }>('/os-services/force-down', bodyByVersion({ '2.11': updateService['2.11'] }), async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-services:update');
    if (!request.computeVersion.atLeast('2.11')) throw notFound('The resource could not be found.');
    const { host, forced_down: forcedDown } = request.body;
    // Nova's force-down requires the flag (its schema does not).
    if (forcedDown === undefined) throw badRequest('Missing forced_down field');
    const down = toBoolean(forcedDown);
    if (!(await hosts.setForcedDown(host, down))) throw notFound(`Compute host ${host} could not be found.`);
    return { service: { host, binary: 'nova-compute', forced_down: down } };
  });

  app.delete<{ Params: { id: string } }>('/os-services/:id', async (request, reply) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-services:delete');
    const control = (await controlServices.list()).find((r) => r.service_id === request.params.id || String(numberOf(r.service_id)) === request.params.id);
    if (control) {
      await controlServices.remove(control.service_id);
      reply.code(204).send();
      return;
    }
    const row = (await hosts.list()).find((r) => r.service_id === request.params.id || String(serviceNumber(r)) === request.params.id);
    if (!row) throw notFound(`Service ${request.params.id} could not be found.`);
    await deleteComputeService(ctx, hosts, row.host);
    reply.code(204).send();
  });

  const renderHypervisor = (row: ComputeHostRow, detail: boolean, uuids: boolean, cpuInfoObject = false) => ({
    id: uuids ? row.node_id : serviceNumber(row),
    hypervisor_hostname: row.host,
    state: isUp(row, downTime()) ? 'up' : 'down',
    status: row.disabled ? 'disabled' : 'enabled',
    ...(detail
      ? {
          hypervisor_type: row.hypervisor_type,
          hypervisor_version: row.hypervisor_version,
          host_ip: row.host_ip,
          vcpus: row.vcpus,
          memory_mb: row.memory_mb,
          local_gb: row.local_gb,
          vcpus_used: row.vcpus_used,
          memory_mb_used: row.memory_mb_used + row.reserved_host_memory_mb,
          local_gb_used: row.local_gb_used,
          free_ram_mb: row.memory_mb - row.memory_mb_used - row.reserved_host_memory_mb,
          free_disk_gb: row.local_gb - row.local_gb_used,
          current_workload: 0,
          running_vms: row.running_vms,
          disk_available_least: row.local_gb - row.local_gb_used,
          // A JSON string before 2.28, the object itself from 2.28.
          cpu_info: cpuInfoObject ? {} : '{}',
          service: { host: row.host, id: uuids ? row.service_id : serviceNumber(row), disabled_reason: row.disabled_reason },
        }
      : {}),
  });

  /** From 2.33 the lists page with limit and marker (a hypervisor id). */
  const page = async (request: FastifyRequest, detail: boolean) => {
    const v = request.computeVersion;
    let rows = await hosts.list();
    const q = request.query as Record<string, string | undefined>;
    let next: string | undefined;
    if (v.atLeast('2.33')) {
      const idOf = (r: ComputeHostRow) => String(useUuids(v) ? r.node_id : serviceNumber(r));
      if (q.marker !== undefined) {
        const at = rows.findIndex((r) => idOf(r) === q.marker);
        if (at < 0) throw badRequest(`marker [${q.marker}] not found`);
        rows = rows.slice(at + 1);
      }
      if (q.limit !== undefined) {
        // The route's query schema let through digits only.
        const limit = Number(q.limit);
        if (rows.length > limit) {
          rows = rows.slice(0, limit);
          const last = rows.at(-1);
          if (last) next = idOf(last);
        }
      }
    }
    const base = `${ctx.config.publicUrl}/compute/v2.1/os-hypervisors${detail ? '/detail' : ''}`;
    return {
      hypervisors: rows.map((r) => renderHypervisor(r, detail, useUuids(v), v.atLeast('2.28'))),
      ...(next ? { hypervisors_links: [{ rel: 'next', href: `${base}?limit=${q.limit}&marker=${next}` }] } : {}),
    };
  };
  app.get('/os-hypervisors', queryByVersion({ '2.33': listHypervisorsQuery }), async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:list');
    return page(request, false);
  });
  app.get('/os-hypervisors/detail', queryByVersion({ '2.33': listHypervisorsQuery }), async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:list-detail');
    return page(request, true);
  });
  app.get('/os-hypervisors/statistics', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:statistics');
    const rows = await hosts.list();
    const sum = (f: (r: ComputeHostRow) => number) => rows.reduce((total, r) => total + f(r), 0);
    return {
      hypervisor_statistics: {
        count: rows.length,
        vcpus: sum((r) => r.vcpus),
        vcpus_used: sum((r) => r.vcpus_used),
        memory_mb: sum((r) => r.memory_mb),
        memory_mb_used: sum((r) => r.memory_mb_used + r.reserved_host_memory_mb),
        free_ram_mb: sum((r) => r.memory_mb - r.memory_mb_used - r.reserved_host_memory_mb),
        local_gb: sum((r) => r.local_gb),
        local_gb_used: sum((r) => r.local_gb_used),
        free_disk_gb: sum((r) => r.local_gb - r.local_gb_used),
        disk_available_least: sum((r) => r.local_gb - r.local_gb_used),
        running_vms: sum((r) => r.running_vms),
        current_workload: 0,
      },
    };
  });
  const findHypervisor = async (id: string) => {
    const row = (await hosts.list()).find((r) => r.node_id === id || String(serviceNumber(r)) === id);
    if (!row) throw notFound(`Hypervisor with ID '${id}' could not be found.`);
    return row;
  };
  app.get<{ Params: { id: string } }>('/os-hypervisors/:id', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:show');
    const row = await findHypervisor(request.params.id);
    return { hypervisor: renderHypervisor(row, true, useUuids(request.computeVersion), request.computeVersion.atLeast('2.28')) };
  });
  // Before 2.88 the uptime is its own resource; `openstack hypervisor show` asks for it.
  app.get<{ Params: { id: string } }>('/os-hypervisors/:id/uptime', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:uptime');
    const row = await findHypervisor(request.params.id);
    return { hypervisor: { ...renderHypervisor(row, false, useUuids(request.computeVersion)), uptime: uptimeLine() } };
  });

  // Before 2.53 a hostname pattern (a substring, as Nova's SQL LIKE '%pattern%') finds
  // hypervisors, optionally with their servers; from 2.53 the list's query parameters do it.
  const matching = async (request: FastifyRequest<{ Params: { pattern: string } }>) => {
    if (request.computeVersion.atLeast('2.53')) throw notFound('The resource could not be found.');
    const pattern = request.params.pattern;
    const rows = (await hosts.list()).filter((r) => r.host.includes(pattern));
    if (rows.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
    return rows;
  };
  app.get<{ Params: { pattern: string } }>('/os-hypervisors/:pattern/search', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:search');
    return { hypervisors: (await matching(request)).map((r) => renderHypervisor(r, false, false)) };
  });
  app.get<{ Params: { pattern: string } }>('/os-hypervisors/:pattern/servers', async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-hypervisors:servers');
    const rows = await matching(request);
    const hypervisors = [];
    for (const row of rows) {
      const servers = await instancesOnHost(ctx, row.host);
      // Nova leaves `servers` out of a hypervisor that runs none.
      hypervisors.push({ ...renderHypervisor(row, false, false), ...(servers.length > 0 ? { servers: servers.map((s) => ({ uuid: s.id, name: s.name })) } : {}) });
    }
    return { hypervisors };
  });

}

/** What `uptime` prints, e.g. ` 17:37:14 up  2:33,  0 users,  load average: 0.33, 0.36, 0.34`, as Nova's libvirt driver reports it. */
function uptimeLine(now = new Date()): string {
  const seconds = Math.floor(osUptime());
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const clock = `${hours}:${String(minutes).padStart(2, '0')}`;
  const up = days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
  const load = loadavg().map((l) => l.toFixed(2)).join(', ');
  return ` ${now.toTimeString().slice(0, 8)} up ${up},  0 users,  load average: ${load}`;
}

/**
 * Before 2.53 services and hypervisors have integer ids; ours are UUIDs, so the integer is
 * derived from the UUID (stable, and unique enough for the handful of hosts of a cloud).
 */
function serviceNumber(row: ComputeHostRow): number {
  return numberOf(row.service_id);
}

function numberOf(uuid: string): number {
  return Number.parseInt(uuid.replace(/-/g, '').slice(0, 7), 16);
}
