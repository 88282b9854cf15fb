import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../../core/db/database.js';
import { newUuid } from '../../../core/ids.js';
import type { ComputeTables } from '../tables.js';

/** An aggregate as stored: its row, its hosts and its metadata. */
export interface AggregateRecord {
  id: number;
  uuid: string;
  name: string;
  hosts: string[];
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string | null;
}

/** Host aggregates, their hosts and metadata (SQL only; the rules live in aggregates.ts). */
export class AggregateRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Every aggregate by id, its hosts by name. */
  async list(): Promise<AggregateRecord[]> {
    const rows = await this.db.selectFrom('compute_aggregate').selectAll().orderBy('id').execute();
    const hosts = await this.db.selectFrom('compute_aggregate_host').selectAll().orderBy('host').execute();
    const metadata = await this.db.selectFrom('compute_aggregate_metadata').selectAll().execute();
    return rows.map((row) => ({
      id: row.id,
      uuid: row.uuid,
      name: row.name,
      hosts: hosts.filter((h) => h.aggregate_id === row.id).map((h) => h.host),
      metadata: Object.fromEntries(metadata.filter((m) => m.aggregate_id === row.id).map((m) => [m.key, m.value])),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    }));
  }

  /** Each host's value of a metadata key, from the first (lowest id) of its aggregates that sets it. */
  async hostMetadata(key: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('compute_aggregate_host')
      .innerJoin('compute_aggregate_metadata', 'compute_aggregate_metadata.aggregate_id', 'compute_aggregate_host.aggregate_id')
      .select(['compute_aggregate_host.host as host', 'compute_aggregate_metadata.value as value'])
      .where('compute_aggregate_metadata.key', '=', key)
      .orderBy('compute_aggregate_host.aggregate_id')
      .execute();
    const values = new Map<string, string>();
    for (const row of rows) if (!values.has(row.host)) values.set(row.host, row.value);
    return values;
  }

  /** The value of a metadata key another of the host's aggregates (not `aggregateId`) gives it. */
  async hostMetadataElsewhere(host: string, aggregateId: number, key: string): Promise<string | undefined> {
    const rows = await this.db
      .selectFrom('compute_aggregate_host')
      .innerJoin('compute_aggregate_metadata', 'compute_aggregate_metadata.aggregate_id', 'compute_aggregate_host.aggregate_id')
      .select('compute_aggregate_metadata.value as value')
      .where('compute_aggregate_host.host', '=', host)
      .where('compute_aggregate_host.aggregate_id', '!=', aggregateId)
      .where('compute_aggregate_metadata.key', '=', key)
      .execute();
    return rows[0]?.value;
  }

  async nameTaken(name: string): Promise<boolean> {
    return (await this.db.selectFrom('compute_aggregate').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  /**
   * Inserts an aggregate (with its first metadata) under the next integer id, as Nova's ids
   * are; retried should two creates race for the id. `name-taken` when the name is in use,
   * `busy` when the retries ran out.
   */
  async insertNext(name: string, metadata: Record<string, string>, now: string): Promise<number | 'name-taken' | 'busy'> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom('compute_aggregate').select('id').where('name', '=', name).executeTakeFirst();
          if (existing) return 'name-taken' as const;
          const top = await trx.selectFrom('compute_aggregate').select((eb) => eb.fn.max('id').as('top')).executeTakeFirst();
          const next = Number(top?.top ?? 0) + 1;
          await trx.insertInto('compute_aggregate').values({ id: next, uuid: newUuid(), name, created_at: now, updated_at: null }).execute();
          for (const [key, value] of Object.entries(metadata)) {
            await trx.insertInto('compute_aggregate_metadata').values({ aggregate_id: next, key, value }).execute();
          }
          return next;
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (await this.nameTaken(name)) return 'name-taken';
      }
    }
    return 'busy';
  }

  /** False when another aggregate has the name. */
  async rename(id: number, name: string, now: string): Promise<boolean> {
    try {
      await this.db.updateTable('compute_aggregate').set({ name, updated_at: now }).where('id', '=', id).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** The aggregate and its metadata, in one transaction. */
  async delete(id: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('compute_aggregate_metadata').where('aggregate_id', '=', id).execute();
      await trx.deleteFrom('compute_aggregate').where('id', '=', id).execute();
    });
  }

  /** False when the host is already in the aggregate. */
  async addHost(id: number, host: string): Promise<boolean> {
    try {
      await this.db.insertInto('compute_aggregate_host').values({ aggregate_id: id, host }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async removeHost(id: number, host: string): Promise<void> {
    await this.db.deleteFrom('compute_aggregate_host').where('aggregate_id', '=', id).where('host', '=', host).execute();
  }

  /** Each key set to its value, or removed when null, and the aggregate's updated_at, in one transaction. */
  async setMetadata(id: number, metadata: Record<string, string | null>, now: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(metadata)) {
        await trx.deleteFrom('compute_aggregate_metadata').where('aggregate_id', '=', id).where('key', '=', key).execute();
        if (value !== null) await trx.insertInto('compute_aggregate_metadata').values({ aggregate_id: id, key, value }).execute();
      }
      await trx.updateTable('compute_aggregate').set({ updated_at: now }).where('id', '=', id).execute();
    });
  }
}
