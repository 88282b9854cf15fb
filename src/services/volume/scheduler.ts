import { sql, type Kysely } from 'kysely';
import type { BackendCapabilities } from '../../contracts/volume.js';
import type { BackendRow, VolumeTables } from './tables.js';

/** What a volume needs from a backend (Cinder's request_spec, the parts the filters read). */
export interface VolumeRequest {
  sizeGb: number;
  availabilityZone?: string;
  multiattach: boolean;
  /** The type's `volume_backend_name` extra spec, when it names one. */
  backendName?: string;
}

/**
 * Cinder's filter scheduler, over the backends volume agents report: AvailabilityZoneFilter,
 * CapacityFilter (thin provisioning with over-subscription, reserved percentage),
 * CapabilitiesFilter (backend name, multiattach), then CapacityWeigher (most virtual free
 * space first). The chosen backend is then claimed atomically (claim below); a claim that
 * loses a race moves on to the next backend.
 */
export class VolumeScheduler {
  constructor(
    private readonly db: Kysely<VolumeTables>,
    private readonly serviceDownTimeSeconds: number,
  ) {}

  /** Records a backend's report (insert or refresh), keeping its claims. */
  async report(caps: BackendCapabilities, now = new Date()): Promise<void> {
    const values = {
      backend_name: caps.backendName,
      driver: caps.driver,
      availability_zone: caps.availabilityZone,
      total_gb: Math.floor(caps.totalCapacityGb),
      free_gb: Math.floor(caps.freeCapacityGb),
      reserved_percentage: caps.reservedPercentage,
      max_over_subscription_ratio: caps.maxOverSubscriptionRatio,
      thin: caps.thinProvisioning ? 1 : 0,
      online_extend: caps.onlineExtend ? 1 : 0,
      multiattach: caps.multiattach ? 1 : 0,
      storage_protocol: caps.storageProtocol,
      last_heartbeat: now.toISOString(),
    };
    await this.db
      .insertInto('volume_backend')
      .values({ host: caps.host, ...values, allocated_gb: 0, disabled: 0, disabled_reason: null, created_at: now.toISOString() })
      .onConflict((oc) => oc.column('host').doUpdateSet(values))
      .execute();
  }

  async list(): Promise<BackendRow[]> {
    return this.db.selectFrom('volume_backend').selectAll().orderBy('host').execute();
  }

  isUp(row: BackendRow, now = Date.now()): boolean {
    return now - Date.parse(row.last_heartbeat) <= this.serviceDownTimeSeconds * 1000;
  }

  /** The backends that pass the filters, best first. */
  candidates(rows: BackendRow[], req: VolumeRequest, now = Date.now()): BackendRow[] {
    return rows
      .filter((row) => row.disabled === 0 && this.isUp(row, now))
      .filter((row) => !req.availabilityZone || row.availability_zone === req.availabilityZone)
      .filter((row) => !req.backendName || row.backend_name === req.backendName)
      .filter((row) => !req.multiattach || row.multiattach === 1)
      .filter((row) => req.sizeGb <= virtualFree(row))
      .sort((a, b) => virtualFree(b) - virtualFree(a) || a.host.localeCompare(b.host));
  }

  /** Places a volume of `req.sizeGb`: the host it was claimed on, or null when none fits. */
  async place(req: VolumeRequest): Promise<string | null> {
    const since = new Date(Date.now() - this.serviceDownTimeSeconds * 1000);
    for (const row of this.candidates(await this.list(), req)) {
      if (await this.claim(row.host, req.sizeGb, since)) return row.host;
    }
    return null;
  }

  /**
   * Takes `sizeGb` of `host`'s virtual capacity in one conditional update: false, with nothing
   * changed, when it no longer fits (another claim won) or the backend went down or was disabled.
   */
  async claim(host: string, sizeGb: number, aliveSince?: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('volume_backend')
      .set({ allocated_gb: sql`allocated_gb + ${sizeGb}` })
      .where('host', '=', host)
      .where('disabled', '=', 0)
      .where(sql<boolean>`allocated_gb + ${sizeGb} <= total_gb * (100 - reserved_percentage) / 100.0 * (case when thin = 1 then max_over_subscription_ratio else 1 end)`)
      .$if(aliveSince !== undefined, (q) => q.where('last_heartbeat', '>=', (aliveSince as Date).toISOString()))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives back a volume's size (it was deleted, or its creation failed before any data). */
  async release(host: string, sizeGb: number): Promise<void> {
    await this.db
      .updateTable('volume_backend')
      .set({ allocated_gb: sql`case when allocated_gb > ${sizeGb} then allocated_gb - ${sizeGb} else 0 end` })
      .where('host', '=', host)
      .execute();
  }
}

/** Cinder's virtual free capacity: what thin over-subscription allows, minus the reserve and claims. */
export function virtualFree(row: Pick<BackendRow, 'total_gb' | 'allocated_gb' | 'reserved_percentage' | 'thin' | 'max_over_subscription_ratio'>): number {
  const usable = (row.total_gb * (100 - row.reserved_percentage)) / 100;
  const ratio = row.thin === 1 ? Number(row.max_over_subscription_ratio) : 1;
  return usable * ratio - row.allocated_gb;
}
