import type { Kysely } from 'kysely';
import { mapInTurns } from '../../../core/cooperative.js';
import type { ComputeTables, InstanceRow } from '../tables.js';
import { instanceFromRow, instanceToRow, type Instance } from '../instances/model.js';

/** What a state change expects to find: the update happens only when the row still matches. */
export interface Expected {
  vmState?: readonly string[];
  /** null means "no task running". */
  taskState?: ReadonlyArray<string | null>;
  host?: string | null;
}

export interface InstanceFilter {
  projectId?: string;
  host?: string;
  deleted?: boolean;
}

/**
 * Instance rows. Every state change is a compare-and-set on the state it starts from, so two
 * actions racing on one instance cannot both win, and a duplicate message changes nothing.
 */
export class InstanceRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async insert(instances: Instance[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const instance of instances) await trx.insertInto('compute_instance').values(instanceToRow(instance)).execute();
    });
  }

  async get(id: string): Promise<Instance | undefined> {
    const row = await this.db.selectFrom('compute_instance').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? instanceFromRow(row) : undefined;
  }

  async list(filter: InstanceFilter): Promise<Instance[]> {
    let query = this.db.selectFrom('compute_instance').selectAll();
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.host !== undefined) query = query.where('host', '=', filter.host);
    if (filter.deleted !== undefined) query = query.where('deleted', '=', filter.deleted ? 1 : 0);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    return mapInTurns(rows, (row) => instanceFromRow(row));
  }

  /** Ids of live instances still building: on one of `hosts`, or (null) on no host yet. */
  async buildingIds(hosts: string[] | null): Promise<string[]> {
    let query = this.db.selectFrom('compute_instance').select('id').where('deleted', '=', 0).where('vm_state', '=', 'building');
    query = hosts === null ? query.where('host', 'is', null) : query.where('host', 'in', hosts);
    const rows = await query.execute();
    return rows.map((row) => row.id);
  }

  /** Whether any live instance runs on the host. */
  async anyOnHost(host: string): Promise<boolean> {
    const row = await this.db.selectFrom('compute_instance').select('id').where('host', '=', host).where('deleted', '=', 0).executeTakeFirst();
    return row !== undefined;
  }

  /** The hosts of those of the (live) instances that have one. */
  async hostsOf(instanceIds: string[]): Promise<string[]> {
    const rows = await this.db.selectFrom('compute_instance').select('host').where('id', 'in', instanceIds).where('deleted', '=', 0).execute();
    return rows.map((r) => r.host).filter((h): h is string => h !== null);
  }

  /** Sets `changes` when the instance is in the expected state; false when it was not. */
  async transition(id: string, expected: Expected, changes: Partial<InstanceRow>): Promise<boolean> {
    let query = this.db
      .updateTable('compute_instance')
      .set({ ...changes, updated_at: changes.updated_at ?? new Date().toISOString() })
      .where('id', '=', id)
      .where('deleted', '=', 0);
    if (expected.vmState) query = query.where('vm_state', 'in', [...expected.vmState]);
    if (expected.taskState) {
      const named = expected.taskState.filter((t): t is string => t !== null);
      const allowsNone = expected.taskState.includes(null);
      query = query.where((eb) => {
        const parts = [];
        if (named.length > 0) parts.push(eb('task_state', 'in', named));
        if (allowsNone) parts.push(eb('task_state', 'is', null));
        return eb.or(parts);
      });
    }
    if (expected.host !== undefined) {
      query = expected.host === null ? query.where('host', 'is', null) : query.where('host', '=', expected.host);
    }
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Unconditional update of fields no state machine guards (name, metadata, tags, ...). */
  async update(id: string, changes: Partial<InstanceRow>): Promise<void> {
    await this.db
      .updateTable('compute_instance')
      .set({ ...changes, updated_at: new Date().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  /** Soft delete, as Nova keeps deleted instances readable by id for admins. */
  async markDeleted(id: string): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .updateTable('compute_instance')
      .set({ deleted: 1, vm_state: 'deleted', task_state: null, power_state: 0, terminated_at: now, updated_at: now })
      .where('id', '=', id)
      .execute();
    await this.db.deleteFrom('compute_server_group_member').where('instance_id', '=', id).execute();
  }
}
