import { badRequest, unauthorized } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName, extraAttributes } from './extras.js';
import type { Group, User } from './model.js';
import type { UserBody } from './schemas.js';
import type { UserFilter } from './store/users.js';
import { recordPasswordAttempt, refuseIfLocked, refuseReusedPassword } from './security-compliance.js';

/**
 * Keystone's user rules: names unique per domain, the domain fixed, passwords hashed, tokens
 * revoked when the password changes or the user is disabled or deleted.
 */

const KNOWN = ['name', 'domain_id', 'enabled', 'password', 'default_project_id', 'description', 'federated'];

export function listUsers(ctx: IdentityContext, filter: UserFilter): Promise<User[]> {
  return ctx.stores.users.listUsers(filter);
}

export async function loadUser(ctx: IdentityContext, id: string): Promise<User> {
  const user = await ctx.stores.users.getUser(id);
  if (!user) throw notFoundError('user', id);
  return user;
}

async function checkDefaultProject(ctx: IdentityContext, id: string | null | undefined): Promise<void> {
  if (id && !(await ctx.stores.resources.getProject(id))) throw badRequest(`Could not find the default project ${id}.`);
}

/** A new user in the named domain, else `callerDomainId` (the domain of the caller's token). */
export async function createUser(ctx: IdentityContext, body: UserBody, callerDomainId: string): Promise<User> {
  const name = checkName(body.name ?? '', 'name', 255);
  const domainId = body.domain_id ?? callerDomainId;
  if (!(await ctx.stores.resources.getDomain(domainId))) throw notFoundError('domain', domainId);
  const defaultProjectId = body.default_project_id ?? null;
  await checkDefaultProject(ctx, defaultProjectId);
  const user: User = {
    id: newHexId(),
    name,
    domainId,
    enabled: body.enabled ?? true,
    passwordHash: body.password ? await ctx.hasher.hash(body.password) : null,
    passwordExpiresAt: null,
    defaultProjectId,
    description: body.description ?? '',
    extra: extraAttributes(body, KNOWN),
    options: {},
  };
  if (await ctx.stores.users.getUserByName(domainId, name)) throw duplicateError('user', name);
  try {
    await ctx.stores.users.createUser(user);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('user', name);
    throw error;
  }
  ctx.changed();
  return user;
}

export async function updateUser(ctx: IdentityContext, user: User, body: UserBody): Promise<User> {
  if (body.id !== undefined && body.id !== user.id) throw badRequest('The user id cannot be changed.');
  if (body.domain_id !== undefined && body.domain_id !== user.domainId) throw badRequest('The user domain cannot be changed.');
  const password = body.password;
  const defaultProjectId = body.default_project_id;
  await checkDefaultProject(ctx, defaultProjectId);
  const updated: User = {
    ...user,
    name: body.name !== undefined ? checkName(body.name) : user.name,
    enabled: body.enabled ?? user.enabled,
    description: body.description === undefined ? user.description : (body.description ?? ''),
    defaultProjectId: defaultProjectId === undefined ? user.defaultProjectId : defaultProjectId,
    passwordHash: password === undefined ? user.passwordHash : password === null ? null : await ctx.hasher.hash(password),
    passwordExpiresAt: password === undefined ? user.passwordExpiresAt : null,
    extra: { ...user.extra, ...extraAttributes(body, KNOWN) },
  };
  if (updated.name !== user.name && (await ctx.stores.users.getUserByName(user.domainId, updated.name))) {
    throw duplicateError('user', updated.name);
  }
  await ctx.stores.users.updateUser(updated, password !== undefined);
  if (password !== undefined || (user.enabled && !updated.enabled)) await ctx.revocations.revoke({ userId: user.id });
  ctx.changed();
  return updated;
}

export async function deleteUser(ctx: IdentityContext, user: User): Promise<void> {
  await ctx.stores.assignments.removeAllFor(user.id);
  await ctx.stores.userCredentials.deleteForUser(user.id);
  await ctx.stores.users.deleteUser(user.id);
  await ctx.revocations.revoke({ userId: user.id });
  ctx.changed();
}

/**
 * Self-service password change, authenticated by the original password rather than a token:
 * lockout and failed attempts count as at login, and an unknown user costs a hash check too.
 */
export async function changeOwnPassword(ctx: IdentityContext, userId: string, original: string, password: string): Promise<void> {
  const user = await ctx.stores.users.getUser(userId);
  if (user) await refuseIfLocked(ctx, user);
  const ok = await ctx.hasher.verify(original, user?.passwordHash);
  if (!user) throw unauthorized();
  await recordPasswordAttempt(ctx, user, ok);
  if (!ok || !user.enabled) throw unauthorized();
  await refuseReusedPassword(ctx, user.id, password);
  await ctx.stores.users.updateUser({ ...user, passwordHash: await ctx.hasher.hash(password), passwordExpiresAt: null }, true);
  await ctx.revocations.revoke({ userId: user.id });
  ctx.changed();
}

export async function groupsOfUser(ctx: IdentityContext, user: User): Promise<Group[]> {
  return ctx.stores.users.listGroups({ ids: await ctx.stores.users.groupIdsOfUser(user.id) });
}
