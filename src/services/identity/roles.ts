import { ApiError, badRequest } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName, extraAttributes } from './extras.js';
import type { Role } from './model.js';
import type { RoleBody } from './schemas.js';

/** Keystone's role rules: global or domain-specific roles, unique names in their scope, implied roles without cycles. */

const KNOWN = ['name', 'domain_id', 'description', 'options'];

/** Global roles (domainId null), or one domain's. */
export function listRoles(ctx: IdentityContext, filter: { name?: string; domainId: string | null }): Promise<Role[]> {
  return ctx.stores.assignments.listRoles(filter);
}

export async function loadRole(ctx: IdentityContext, id: string): Promise<Role> {
  const role = await ctx.stores.assignments.getRole(id);
  if (!role) throw notFoundError('role', id);
  return role;
}

export async function createRole(ctx: IdentityContext, body: RoleBody): Promise<Role> {
  const name = checkName(body.name ?? '', 'name', 255);
  const domainId = body.domain_id ?? null;
  if (domainId && !(await ctx.stores.resources.getDomain(domainId))) throw badRequest(`Could not find the domain ${domainId}.`);
  const role: Role = {
    id: newHexId(),
    name,
    domainId,
    description: body.description ?? '',
    options: {},
    extra: extraAttributes(body, KNOWN),
  };
  if (await ctx.stores.assignments.getRoleByName(name, domainId)) throw duplicateError('role', name);
  try {
    await ctx.stores.assignments.createRole(role);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('role', name);
    throw error;
  }
  ctx.changed();
  return role;
}

export async function updateRole(ctx: IdentityContext, role: Role, body: RoleBody): Promise<Role> {
  if (body.domain_id !== undefined && body.domain_id !== role.domainId) throw badRequest('The role domain cannot be changed.');
  const updated: Role = {
    ...role,
    name: body.name !== undefined ? checkName(body.name) : role.name,
    description: body.description === undefined ? role.description : (body.description ?? ''),
    extra: { ...role.extra, ...extraAttributes(body, KNOWN) },
  };
  if (updated.name !== role.name && (await ctx.stores.assignments.getRoleByName(updated.name, role.domainId))) {
    throw duplicateError('role', updated.name);
  }
  await ctx.stores.assignments.updateRole(updated);
  ctx.changed();
  return updated;
}

export async function deleteRole(ctx: IdentityContext, role: Role): Promise<void> {
  await ctx.stores.assignments.deleteRole(role.id);
  ctx.changed();
}

/** The roles `prior` implies directly. */
export async function impliedRoles(ctx: IdentityContext, prior: Role): Promise<Role[]> {
  const implied: Role[] = [];
  for (const r of await ctx.stores.assignments.listImpliedRoles(prior.id)) {
    const role = await ctx.stores.assignments.getRole(r.impliedRoleId);
    if (role) implied.push(role);
  }
  return implied;
}

/** "prior implies implied": never itself, never a global role implying a domain one, never a cycle. */
export async function addImpliedRole(ctx: IdentityContext, prior: Role, implied: Role): Promise<void> {
  if (prior.id === implied.id) throw badRequest('A role cannot imply itself.');
  if (prior.domainId === null && implied.domainId !== null) {
    throw new ApiError(403, `Global role ${prior.id} cannot imply the domain-specific role ${implied.id}.`);
  }
  const reachable = await ctx.directory.expand([implied.id]);
  if (reachable.some((r) => r.id === prior.id)) throw badRequest('That implied role would create a cycle.');
  await ctx.stores.assignments.addImpliedRole(prior.id, implied.id);
  ctx.changed();
}

export async function checkImpliedRole(ctx: IdentityContext, priorId: string, impliedId: string): Promise<void> {
  if (!(await ctx.stores.assignments.hasImpliedRole(priorId, impliedId))) throw notFoundError('implied role', `${priorId} -> ${impliedId}`);
}

export async function removeImpliedRole(ctx: IdentityContext, priorId: string, impliedId: string): Promise<void> {
  if (!(await ctx.stores.assignments.removeImpliedRole(priorId, impliedId))) throw notFoundError('implied role', `${priorId} -> ${impliedId}`);
  ctx.changed();
}

/** Every inference rule, by prior role: what GET /v3/role_inferences lists. */
export async function roleInferences(ctx: IdentityContext): Promise<Array<{ prior: Role; implies: Role[] }>> {
  const byPrior = new Map<string, string[]>();
  for (const r of await ctx.stores.assignments.listImpliedRoles()) {
    byPrior.set(r.priorRoleId, [...(byPrior.get(r.priorRoleId) ?? []), r.impliedRoleId]);
  }
  const inferences: Array<{ prior: Role; implies: Role[] }> = [];
  for (const [priorId, impliedIds] of byPrior) {
    const prior = await ctx.directory.roleById(priorId);
    if (!prior) continue;
    const implies: Role[] = [];
    for (const id of impliedIds) {
      const role = await ctx.directory.roleById(id);
      if (role) implies.push(role);
    }
    inferences.push({ prior, implies });
  }
  return inferences;
}
