import { randomBytes } from 'node:crypto';
import { acceptablePathPattern, type AuthContext } from '../../core/auth/context.js';
import { ApiError, badRequest } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { refuseTrustScoped } from './trusts.js';
import { duplicateError, notFoundError } from './errors.js';
import { checkName } from './extras.js';
import type { AccessRule, ApplicationCredential, Role } from './model.js';
import type { AccessRuleRef, ApplicationCredentialBody } from './schemas.js';
import { microsecondTimestamp } from './render.js';

/**
 * Keystone's application credentials: made by their owner, on the project of the owner's token,
 * with some or all of the roles the owner holds there, never by another application credential.
 */

/** The credential's roles that still exist. */
export async function applicationCredentialRoles(ctx: IdentityContext, cred: ApplicationCredential): Promise<Role[]> {
  const roles = [];
  for (const id of cred.roleIds) {
    const role = await ctx.directory.roleById(id);
    if (role) roles.push(role);
  }
  return roles;
}

/** The user's credential; another user's is as absent as a missing one. */
export async function loadApplicationCredential(ctx: IdentityContext, userId: string, id: string): Promise<ApplicationCredential> {
  const cred = await ctx.stores.credentials.getApplicationCredential(id);
  if (!cred || cred.userId !== userId) throw notFoundError('application credential', id);
  return cred;
}

export interface CreatedApplicationCredential {
  cred: ApplicationCredential;
  roles: Role[];
  /** Shown once, at creation; only its hash is kept. */
  secret: string;
  accessRules: AccessRule[];
}

/** A new credential for `userId` from a request's `application_credential` (its shape checked by the route's schema). */
export async function createApplicationCredential(
  ctx: IdentityContext,
  caller: AuthContext,
  userId: string,
  body: ApplicationCredentialBody,
): Promise<CreatedApplicationCredential> {
  if (caller.userId !== userId) throw new ApiError(403, 'Application credentials can only be created by their owner.');
  if (!caller.projectId) throw new ApiError(403, 'A project-scoped token is required to create an application credential.');
  if (caller.applicationCredentialId) {
    throw new ApiError(403, 'An application credential cannot be used to create another one.');
  }
  refuseTrustScoped(caller, 'an application credential');
  const name = checkName(body.name);
  let expiresAt: string | null = null;
  if (body.expires_at) {
    expiresAt = microsecondTimestamp(body.expires_at);
    if (Date.parse(expiresAt) <= Date.now()) {
      throw badRequest('The expiration time of an application credential must be in the future.');
    }
  }
  const available = await ctx.directory.effectiveRoles(caller.userId, { kind: 'project', id: caller.projectId });
  let roles: Role[] = available;
  if (body.roles !== undefined) {
    roles = [];
    for (const ref of body.roles) {
      const role = available.find((r) => r.id === ref.id || r.name === ref.name);
      if (!role) throw new ApiError(403, `The user does not hold role ${ref.id ?? ref.name ?? '?'} on the project.`);
      roles.push(role);
    }
  }
  const secret = body.secret ?? randomBytes(48).toString('base64url');
  const cred: ApplicationCredential = {
    id: newHexId(),
    name,
    userId: caller.userId,
    projectId: caller.projectId,
    secretHash: await ctx.hasher.hash(secret),
    description: body.description ?? '',
    expiresAt,
    unrestricted: body.unrestricted ?? false,
    roleIds: roles.map((r) => r.id),
    accessRuleIds: [],
  };
  if (await ctx.stores.credentials.getApplicationCredentialByName(cred.userId, name)) {
    throw duplicateError('application credential', name);
  }
  const accessRules = await resolveAccessRules(ctx, caller.userId, body.access_rules ?? []);
  cred.accessRuleIds = accessRules.map((r) => r.id);
  await ctx.stores.credentials.createApplicationCredential(cred);
  return { cred, roles, secret, accessRules };
}

/**
 * A create body's `access_rules`: each names one of the user's rules by id, or describes one
 * (service, path, method), which is the user's existing rule of that description or a new one.
 */
async function resolveAccessRules(ctx: IdentityContext, userId: string, refs: AccessRuleRef[]): Promise<AccessRule[]> {
  const rules: AccessRule[] = [];
  for (const ref of refs) {
    if (ref.id !== undefined) {
      const rule = await ctx.stores.accessRules.get(userId, ref.id);
      if (!rule) throw notFoundError('access rule', ref.id);
      rules.push(rule);
      continue;
    }
    const { service, path, method } = ref;
    if (service === undefined || path === undefined || method === undefined) {
      throw badRequest("Invalid input for field 'access_rules': a rule names its id, or its service, path and method.");
    }
    if (!acceptablePathPattern(path)) throw badRequest("Invalid input for field 'access_rules/path': at most two '**', and no two wildcards side by side.");
    rules.push(await ctx.stores.accessRules.findOrCreate(userId, { service, path, method }));
  }
  return [...new Map(rules.map((r) => [r.id, r])).values()];
}

/** The credential's access rules, in the order it named them. */
export function applicationCredentialAccessRules(ctx: IdentityContext, cred: ApplicationCredential): Promise<AccessRule[]> {
  return ctx.stores.accessRules.list(cred.userId, cred.accessRuleIds);
}

export function listAccessRules(ctx: IdentityContext, userId: string): Promise<AccessRule[]> {
  return ctx.stores.accessRules.list(userId);
}

export async function loadAccessRule(ctx: IdentityContext, userId: string, id: string): Promise<AccessRule> {
  const rule = await ctx.stores.accessRules.get(userId, id);
  if (!rule) throw notFoundError('access rule', id);
  return rule;
}

/** As Keystone: a rule an application credential still names is not deleted (403). */
export async function deleteAccessRule(ctx: IdentityContext, caller: AuthContext, userId: string, id: string): Promise<void> {
  if (caller.applicationCredentialId) throw new ApiError(403, 'An application credential cannot be used to delete an access rule.');
  const rule = await loadAccessRule(ctx, userId, id);
  if (await ctx.stores.accessRules.inUse(userId, rule.id)) {
    throw new ApiError(403, `Cannot delete access rule ${rule.id}: an application credential of the user still uses it.`);
  }
  await ctx.stores.accessRules.delete(rule.id);
}

export function listApplicationCredentials(ctx: IdentityContext, userId: string, name?: string): Promise<ApplicationCredential[]> {
  return ctx.stores.credentials.listApplicationCredentials(userId, name);
}

/** Deletes the user's credential; an application credential may not delete one. */
export async function deleteApplicationCredential(ctx: IdentityContext, caller: AuthContext, userId: string, id: string): Promise<void> {
  if (caller.applicationCredentialId) {
    throw new ApiError(403, 'An application credential cannot be used to delete one.');
  }
  const cred = await loadApplicationCredential(ctx, userId, id);
  await ctx.stores.credentials.deleteApplicationCredential(cred.id);
  ctx.changed();
}
