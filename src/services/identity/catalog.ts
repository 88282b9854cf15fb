import { badRequest, conflict } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import { extraAttributes } from './extras.js';
import type { Endpoint, Region, Service } from './model.js';
import type { EndpointBody, RegionBody, ServiceBody } from './schemas.js';

/** Keystone's catalog rules: a tree of regions, services, and their endpoints per interface and region. */

const INTERFACES = new Set(['public', 'internal', 'admin']);
const REGION_KNOWN = ['id', 'description', 'parent_region_id'];
const SERVICE_KNOWN = ['type', 'name', 'description', 'enabled'];
const ENDPOINT_KNOWN = ['service_id', 'interface', 'region_id', 'region', 'url', 'enabled'];

export function listRegions(ctx: IdentityContext, filter: { parentRegionId?: string }): Promise<Region[]> {
  return ctx.stores.catalog.listRegions(filter);
}

export function listServices(ctx: IdentityContext, filter: { type?: string; name?: string }): Promise<Service[]> {
  return ctx.stores.catalog.listServices(filter);
}

export function listEndpoints(ctx: IdentityContext, filter: { serviceId?: string; interface?: string; regionId?: string }): Promise<Endpoint[]> {
  return ctx.stores.catalog.listEndpoints(filter);
}

export async function loadRegion(ctx: IdentityContext, id: string): Promise<Region> {
  return (await ctx.stores.catalog.getRegion(id)) ?? Promise.reject(notFoundError('region', id));
}

export async function loadService(ctx: IdentityContext, id: string): Promise<Service> {
  return (await ctx.stores.catalog.getService(id)) ?? Promise.reject(notFoundError('service', id));
}

export async function loadEndpoint(ctx: IdentityContext, id: string): Promise<Endpoint> {
  return (await ctx.stores.catalog.getEndpoint(id)) ?? Promise.reject(notFoundError('endpoint', id));
}

/** A new region, its id from the path (PUT), else the body, else a new one. */
export async function createRegion(ctx: IdentityContext, body: RegionBody, fixedId?: string): Promise<Region> {
  const store = ctx.stores.catalog;
  const bodyId = body.id;
  if (fixedId !== undefined) {
    if (fixedId.length > 255) throw badRequest("Invalid input for field 'id': longer than 255 characters.");
    if (bodyId !== undefined && bodyId !== fixedId) throw badRequest(`Conflicting region IDs specified: "${fixedId}" != "${bodyId}".`);
  }
  const id = fixedId ?? bodyId ?? newHexId();
  const parentRegionId = body.parent_region_id ?? null;
  if (parentRegionId && !(await store.getRegion(parentRegionId))) throw badRequest(`Could not find the parent region ${parentRegionId}.`);
  if (await store.getRegion(id)) throw conflict(`Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
  const region: Region = {
    id,
    description: body.description ?? '',
    parentRegionId,
    extra: extraAttributes(body, REGION_KNOWN),
  };
  await store.createRegion(region);
  ctx.changed();
  return region;
}

export async function updateRegion(ctx: IdentityContext, region: Region, body: RegionBody): Promise<Region> {
  const parent = body.parent_region_id;
  if (parent === region.id) throw badRequest('A region cannot be its own parent.');
  if (parent && !(await ctx.stores.catalog.getRegion(parent))) throw badRequest(`Could not find the parent region ${parent}.`);
  const updated: Region = {
    ...region,
    description: body.description === undefined ? region.description : (body.description ?? ''),
    parentRegionId: parent === undefined ? region.parentRegionId : parent,
    extra: { ...region.extra, ...extraAttributes(body, REGION_KNOWN) },
  };
  await ctx.stores.catalog.updateRegion(updated);
  ctx.changed();
  return updated;
}

/** Only a region without children goes. */
export async function deleteRegion(ctx: IdentityContext, region: Region): Promise<void> {
  if ((await ctx.stores.catalog.listRegions({ parentRegionId: region.id })).length > 0) {
    throw badRequest(`Region ${region.id} has child regions and cannot be deleted.`);
  }
  await ctx.stores.catalog.deleteRegion(region.id);
  ctx.changed();
}

export async function createService(ctx: IdentityContext, body: ServiceBody): Promise<Service> {
  const service: Service = {
    id: newHexId(),
    type: body.type ?? '',
    name: body.name ?? '',
    description: body.description ?? '',
    enabled: body.enabled ?? true,
    extra: extraAttributes(body, SERVICE_KNOWN),
  };
  await ctx.stores.catalog.createService(service);
  ctx.changed();
  return service;
}

export async function updateService(ctx: IdentityContext, service: Service, body: ServiceBody): Promise<Service> {
  const updated: Service = {
    ...service,
    type: body.type ?? service.type,
    name: body.name ?? service.name,
    description: body.description ?? service.description,
    enabled: body.enabled ?? service.enabled,
    extra: { ...service.extra, ...extraAttributes(body, SERVICE_KNOWN) },
  };
  await ctx.stores.catalog.updateService(updated);
  ctx.changed();
  return updated;
}

export async function deleteService(ctx: IdentityContext, service: Service): Promise<void> {
  await ctx.stores.catalog.deleteService(service.id);
  ctx.changed();
}

/** public, internal or admin (a body's, or a list filter's). */
export function readInterface(value: string | undefined): Endpoint['interface'] | undefined {
  if (value === undefined) return undefined;
  if (!INTERFACES.has(value)) throw badRequest(`Invalid interface '${value.slice(0, 32)}': use public, internal or admin.`);
  return value as Endpoint['interface'];
}

function checkUrl(url: string): string {
  if (!/^https?:\/\/\S+$/.test(url)) throw badRequest(`Invalid input for field 'url': not an http(s) URL.`);
  return url;
}

/**
 * The endpoint's region: `region_id` must name an existing region, while the v2-era
 * `region` attribute creates the region it names (as Keystone does).
 */
async function endpointRegion(ctx: IdentityContext, body: EndpointBody): Promise<string | null | undefined> {
  const explicitRegion = body.region_id;
  const regionId = explicitRegion === undefined ? body.region : explicitRegion;
  if (regionId && !(await ctx.stores.catalog.getRegion(regionId))) {
    if (explicitRegion !== undefined) throw badRequest(`Could not find the region ${regionId}.`);
    await ctx.stores.catalog.createRegion({ id: regionId, description: '', parentRegionId: null, extra: {} });
  }
  return regionId;
}

async function checkService(ctx: IdentityContext, serviceId: string | undefined): Promise<void> {
  if (serviceId !== undefined && !(await ctx.stores.catalog.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
}

export async function createEndpoint(ctx: IdentityContext, body: EndpointBody): Promise<Endpoint> {
  const serviceId = body.service_id ?? '';
  await checkService(ctx, serviceId);
  const regionId = (await endpointRegion(ctx, body)) ?? null;
  const endpoint: Endpoint = {
    id: newHexId(),
    serviceId,
    interface: readInterface(body.interface ?? '') as Endpoint['interface'],
    regionId,
    url: checkUrl(body.url ?? ''),
    enabled: body.enabled ?? true,
    extra: extraAttributes(body, ENDPOINT_KNOWN),
  };
  await ctx.stores.catalog.createEndpoint(endpoint);
  ctx.changed();
  return endpoint;
}

export async function updateEndpoint(ctx: IdentityContext, endpoint: Endpoint, body: EndpointBody): Promise<Endpoint> {
  await checkService(ctx, body.service_id);
  const regionId = await endpointRegion(ctx, body);
  const updated: Endpoint = {
    ...endpoint,
    serviceId: body.service_id ?? endpoint.serviceId,
    interface: readInterface(body.interface) ?? endpoint.interface,
    regionId: regionId === undefined ? endpoint.regionId : regionId,
    url: body.url !== undefined ? checkUrl(body.url) : endpoint.url,
    enabled: body.enabled ?? endpoint.enabled,
    extra: { ...endpoint.extra, ...extraAttributes(body, ENDPOINT_KNOWN) },
  };
  await ctx.stores.catalog.updateEndpoint(updated);
  ctx.changed();
  return updated;
}

export async function deleteEndpoint(ctx: IdentityContext, endpoint: Endpoint): Promise<void> {
  await ctx.stores.catalog.deleteEndpoint(endpoint.id);
  ctx.changed();
}
