import { sql, type Kysely } from 'kysely';
import type { ComputeHostRow, ComputeTables } from '../tables.js';

/** What a host holds or asks for. */
export interface Resources {
  vcpus: number;
  memoryMb: number;
  diskGb: number;
}

/** What an agent reports of its host on each start. */
export type HostInventory = Pick<
  ComputeHostRow,
  | 'availability_zone'
  | 'hypervisor_type'
  | 'hypervisor_version'
  | 'host_ip'
  | 'vcpus'
  | 'memory_mb'
  | 'local_gb'
  | 'cpu_allocation_ratio'
  | 'ram_allocation_ratio'
  | 'disk_allocation_ratio'
  | 'reserved_host_memory_mb'
  | 'last_heartbeat'
  | 'updated_at'
>;

/**
 * compute_host and compute_allocation rows (SQL only; zones and liveness live in hosts.ts). A
 * claim is one conditional UPDATE that only succeeds while the host has room, so concurrent
 * boots, whichever scheduler decided them, can never overcommit a host; the allocation row
 * that goes with it is written in the same transaction.
 */
export class HostRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Inserts the host's row, or, when it exists, refreshes its inventory only. */
  async upsert(row: ComputeHostRow, inventory: HostInventory): Promise<void> {
    await this.db
      .insertInto('compute_host')
      .values(row)
      .onConflict((oc) => oc.column('host').doUpdateSet(inventory))
      .execute();
  }

  async get(host: string): Promise<ComputeHostRow | undefined> {
    return this.db.selectFrom('compute_host').selectAll().where('host', '=', host).executeTakeFirst();
  }

  /** Every host, by name. */
  async list(): Promise<ComputeHostRow[]> {
    return this.db.selectFrom('compute_host').selectAll().orderBy('host').execute();
  }

  async heartbeat(host: string): Promise<void> {
    await this.db.updateTable('compute_host').set({ last_heartbeat: new Date().toISOString() }).where('host', '=', host).execute();
  }

  async setEnabled(host: string, enabled: boolean, reason: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('compute_host')
      .set({ disabled: enabled ? 0 : 1, disabled_reason: enabled ? null : reason, updated_at: new Date().toISOString() })
      .where('host', '=', host)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async setForcedDown(host: string, down: boolean): Promise<boolean> {
    const result = await this.db.updateTable('compute_host').set({ forced_down: down ? 1 : 0 }).where('host', '=', host).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(host: string): Promise<void> {
    await this.db.deleteFrom('compute_host').where('host', '=', host).execute();
  }

  /**
   * Takes `wanted` on `host` for the instance; false, with nothing changed, when it does not
   * fit, or when the host is disabled or its heartbeat is older than `aliveSince` (so a
   * scheduler deciding on a slightly old view of the hosts never places on a host that has
   * since been disabled or gone down).
   */
  async claim(host: string, instanceId: string, wanted: Resources, aliveSince?: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('compute_host')
        .set({
          vcpus_used: sql`vcpus_used + ${wanted.vcpus}`,
          memory_mb_used: sql`memory_mb_used + ${wanted.memoryMb}`,
          local_gb_used: sql`local_gb_used + ${wanted.diskGb}`,
          running_vms: sql`running_vms + 1`,
        })
        .where('host', '=', host)
        .where(sql<boolean>`vcpus_used + ${wanted.vcpus} <= vcpus * cpu_allocation_ratio`)
        .where(sql<boolean>`memory_mb_used + ${wanted.memoryMb} <= memory_mb * ram_allocation_ratio - reserved_host_memory_mb`)
        .where(sql<boolean>`local_gb_used + ${wanted.diskGb} <= local_gb * disk_allocation_ratio`)
        .where('disabled', '=', 0)
        .where('forced_down', '=', 0)
        .$if(aliveSince !== undefined, (q) => q.where('last_heartbeat', '>=', (aliveSince as Date).toISOString()))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx
        .insertInto('compute_allocation')
        .values({ instance_id: instanceId, host, vcpus: wanted.vcpus, memory_mb: wanted.memoryMb, disk_gb: wanted.diskGb })
        .execute();
      return true;
    });
  }

  /**
   * Changes an instance's claim on its host to `wanted` (resize). Growing must fit; shrinking
   * always succeeds. False, with nothing changed, when the growth does not fit.
   */
  async reclaim(instanceId: string, wanted: Resources): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const held = await trx.selectFrom('compute_allocation').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
      if (!held) return false;
      const dv = wanted.vcpus - held.vcpus;
      const dm = wanted.memoryMb - held.memory_mb;
      const dd = wanted.diskGb - held.disk_gb;
      let update = trx
        .updateTable('compute_host')
        .set({
          vcpus_used: sql`vcpus_used + ${dv}`,
          memory_mb_used: sql`memory_mb_used + ${dm}`,
          local_gb_used: sql`local_gb_used + ${dd}`,
        })
        .where('host', '=', held.host);
      if (dv > 0) update = update.where(sql<boolean>`vcpus_used + ${dv} <= vcpus * cpu_allocation_ratio`);
      if (dm > 0) update = update.where(sql<boolean>`memory_mb_used + ${dm} <= memory_mb * ram_allocation_ratio - reserved_host_memory_mb`);
      if (dd > 0) update = update.where(sql<boolean>`local_gb_used + ${dd} <= local_gb * disk_allocation_ratio`);
      const result = await update.executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await trx
        .updateTable('compute_allocation')
        .set({ vcpus: wanted.vcpus, memory_mb: wanted.memoryMb, disk_gb: wanted.diskGb })
        .where('instance_id', '=', instanceId)
        .execute();
      return true;
    });
  }

  /** Gives back what the instance holds; a second release finds nothing and changes nothing. */
  async release(instanceId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const held = await trx.deleteFrom('compute_allocation').where('instance_id', '=', instanceId).returningAll().executeTakeFirst();
      if (!held) return;
      await trx
        .updateTable('compute_host')
        .set({
          vcpus_used: sql`vcpus_used - ${held.vcpus}`,
          memory_mb_used: sql`memory_mb_used - ${held.memory_mb}`,
          local_gb_used: sql`local_gb_used - ${held.disk_gb}`,
          running_vms: sql`running_vms - 1`,
        })
        .where('host', '=', held.host)
        .execute();
    });
  }

  /** Recomputes a host's counters from its allocations (Nova's update_available_resource). */
  async reconcile(host: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const sums = await trx
        .selectFrom('compute_allocation')
        .select((eb) => [
          eb.fn.coalesce(eb.fn.sum<number>('vcpus'), eb.lit(0)).as('vcpus'),
          eb.fn.coalesce(eb.fn.sum<number>('memory_mb'), eb.lit(0)).as('memory_mb'),
          eb.fn.coalesce(eb.fn.sum<number>('disk_gb'), eb.lit(0)).as('disk_gb'),
          eb.fn.countAll<number>().as('count'),
        ])
        .where('host', '=', host)
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('compute_host')
        .set({
          vcpus_used: Number(sums.vcpus),
          memory_mb_used: Number(sums.memory_mb),
          local_gb_used: Number(sums.disk_gb),
          running_vms: Number(sums.count),
        })
        .where('host', '=', host)
        .execute();
    });
  }
}
