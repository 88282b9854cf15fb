import { ApiError } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName, extraAttributes } from './extras.js';
import type { Domain } from './model.js';
import type { DomainBody } from './schemas.js';

/** Keystone's domain rules: unique names, explicit ids, revocation on disable, deletion only once disabled. */

const KNOWN = ['name', 'description', 'enabled', 'tags', 'explicit_domain_id'];

export async function loadDomain(ctx: IdentityContext, id: string): Promise<Domain> {
  const domain = await ctx.stores.resources.getDomain(id);
  if (!domain) throw notFoundError('domain', id);
  return domain;
}

export async function listDomains(ctx: IdentityContext, filters: { name?: string; enabled?: boolean }): Promise<Domain[]> {
  return ctx.stores.resources.listDomains(filters);
}

/** A new domain; `explicit_domain_id` (a UUID, dashes or not) names it, as Keystone allows for replication. */
export async function createDomain(ctx: IdentityContext, body: DomainBody): Promise<Domain> {
  const name = checkName(body.name ?? '', 'name', 64);
  const explicitId = body.explicit_domain_id;
  if (explicitId !== undefined && !/^[0-9a-f]{32}$/.test(explicitId.replaceAll('-', ''))) {
    throw new ApiError(400, "Invalid input for field 'explicit_domain_id': not a UUID.");
  }
  const domain: Domain = {
    id: explicitId?.replaceAll('-', '') ?? newHexId(),
    name,
    description: body.description ?? '',
    enabled: body.enabled ?? true,
    extra: extraAttributes(body, KNOWN),
  };
  if (await ctx.stores.resources.getDomainByName(name)) throw duplicateError('domain', name);
  try {
    await ctx.stores.resources.createDomain(domain);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('domain', name);
    throw error;
  }
  ctx.changed();
  return domain;
}

/** Changes what may change (not its id). Disabling revokes every token scoped to it. */
export async function updateDomain(ctx: IdentityContext, domain: Domain, body: DomainBody): Promise<Domain> {
  if (body.id !== undefined && body.id !== domain.id) throw new ApiError(400, 'The domain id cannot be changed.');
  const updated: Domain = {
    ...domain,
    name: body.name !== undefined ? checkName(body.name, 'name', 64) : domain.name,
    description: body.description === undefined ? domain.description : (body.description ?? ''),
    enabled: body.enabled ?? domain.enabled,
    extra: { ...domain.extra, ...extraAttributes(body, KNOWN) },
  };
  if (updated.name !== domain.name && (await ctx.stores.resources.getDomainByName(updated.name))) {
    throw duplicateError('domain', updated.name);
  }
  await ctx.stores.resources.updateDomain(updated);
  if (domain.enabled && !updated.enabled) await ctx.revocations.revoke({ domainId: domain.id });
  ctx.changed();
  return updated;
}

/** A disabled domain goes with everything in it: projects, users, groups, domain roles, assignments, configuration. */
export async function deleteDomain(ctx: IdentityContext, domain: Domain): Promise<void> {
  if (domain.enabled) {
    throw new ApiError(403, 'Cannot delete a domain that is enabled, please disable it first.');
  }
  const stores = ctx.stores;
  for (const project of await stores.resources.listProjects({ domainId: domain.id })) {
    await stores.assignments.removeAllFor(project.id);
    await stores.resources.deleteProject(project.id);
  }
  for (const user of await stores.users.listUsers({ domainId: domain.id })) {
    await stores.assignments.removeAllFor(user.id);
    await stores.userCredentials.deleteForUser(user.id);
    await stores.users.deleteUser(user.id);
  }
  for (const group of await stores.users.listGroups({ domainId: domain.id })) {
    await stores.assignments.removeAllFor(group.id);
    await stores.users.deleteGroup(group.id);
  }
  for (const role of await stores.assignments.listRoles({ domainId: domain.id })) {
    await stores.assignments.deleteRole(role.id);
  }
  await stores.assignments.removeAllFor(domain.id);
  await stores.domainConfigs.delete(domain.id);
  await stores.resources.deleteDomain(domain.id);
  await ctx.revocations.revoke({ domainId: domain.id });
  ctx.changed();
}
