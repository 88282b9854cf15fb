import { isObject, optInt, optNullableString, optString, reqString, type Json } from '../../core/http/body.js';
import { badRequest, conflict } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { ProjectLimit, RegisteredLimit } from './store/limits.js';

/** Keystone's unified limits (flat model): registered defaults per service and resource, and project overrides. */

export type { ProjectLimit, RegisteredLimit };

const MAX_LIMIT = 2_147_483_647;

/** The service (and region, if named) an item refers to must exist. */
async function checkRefs(ctx: IdentityContext, item: Json): Promise<{ serviceId: string; regionId: string | null }> {
  const serviceId = reqString(item, 'service_id', { max: 64 });
  if (!(await ctx.stores.catalog.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
  const regionId = optNullableString(item, 'region_id', { max: 255 }) ?? null;
  if (regionId && !(await ctx.stores.catalog.getRegion(regionId))) throw badRequest(`Could not find the region ${regionId}.`);
  return { serviceId, regionId };
}

/** Registers each item's default; all or none (one duplicate refuses the lot before anything is stored). */
export async function createRegisteredLimits(ctx: IdentityContext, items: Json[]): Promise<RegisteredLimit[]> {
  const store = ctx.stores.limits;
  const created: RegisteredLimit[] = [];
  for (const item of items) {
    const { serviceId, regionId } = await checkRefs(ctx, item);
    const resourceName = reqString(item, 'resource_name', { max: 255 });
    const existing = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
    if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate registered limit for ${resourceName}.`);
    const defaultLimit = optInt(item, 'default_limit', { min: -1, max: MAX_LIMIT });
    if (defaultLimit === undefined) throw badRequest("Invalid input for field 'default_limit': it is required.");
    created.push({
      id: newHexId(),
      service_id: serviceId,
      region_id: regionId,
      resource_name: resourceName,
      default_limit: defaultLimit,
      description: optString(item, 'description', { max: 255 }) ?? '',
    });
  }
  for (const l of created) await store.createRegistered(l);
  return created;
}

export function listRegisteredLimits(ctx: IdentityContext, filters: { service_id?: string; region_id?: string; resource_name?: string }): Promise<RegisteredLimit[]> {
  return ctx.stores.limits.listRegistered(filters);
}

export async function loadRegisteredLimit(ctx: IdentityContext, id: string): Promise<RegisteredLimit> {
  return (await ctx.stores.limits.getRegistered(id)) ?? Promise.reject(notFoundError('registered limit', id));
}

/** PATCH: `request` is the whole request body, its `registered_limit` the changes. */
export async function updateRegisteredLimit(ctx: IdentityContext, id: string, request: unknown): Promise<RegisteredLimit> {
  const limit = await loadRegisteredLimit(ctx, id);
  const body = isObject(request) && isObject(request.registered_limit) ? request.registered_limit : undefined;
  if (!body) throw badRequest("Invalid input for field 'registered_limit': expected an object.");
  const updated: RegisteredLimit = {
    ...limit,
    default_limit: optInt(body, 'default_limit', { min: -1, max: MAX_LIMIT }) ?? limit.default_limit,
    description: optString(body, 'description', { max: 255 }) ?? limit.description,
    resource_name: optString(body, 'resource_name', { min: 1, max: 255 }) ?? limit.resource_name,
  };
  await ctx.stores.limits.updateRegistered(updated);
  return updated;
}

export async function deleteRegisteredLimit(ctx: IdentityContext, id: string): Promise<void> {
  const limit = await loadRegisteredLimit(ctx, id);
  await ctx.stores.limits.deleteRegistered(limit.id);
}

/**
 * Sets each item's project limit; all or none. The project must exist, the resource must be
 * registered for the service (and region), and a project has one limit per resource.
 */
export async function createProjectLimits(ctx: IdentityContext, items: Json[]): Promise<ProjectLimit[]> {
  const store = ctx.stores.limits;
  const created: ProjectLimit[] = [];
  for (const item of items) {
    const { serviceId, regionId } = await checkRefs(ctx, item);
    const projectId = reqString(item, 'project_id', { max: 64 });
    if (!(await ctx.stores.resources.getProject(projectId))) throw badRequest(`Could not find the project ${projectId}.`);
    const resourceName = reqString(item, 'resource_name', { max: 255 });
    const registered = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
    if (!registered.some((l) => l.region_id === regionId)) {
      throw badRequest(`No registered limit for ${resourceName} of service ${serviceId}: register it first.`);
    }
    const existing = await store.listLimits({ project_id: projectId, service_id: serviceId, resource_name: resourceName });
    if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate limit for ${resourceName} on project ${projectId}.`);
    const resourceLimit = optInt(item, 'resource_limit', { min: -1, max: MAX_LIMIT });
    if (resourceLimit === undefined) throw badRequest("Invalid input for field 'resource_limit': it is required.");
    created.push({
      id: newHexId(),
      project_id: projectId,
      service_id: serviceId,
      region_id: regionId,
      resource_name: resourceName,
      resource_limit: resourceLimit,
      description: optString(item, 'description', { max: 255 }) ?? '',
    });
  }
  for (const l of created) await store.createLimit(l);
  return created;
}

export function listProjectLimits(
  ctx: IdentityContext,
  filters: { service_id?: string; region_id?: string; resource_name?: string; project_id?: string },
): Promise<ProjectLimit[]> {
  return ctx.stores.limits.listLimits(filters);
}

export async function loadProjectLimit(ctx: IdentityContext, id: string): Promise<ProjectLimit> {
  return (await ctx.stores.limits.getLimit(id)) ?? Promise.reject(notFoundError('limit', id));
}

/** PATCH: `request` is the whole request body, its `limit` the changes. */
export async function updateProjectLimit(ctx: IdentityContext, id: string, request: unknown): Promise<ProjectLimit> {
  const limit = await loadProjectLimit(ctx, id);
  const body = isObject(request) && isObject(request.limit) ? request.limit : undefined;
  if (!body) throw badRequest("Invalid input for field 'limit': expected an object.");
  const updated: ProjectLimit = {
    ...limit,
    resource_limit: optInt(body, 'resource_limit', { min: -1, max: MAX_LIMIT }) ?? limit.resource_limit,
    description: optString(body, 'description', { max: 255 }) ?? limit.description,
  };
  await ctx.stores.limits.updateLimit(updated);
  return updated;
}

export async function deleteProjectLimit(ctx: IdentityContext, id: string): Promise<void> {
  const limit = await loadProjectLimit(ctx, id);
  await ctx.stores.limits.deleteLimit(limit.id);
}
