import type { Kysely } from 'kysely';
import { ControlServiceRecords } from './store/control-services.js';
import type { ComputeTables, ControlServiceRow } from './tables.js';

/** What a conductor process runs besides the compute hosts' services: Kumo's scheduler lives in its conductor. */
export const CONTROL_BINARIES = ['nova-conductor', 'nova-scheduler'] as const;

/**
 * The conductor's and scheduler's entries in os-services: each conductor process beats for
 * its host, and a row whose beat is older than the service down time is `down`, as Nova's
 * servicegroup reads its services' updated_at.
 */
export class ControlServices {
  private readonly records: ControlServiceRecords;

  constructor(db: Kysely<ComputeTables>) {
    this.records = new ControlServiceRecords(db);
  }

  async heartbeat(host: string, now = new Date()): Promise<void> {
    const at = now.toISOString();
    for (const binary of CONTROL_BINARIES) await this.records.beat(host, binary, at);
  }

  list(): Promise<ControlServiceRow[]> {
    return this.records.list();
  }

  remove(serviceId: string): Promise<boolean> {
    return this.records.remove(serviceId);
  }
}

export function controlServiceIsUp(row: Pick<ControlServiceRow, 'last_heartbeat'>, serviceDownTimeSeconds: number, now = Date.now()): boolean {
  return now - Date.parse(row.last_heartbeat) <= serviceDownTimeSeconds * 1000;
}
