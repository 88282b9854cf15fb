import { badRequest, conflict } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { ProjectLimitBody, ProjectLimitChanges, RegisteredLimitBody, RegisteredLimitChanges } from './schemas.js';
import type { ProjectLimit, RegisteredLimit } from './store/limits.js';

/** Keystone's unified limits (flat model): registered defaults per service and resource, and project overrides. */

export type { ProjectLimit, RegisteredLimit };

/** The service (and region, if named) an item refers to must exist. */
async function checkRefs(ctx: IdentityContext, item: { service_id: string; region_id?: string | null }): Promise<{ serviceId: string; regionId: string | null }> {
  const serviceId = item.service_id;
  if (!(await ctx.stores.catalog.getService(serviceId))) throw badRequest(`Could not find the service ${serviceId}.`);
  const regionId = item.region_id ?? null;
  if (regionId && !(await ctx.stores.catalog.getRegion(regionId))) throw badRequest(`Could not find the region ${regionId}.`);
  return { serviceId, regionId };
}

/** Registers each item's default; all or none (one duplicate refuses the lot before anything is stored). */
export async function createRegisteredLimits(ctx: IdentityContext, items: RegisteredLimitBody[]): Promise<RegisteredLimit[]> {
  const store = ctx.stores.limits;
  const created: RegisteredLimit[] = [];
  for (const item of items) {
    const { serviceId, regionId } = await checkRefs(ctx, item);
    const resourceName = item.resource_name;
    const existing = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
    if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate registered limit for ${resourceName}.`);
    created.push({
      id: newHexId(),
      service_id: serviceId,
      region_id: regionId,
      resource_name: resourceName,
      default_limit: item.default_limit,
      description: item.description ?? '',
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

/** PATCH: the request's `registered_limit`, the changes. */
export async function updateRegisteredLimit(ctx: IdentityContext, id: string, changes: RegisteredLimitChanges): Promise<RegisteredLimit> {
  const limit = await loadRegisteredLimit(ctx, id);
  const updated: RegisteredLimit = {
    ...limit,
    default_limit: changes.default_limit ?? limit.default_limit,
    description: changes.description === undefined ? limit.description : (changes.description ?? ''),
    resource_name: changes.resource_name ?? limit.resource_name,
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
export async function createProjectLimits(ctx: IdentityContext, items: ProjectLimitBody[]): Promise<ProjectLimit[]> {
  const store = ctx.stores.limits;
  const created: ProjectLimit[] = [];
  for (const item of items) {
    const { serviceId, regionId } = await checkRefs(ctx, item);
    const projectId = item.project_id;
    if (!(await ctx.stores.resources.getProject(projectId))) throw badRequest(`Could not find the project ${projectId}.`);
    const resourceName = item.resource_name;
    const registered = await store.listRegistered({ service_id: serviceId, resource_name: resourceName });
    if (!registered.some((l) => l.region_id === regionId)) {
      throw badRequest(`No registered limit for ${resourceName} of service ${serviceId}: register it first.`);
    }
    const existing = await store.listLimits({ project_id: projectId, service_id: serviceId, resource_name: resourceName });
    if (existing.some((l) => l.region_id === regionId)) throw conflict(`Duplicate limit for ${resourceName} on project ${projectId}.`);
    created.push({
      id: newHexId(),
      project_id: projectId,
      service_id: serviceId,
      region_id: regionId,
      resource_name: resourceName,
      resource_limit: item.resource_limit,
      description: item.description ?? '',
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

/** PATCH: the request's `limit`, the changes. */
export async function updateProjectLimit(ctx: IdentityContext, id: string, changes: ProjectLimitChanges): Promise<ProjectLimit> {
  const limit = await loadProjectLimit(ctx, id);
  const updated: ProjectLimit = {
    ...limit,
    resource_limit: changes.resource_limit ?? limit.resource_limit,
    description: changes.description === undefined ? limit.description : (changes.description ?? ''),
  };
  await ctx.stores.limits.updateLimit(updated);
  return updated;
}

export async function deleteProjectLimit(ctx: IdentityContext, id: string): Promise<void> {
  const limit = await loadProjectLimit(ctx, id);
  await ctx.stores.limits.deleteLimit(limit.id);
}
