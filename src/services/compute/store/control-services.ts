import type { Kysely } from 'kysely';
import { newUuid } from '../../../core/ids.js';
import type { ComputeTables, ControlServiceRow } from '../tables.js';

/** Rows of the conductor's and scheduler's services, one per (host, binary) (SQL only; see control-services.ts). */
export class ControlServiceRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Creates the row on the first beat; later beats move its heartbeat. */
  async beat(host: string, binary: string, at: string): Promise<void> {
    await this.db
      .insertInto('compute_control_service')
      .values({ host, binary, service_id: newUuid(), last_heartbeat: at, created_at: at })
      .onConflict((oc) => oc.columns(['host', 'binary']).doUpdateSet({ last_heartbeat: at }))
      .execute();
  }

  async list(): Promise<ControlServiceRow[]> {
    return this.db.selectFrom('compute_control_service').selectAll().orderBy('host').orderBy('binary').execute();
  }

  async remove(serviceId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('compute_control_service').where('service_id', '=', serviceId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}
