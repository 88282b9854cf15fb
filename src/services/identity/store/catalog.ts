import type { EndpointRow, RegionRow, ServiceRow } from '../tables.js';
import type { Endpoint, Region, Service } from '../model.js';
import { atomically, type IdentityDb, parseJson, toBool, toInt } from './db.js';

/** Regions, services and endpoints: the service catalog. */
export class CatalogStore {
  constructor(private readonly db: IdentityDb) {}

  async createRegion(region: Region): Promise<void> {
    await this.db.insertInto('identity_region').values(regionRow(region)).execute();
  }

  async getRegion(id: string): Promise<Region | undefined> {
    const row = await this.db.selectFrom('identity_region').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRegion(row);
  }

  async listRegions(filter: { parentRegionId?: string } = {}): Promise<Region[]> {
    let q = this.db.selectFrom('identity_region').selectAll().orderBy('id');
    if (filter.parentRegionId !== undefined) q = q.where('parent_region_id', '=', filter.parentRegionId);
    return (await q.execute()).map(toRegion);
  }

  async updateRegion(region: Region): Promise<void> {
    await this.db.updateTable('identity_region').set(regionRow(region)).where('id', '=', region.id).execute();
  }

  async deleteRegion(id: string): Promise<void> {
    await this.db.deleteFrom('identity_region').where('id', '=', id).execute();
  }

  async createService(service: Service): Promise<void> {
    await this.db.insertInto('identity_service').values(serviceRow(service)).execute();
  }

  async getService(id: string): Promise<Service | undefined> {
    const row = await this.db.selectFrom('identity_service').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toService(row);
  }

  async listServices(filter: { type?: string; name?: string } = {}): Promise<Service[]> {
    let q = this.db.selectFrom('identity_service').selectAll().orderBy('type');
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    return (await q.execute()).map(toService);
  }

  async updateService(service: Service): Promise<void> {
    await this.db.updateTable('identity_service').set(serviceRow(service)).where('id', '=', service.id).execute();
  }

  async deleteService(id: string): Promise<void> {
    await atomically(this.db, async (tx) => {
      await tx.deleteFrom('identity_endpoint').where('service_id', '=', id).execute();
      await tx.deleteFrom('identity_service').where('id', '=', id).execute();
    });
  }

  async createEndpoint(endpoint: Endpoint): Promise<void> {
    await this.db.insertInto('identity_endpoint').values(endpointRow(endpoint)).execute();
  }

  async getEndpoint(id: string): Promise<Endpoint | undefined> {
    const row = await this.db.selectFrom('identity_endpoint').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toEndpoint(row);
  }

  async listEndpoints(filter: { serviceId?: string; interface?: string; regionId?: string } = {}): Promise<Endpoint[]> {
    let q = this.db.selectFrom('identity_endpoint').selectAll().orderBy('id');
    if (filter.serviceId !== undefined) q = q.where('service_id', '=', filter.serviceId);
    if (filter.interface !== undefined) q = q.where('interface', '=', filter.interface);
    if (filter.regionId !== undefined) q = q.where('region_id', '=', filter.regionId);
    return (await q.execute()).map(toEndpoint);
  }

  async updateEndpoint(endpoint: Endpoint): Promise<void> {
    await this.db.updateTable('identity_endpoint').set(endpointRow(endpoint)).where('id', '=', endpoint.id).execute();
  }

  async deleteEndpoint(id: string): Promise<void> {
    await this.db.deleteFrom('identity_endpoint').where('id', '=', id).execute();
  }
}

function regionRow(r: Region): RegionRow {
  return { id: r.id, description: r.description, parent_region_id: r.parentRegionId, extra: JSON.stringify(r.extra) };
}

function toRegion(row: RegionRow): Region {
  return { id: row.id, description: row.description, parentRegionId: row.parent_region_id, extra: parseJson(row.extra, {}) };
}

function serviceRow(s: Service): ServiceRow {
  return {
    id: s.id,
    type: s.type,
    name: s.name,
    description: s.description,
    enabled: toInt(s.enabled),
    extra: JSON.stringify(s.extra),
  };
}

function toService(row: ServiceRow): Service {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    description: row.description,
    enabled: toBool(row.enabled),
    extra: parseJson(row.extra, {}),
  };
}

function endpointRow(e: Endpoint): EndpointRow {
  return {
    id: e.id,
    service_id: e.serviceId,
    interface: e.interface,
    region_id: e.regionId,
    url: e.url,
    enabled: toInt(e.enabled),
    extra: JSON.stringify(e.extra),
  };
}

function toEndpoint(row: EndpointRow): Endpoint {
  return {
    id: row.id,
    serviceId: row.service_id,
    interface: row.interface as Endpoint['interface'],
    regionId: row.region_id,
    url: row.url,
    enabled: toBool(row.enabled),
    extra: parseJson(row.extra, {}),
  };
}
