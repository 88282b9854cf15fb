import type { Kysely } from 'kysely';
import { badRequest, conflict, notFound } from './context.js';
import { AggregateRecords, type AggregateRecord } from './store/aggregates.js';
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
  private readonly records: AggregateRecords;

  constructor(db: Kysely<ComputeTables>) {
    this.records = new AggregateRecords(db);
  }

  async list(): Promise<Aggregate[]> {
    return (await this.records.list()).map(aggregateOf);
  }

  /** By integer id or (as 2.41 names them) uuid. */
  async get(id: string): Promise<Aggregate> {
    const found = (await this.list()).find((a) => String(a.id) === id || a.uuid === id);
    if (!found) throw notFound(`Aggregate ${id} could not be found.`);
    return found;
  }

  /** Each host's zone as its aggregates set it; hosts in no zoned aggregate are absent. */
  async hostZones(): Promise<Map<string, string>> {
    return this.records.hostMetadata(AZ_KEY);
  }

  async create(name: string, availabilityZone: string | null): Promise<Aggregate> {
    if (availabilityZone !== null) checkZoneName(availabilityZone);
    const id = await this.records.insertNext(name, availabilityZone !== null ? { [AZ_KEY]: availabilityZone } : {}, new Date().toISOString());
    if (id === 'name-taken') throw conflict(`Aggregate ${name} already exists.`);
    if (id === 'busy') throw conflict(`Aggregate ${name} could not be created; try again.`);
    return this.get(String(id));
  }

  /** PUT: a new name and/or zone (null clears the zone). */
  async update(id: string, changes: { name?: string; availabilityZone?: string | null }, hostsWithInstances: string[] = []): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (changes.name !== undefined && changes.name !== aggregate.name) {
      if (await this.records.nameTaken(changes.name)) throw conflict(`Aggregate ${changes.name} already exists.`);
      if (!(await this.records.rename(aggregate.id, changes.name, new Date().toISOString()))) throw conflict(`Aggregate ${changes.name} already exists.`);
    }
    if (changes.availabilityZone !== undefined) await this.setMetadata(String(aggregate.id), { [AZ_KEY]: changes.availabilityZone }, 'update', hostsWithInstances);
    return this.get(String(aggregate.id));
  }

  async delete(id: string): Promise<void> {
    const aggregate = await this.get(id);
    if (aggregate.hosts.length > 0) throw badRequest(`Cannot delete aggregate: ${aggregate.id}. Reason: Host aggregate is not empty.`);
    await this.records.delete(aggregate.id);
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
    if (!(await this.records.addHost(aggregate.id, host))) throw conflict(`Aggregate ${aggregate.id} already has host ${host}.`);
    return this.get(String(aggregate.id));
  }

  async removeHost(id: string, host: string, hostHasInstances: boolean): Promise<Aggregate> {
    const aggregate = await this.get(id);
    if (!aggregate.hosts.includes(host)) throw notFound(`Aggregate ${aggregate.id} has no host ${host}.`);
    if (aggregate.availabilityZone !== null && hostHasInstances && (await this.zonesOfHostWithout(host, aggregate.id)) === undefined) {
      throw conflict(`Cannot remove host ${host} in aggregate ${aggregate.id}. Reason: Host has instances; its availability zone cannot change.`);
    }
    await this.records.removeHost(aggregate.id, host);
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
    await this.records.setMetadata(aggregate.id, metadata, new Date().toISOString());
    return this.get(String(aggregate.id));
  }

  /** The zone another of the host's aggregates gives it. */
  private zonesOfHostWithout(host: string, aggregateId: number): Promise<string | undefined> {
    return this.records.hostMetadataElsewhere(host, aggregateId, AZ_KEY);
  }
}

function aggregateOf(record: AggregateRecord): Aggregate {
  return { ...record, availabilityZone: record.metadata[AZ_KEY] ?? null };
}

function checkZoneName(zone: string): void {
  if (zone === INTERNAL_ZONE) throw badRequest(`Aggregate action failed: the availability zone '${INTERNAL_ZONE}' is reserved for internal services.`);
  if (zone.includes(':')) throw badRequest(`Availability zone ${zone} may not contain ':'.`);
}
