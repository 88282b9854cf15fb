import type { Kysely } from 'kysely';
import { newUuid } from '../../core/ids.js';
import type { ComputeTables, ControlServiceRow } from './tables.js';

/** What a conductor process runs besides the compute hosts' services: Kumo's scheduler lives in its conductor. */
export const CONTROL_BINARIES = ['nova-conductor', 'nova-scheduler'] as const;

/**
 * The conductor's and scheduler's entries in os-services: each conductor process beats for
 * its host, and a row whose beat is older than the service down time is `down`, as Nova's
 * servicegroup reads its services' updated_at.
 */
export class ControlServices {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async heartbeat(host: string, now = new Date()): Promise<void> {
    const at = now.toISOString();
    for (const binary of CONTROL_BINARIES) {
      await this.db
        .insertInto('compute_control_service')
        .values({ host, binary, service_id: newUuid(), last_heartbeat: at, created_at: at })
        .onConflict((oc) => oc.columns(['host', 'binary']).doUpdateSet({ last_heartbeat: at }))
        .execute();
    }
  }

  async list(): Promise<ControlServiceRow[]> {
    return this.db.selectFrom('compute_control_service').selectAll().orderBy('host').orderBy('binary').execute();
  }

  async remove(serviceId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('compute_control_service').where('service_id', '=', serviceId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

export function controlServiceIsUp(row: Pick<ControlServiceRow, 'last_heartbeat'>, serviceDownTimeSeconds: number, now = Date.now()): boolean {
  return now - Date.parse(row.last_heartbeat) <= serviceDownTimeSeconds * 1000;
}
