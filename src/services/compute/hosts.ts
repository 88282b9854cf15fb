import type { Kysely } from 'kysely';
import { newUuid } from '../../core/ids.js';
import { AZ_KEY } from './aggregates.js';
import { badRequest, type ComputeContext } from './context.js';
import type { Instance } from './instances/model.js';
import type { HostState } from './scheduler/types.js';
import type { HostRegistration } from '../../contracts/compute-host.js';
import { AggregateRecords } from './store/aggregates.js';
import { HostRecords, type Resources } from './store/hosts.js';
import { InstanceRecords } from './store/instances.js';
import type { ComputeHostRow, ComputeTables } from './tables.js';

export type { HostRegistration, Resources };

/**
 * Compute hosts (Nova's services and compute nodes) and what instances hold on them: a host's
 * zone is the one an aggregate gives it, else the one its agent registered. Claims are atomic
 * in the store (see HostRecords).
 */
export class ComputeHosts {
  private readonly records: HostRecords;
  private readonly aggregates: AggregateRecords;

  constructor(db: Kysely<ComputeTables>) {
    this.records = new HostRecords(db);
    this.aggregates = new AggregateRecords(db);
  }

  /** Creates the host's row on its agent's first start, refreshes its inventory on later ones. */
  async register(reg: HostRegistration): Promise<ComputeHostRow> {
    const now = new Date().toISOString();
    const inventory = {
      availability_zone: reg.availabilityZone,
      hypervisor_type: reg.hypervisorType,
      hypervisor_version: reg.hypervisorVersion,
      host_ip: reg.hostIp,
      vcpus: reg.vcpus,
      memory_mb: reg.memoryMb,
      local_gb: reg.localGb,
      cpu_allocation_ratio: reg.cpuAllocationRatio,
      ram_allocation_ratio: reg.ramAllocationRatio,
      disk_allocation_ratio: reg.diskAllocationRatio,
      reserved_host_memory_mb: reg.reservedHostMemoryMb,
      last_heartbeat: now,
      updated_at: now,
    };
    await this.records.upsert(
      {
        host: reg.host,
        service_id: newUuid(),
        node_id: newUuid(),
        ...inventory,
        vcpus_used: 0,
        memory_mb_used: 0,
        local_gb_used: 0,
        running_vms: 0,
        disabled: 0,
        disabled_reason: null,
        forced_down: 0,
        created_at: now,
      },
      inventory,
    );
    return (await this.get(reg.host)) as ComputeHostRow;
  }

  /** The host with its zone as an aggregate sets it (else the zone its agent registered). */
  async get(host: string): Promise<ComputeHostRow | undefined> {
    const row = await this.records.get(host);
    return row ? withAggregateZone(row, await this.hostZones()) : undefined;
  }

  /** Every host, each with its zone as an aggregate sets it (else the zone its agent registered). */
  async list(): Promise<ComputeHostRow[]> {
    const rows = await this.records.list();
    const zones = await this.hostZones();
    return rows.map((row) => withAggregateZone(row, zones));
  }

  heartbeat(host: string): Promise<void> {
    return this.records.heartbeat(host);
  }

  setEnabled(host: string, enabled: boolean, reason: string | null): Promise<boolean> {
    return this.records.setEnabled(host, enabled, reason);
  }

  setForcedDown(host: string, down: boolean): Promise<boolean> {
    return this.records.setForcedDown(host, down);
  }

  remove(host: string): Promise<void> {
    return this.records.remove(host);
  }

  /**
   * Takes `wanted` on `host` for the instance; false, with nothing changed, when it does not
   * fit, or when the host is disabled or its heartbeat is older than `aliveSince` (so a
   * scheduler deciding on a slightly old view of the hosts never places on a host that has
   * since been disabled or gone down).
   */
  claim(host: string, instanceId: string, wanted: Resources, aliveSince?: Date): Promise<boolean> {
    return this.records.claim(host, instanceId, wanted, aliveSince);
  }

  /**
   * Changes an instance's claim on its host to `wanted` (resize). Growing must fit; shrinking
   * always succeeds. False, with nothing changed, when the growth does not fit.
   */
  reclaim(instanceId: string, wanted: Resources): Promise<boolean> {
    return this.records.reclaim(instanceId, wanted);
  }

  /** Gives back what the instance holds; a second release finds nothing and changes nothing. */
  release(instanceId: string): Promise<void> {
    return this.records.release(instanceId);
  }

  /** Recomputes a host's counters from its allocations (Nova's update_available_resource). */
  reconcile(host: string): Promise<void> {
    return this.records.reconcile(host);
  }

  /** Every host as the scheduler sees it; `up` from the heartbeat's age. */
  async states(serviceDownTimeSeconds: number, now = Date.now()): Promise<HostState[]> {
    const rows = await this.list();
    return rows.map((row) => hostStateOf(row, serviceDownTimeSeconds, now));
  }

  private hostZones(): Promise<Map<string, string>> {
    return this.aggregates.hostMetadata(AZ_KEY);
  }
}

/** Whether any live instance runs on the host (its zone may not change, its service may not go). */
export function hostHasInstances(ctx: ComputeContext, host: string): Promise<boolean> {
  return new InstanceRecords(ctx.db).anyOnHost(host);
}

/** The live instances on a host, newest first. */
export function instancesOnHost(ctx: ComputeContext, host: string): Promise<Instance[]> {
  return new InstanceRecords(ctx.db).list({ host, deleted: false });
}

/** Deletes a compute host's service; Nova refuses while the host runs instances. */
export async function deleteComputeService(ctx: ComputeContext, hosts: ComputeHosts, host: string): Promise<void> {
  if (await hostHasInstances(ctx, host)) throw badRequest(`Unable to delete compute service that is hosting instances. Migrate or delete the instances first.`);
  await hosts.remove(host);
}

function withAggregateZone(row: ComputeHostRow, zones: ReadonlyMap<string, string>): ComputeHostRow {
  const zone = zones.get(row.host);
  return zone === undefined ? row : { ...row, availability_zone: zone };
}

export function isUp(row: Pick<ComputeHostRow, 'last_heartbeat' | 'forced_down'>, serviceDownTimeSeconds: number, now = Date.now()): boolean {
  return row.forced_down === 0 && now - Date.parse(row.last_heartbeat) <= serviceDownTimeSeconds * 1000;
}

export function hostStateOf(row: ComputeHostRow, serviceDownTimeSeconds: number, now = Date.now()): HostState {
  return {
    host: row.host,
    availabilityZone: row.availability_zone,
    hypervisorType: row.hypervisor_type,
    vcpus: row.vcpus,
    memoryMb: row.memory_mb,
    localGb: row.local_gb,
    vcpusUsed: row.vcpus_used,
    memoryMbUsed: row.memory_mb_used,
    localGbUsed: row.local_gb_used,
    runningVms: row.running_vms,
    cpuAllocationRatio: Number(row.cpu_allocation_ratio),
    ramAllocationRatio: Number(row.ram_allocation_ratio),
    diskAllocationRatio: Number(row.disk_allocation_ratio),
    reservedHostMemoryMb: row.reserved_host_memory_mb,
    enabled: row.disabled === 0,
    up: isUp(row, serviceDownTimeSeconds, now),
  };
}
