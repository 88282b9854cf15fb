import { badRequest } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName, extraAttributes } from './extras.js';
import type { Group, User } from './model.js';
import type { GroupBody } from './schemas.js';
import { loadUser } from './users.js';

/** Keystone's group rules: names unique per domain, the domain fixed, members are users. */

const KNOWN = ['name', 'domain_id', 'description'];

export function listGroups(ctx: IdentityContext, filter: { name?: string; domainId?: string }): Promise<Group[]> {
  return ctx.stores.users.listGroups(filter);
}

export async function loadGroup(ctx: IdentityContext, id: string): Promise<Group> {
  const group = await ctx.stores.users.getGroup(id);
  if (!group) throw notFoundError('group', id);
  return group;
}

/** A new group in the named domain, else `callerDomainId` (the domain of the caller's token). */
export async function createGroup(ctx: IdentityContext, body: GroupBody, callerDomainId: string): Promise<Group> {
  const name = checkName(body.name ?? '', 'name', 64);
  const domainId = body.domain_id ?? callerDomainId;
  if (!(await ctx.stores.resources.getDomain(domainId))) throw badRequest(`Could not find the domain ${domainId}.`);
  const group: Group = {
    id: newHexId(),
    name,
    domainId,
    description: body.description ?? '',
    extra: extraAttributes(body, KNOWN),
  };
  if (await ctx.stores.users.getGroupByName(domainId, name)) throw duplicateError('group', name);
  try {
    await ctx.stores.users.createGroup(group);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('group', name);
    throw error;
  }
  ctx.changed();
  return group;
}

export async function updateGroup(ctx: IdentityContext, group: Group, body: GroupBody): Promise<Group> {
  if (body.domain_id !== undefined && body.domain_id !== group.domainId) throw badRequest('The group domain cannot be changed.');
  const updated: Group = {
    ...group,
    name: body.name !== undefined ? checkName(body.name, 'name', 64) : group.name,
    description: body.description === undefined ? group.description : (body.description ?? ''),
    extra: { ...group.extra, ...extraAttributes(body, KNOWN) },
  };
  if (updated.name !== group.name && (await ctx.stores.users.getGroupByName(group.domainId, updated.name))) {
    throw duplicateError('group', updated.name);
  }
  await ctx.stores.users.updateGroup(updated);
  ctx.changed();
  return updated;
}

/** A group goes with its role assignments (its members stay). */
export async function deleteGroup(ctx: IdentityContext, group: Group): Promise<void> {
  await ctx.stores.assignments.removeAllFor(group.id);
  await ctx.stores.users.deleteGroup(group.id);
  ctx.changed();
}

export async function groupMembers(ctx: IdentityContext, group: Group): Promise<User[]> {
  return ctx.stores.users.listUsers({ ids: await ctx.stores.users.userIdsInGroup(group.id) });
}

export async function addMember(ctx: IdentityContext, group: Group, userId: string): Promise<void> {
  const user = await loadUser(ctx, userId);
  await ctx.stores.users.addMember(group.id, user.id);
  ctx.changed();
}

export async function checkMember(ctx: IdentityContext, group: Group, userId: string): Promise<void> {
  const user = await loadUser(ctx, userId);
  if (!(await ctx.stores.users.isMember(group.id, user.id))) throw notFoundError('membership', `user ${user.id} in group ${group.id}`);
}

export async function removeMember(ctx: IdentityContext, group: Group, userId: string): Promise<void> {
  const user = await loadUser(ctx, userId);
  if (!(await ctx.stores.users.removeMember(group.id, user.id))) throw notFoundError('membership', `user ${user.id} in group ${group.id}`);
  ctx.changed();
}
