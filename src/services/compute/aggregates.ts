import type { Kysely } from 'kysely';
import { newUuid } from '../../core/ids.js';
import { isUniqueViolation } from '../../core/db/database.js';
import { badRequest, conflict, notFound } from './context.js';
import type { ComputeTables } from './tables.js';

/** The metadata key that puts an aggregate's hosts in an availability zone. */
export const AZ_KEY = 'availability_zone';
/** Nova's zone of its control services: no aggregate may take its name. */
const INTERNAL_ZONE = 'internal';

export interface Aggregate {
  id: number;
  uuid: string;
  name: string;
  availabilityZone: string | null;
  hosts: string[];
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string | null;
}

/**
 * Nova's host aggregates: named sets of hosts with metadata. An aggregate's
 * `availability_zone` metadata is its hosts' zone (the AZ filter and a server's OS-EXT-AZ read
 * it through ComputeHosts); a host is in one zone at most, and a host that runs instances
 * never changes zone under them.
 */
export class Aggregates {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async list(): Promise<Aggregate[]> {
    const rows = await this.db.selectFrom('compute_aggregate').selectAll().orderBy('id').execute();
    const hosts = await this.db.selectFrom('compute_aggregate_host').selectAll().orderBy('host').execute();
    const metadata = await this.db.selectFrom('compute_aggregate_metadata').selectAll().execute();
    return rows.map((row) => {
      const meta = Object.fromEntries(metadata.filter((m) => m.aggregate_id === row.id).map((m) => [m.key, m.value]));
      return {
        id: row.id,
        uuid: row.uuid,
        name: row.name,
        availabilityZone: meta[AZ_KEY] ?? null,
        hosts: hosts.filter((h) => h.aggregate_id === row.id).map((h) => h.host),
        metadata: meta,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      };
    });
  }

  /** By integer id or (as 2.41 names them) uuid. */
  async get(id: string): Promise<Aggregate> {
    const found = (await this.list()).find((a) => String(a.id) === id || a.uuid === id);
    if (!found) throw notFound(`Aggregate ${id} could not be found.`);
    return found;
  }

  /** Each host's zone as its aggregates set it; hosts in no zoned aggregate are absent. */
  async hostZones(): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('compute_aggregate_host')
      .innerJoin('compute_aggregate_metadata', 'compute_aggregate_metadata.aggregate_id', 'compute_aggregate_host.aggregate_id')
      .select(['compute_aggregate_host.host as host', 'compute_aggregate_metadata.value as zone'])
      .where('compute_aggregate_metadata.key', '=', AZ_KEY)
      .orderBy('compute_aggregate_host.aggregate_id')
      .execute();
    const zones = new Map<string, string>();
    for (const row of rows) if (!zones.has(row.host)) zones.set(row.host, row.zone);
    return zones;
  }

  async create(name: string, availabilityZone: string | null): Promise<Aggregate> {
    if (availabilityZone !== null) checkZoneName(availabilityZone);
    const now = new Date().toISOString();
    // Integer ids as Nova's: the next one, retried should two creates race for it.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const id = await this.db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom('compute_aggregate').select('id').where('name', '=', name).executeTakeFirst();
          if (existing) throw conflict(`Aggregate ${name} already exists.`);
          const top = await trx.selectFrom('compute_aggregate').select((eb) => eb.fn.max('id').as('top')).executeTakeFirst();
          const next = Number(top?.top ?? 0) + 1;
          await trx.insertInto('compute_aggregate').values({ id: next, uuid: newUuid(), name, created_at: now, updated_at: null }).execute();
          if (availabilityZone !== null) await trx.insertInto('compute_aggregate_metadata').values({ aggregate_id: next, key: AZ_KEY, value: availabilityZone }).execute();
          return next;
        });
        return this.get(String(id));
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const byName = await this.db.selectFrom('compute_aggregate').select('id').where('name', '=', name).executeTakeFirst();
        if (byName) throw conflict(`Aggregate ${name} already exists.`);
      }
    }
    throw conflict(`Aggregate ${name} could not be created; try again.`);
  }

  /** PUT: a new name and/or zone (null clears the zone). */
  async update(id: string, changes: { name?: string; availabilityZone?: string | null }, hostsWithInstances: string[] = []): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (changes.name !== undefined && changes.name !== aggregate.name) {
      const clash = await this.db.selectFrom('compute_aggregate').select('id').where('name', '=', changes.name).executeTakeFirst();
      if (clash) throw conflict(`Aggregate ${changes.name} already exists.`);
      try {
        await this.db.updateTable('compute_aggregate').set({ name: changes.name, updated_at: new Date().toISOString() }).where('id', '=', aggregate.id).execute();
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`Aggregate ${changes.name} already exists.`);
        throw error;
      }
    }
    if (changes.availabilityZone !== undefined) await this.setMetadata(String(aggregate.id), { [AZ_KEY]: changes.availabilityZone }, 'update', hostsWithInstances);
    return this.get(String(aggregate.id));
  }

  async delete(id: string): Promise<void> {
    const aggregate = await this.get(id);
    if (aggregate.hosts.length > 0) throw badRequest(`Cannot delete aggregate: ${aggregate.id}. Reason: Host aggregate is not empty.`);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('compute_aggregate_metadata').where('aggregate_id', '=', aggregate.id).execute();
      await trx.deleteFrom('compute_aggregate').where('id', '=', aggregate.id).execute();
    });
  }

  async addHost(id: string, host: string, hostExists: boolean, hostHasInstances: boolean): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (!hostExists) throw notFound(`Compute host ${host} could not be found.`);
    if (aggregate.hosts.includes(host)) throw conflict(`Aggregate ${aggregate.id} already has host ${host}.`);
    if (aggregate.availabilityZone !== null) {
      const current = (await this.hostZones()).get(host);
      if (current !== undefined && current !== aggregate.availabilityZone) {
        throw conflict(`Cannot add host to aggregate ${aggregate.id}. Reason: One or more hosts already in availability zone(s) ['${current}'].`);
      }
      if (current === undefined && hostHasInstances) {
        throw conflict(`Cannot add host to aggregate ${aggregate.id}. Reason: Host ${host} has instances; its availability zone cannot change.`);
      }
    }
    try {
      await this.db.insertInto('compute_aggregate_host').values({ aggregate_id: aggregate.id, host }).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`Aggregate ${aggregate.id} already has host ${host}.`);
      throw error;
    }
    return this.get(String(aggregate.id));
  }

  async removeHost(id: string, host: string, hostHasInstances: boolean): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (!aggregate.hosts.includes(host)) throw notFound(`Aggregate ${aggregate.id} has no host ${host}.`);
    if (aggregate.availabilityZone !== null && hostHasInstances && (await this.zonesOfHostWithout(host, aggregate.id)) === undefined) {
      throw conflict(`Cannot remove host ${host} in aggregate ${aggregate.id}. Reason: Host has instances; its availability zone cannot change.`);
    }
    await this.db.deleteFrom('compute_aggregate_host').where('aggregate_id', '=', aggregate.id).where('host', '=', host).execute();
    return this.get(String(aggregate.id));
  }

  /**
   * set_metadata: each key set to its value, or removed when null. A new zone must not put a
   * host in two zones, nor move a host that runs instances.
   */
  async setMetadata(id: string, metadata: Record<string, string | null>, action: 'set_metadata' | 'update' = 'set_metadata', hostsWithInstances: string[] = []): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (AZ_KEY in metadata) {
      const zone = metadata[AZ_KEY] ?? null;
      if (zone !== null) checkZoneName(zone);
      if (zone !== aggregate.availabilityZone) {
        const reason = action === 'update' ? `Cannot update aggregate ${aggregate.id}.` : `Cannot update metadata of aggregate ${aggregate.id}.`;
        for (const host of aggregate.hosts) {
          const other = await this.zonesOfHostWithout(host, aggregate.id);
          if (zone !== null && other !== undefined && other !== zone) throw badRequest(`${reason} Reason: One or more hosts already in availability zone(s) ['${other}'].`);
          if (hostsWithInstances.includes(host)) throw badRequest(`${reason} Reason: One or more hosts contain instances in this zone.`);
        }
      }
    }
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(metadata)) {
        await trx.deleteFrom('compute_aggregate_metadata').where('aggregate_id', '=', aggregate.id).where('key', '=', key).execute();
        if (value !== null) await trx.insertInto('compute_aggregate_metadata').values({ aggregate_id: aggregate.id, key, value }).execute();
      }
      await trx.updateTable('compute_aggregate').set({ updated_at: new Date().toISOString() }).where('id', '=', aggregate.id).execute();
    });
    return this.get(String(aggregate.id));
  }

  /** The zone another of the host's aggregates gives it. */
  private async zonesOfHostWithout(host: string, aggregateId: number): Promise<string | undefined> {
    const rows = await this.db
      .selectFrom('compute_aggregate_host')
      .innerJoin('compute_aggregate_metadata', 'compute_aggregate_metadata.aggregate_id', 'compute_aggregate_host.aggregate_id')
      .select('compute_aggregate_metadata.value as zone')
      .where('compute_aggregate_host.host', '=', host)
      .where('compute_aggregate_host.aggregate_id', '!=', aggregateId)
      .where('compute_aggregate_metadata.key', '=', AZ_KEY)
      .execute();
    return rows[0]?.zone;
  }
}

function checkZoneName(zone: string): void {
  if (zone === INTERNAL_ZONE) throw badRequest(`Aggregate action failed: the availability zone '${INTERNAL_ZONE}' is reserved for internal services.`);
  if (zone.includes(':')) throw badRequest(`Availability zone ${zone} may not contain ':'.`);
}
