import type { AuthContext } from '../../core/auth/context.js';
import { ApiError, badRequest, unauthorized } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { Role, Trust } from './model.js';
import { microsecondTimestamp } from './render.js';
import type { TokenScope } from './tokens/payload.js';

/**
 * OS-TRUST: a trustor delegates some of their roles on a project to a trustee, who then gets
 * trust-scoped tokens carrying exactly those roles (as the trustor when the trust impersonates).
 * The request shape is checked by the route's schema (schemas.ts); the rules live here.
 */

/**
 * A trust-scoped token carries only the delegated roles; a credential it could make (an
 * application credential, an EC2 key) would carry the trustor's whole roles, as the trustor.
 */
export function refuseTrustScoped(caller: AuthContext, what: string): void {
  if (caller.trustId) throw new ApiError(403, `A trust-scoped token cannot create ${what}.`);
}

/** A trust create body as the route's schema lets it through. */
export interface TrustBody {
  trustor_user_id: string;
  trustee_user_id: string;
  impersonation: boolean;
  project_id?: string | null;
  roles?: Array<{ id?: string; name?: string }>;
  expires_at?: string | null;
  remaining_uses?: number | null;
  allow_redelegation?: boolean;
  redelegation_count?: number | null;
}

export async function createTrust(ctx: IdentityContext, caller: AuthContext, body: TrustBody): Promise<Trust> {
  if (caller.trustId) throw new ApiError(403, 'A trust-scoped token cannot create a trust: redelegation is not supported by this cloud.');
  if (caller.applicationCredentialId) throw new ApiError(403, 'An application credential cannot be used to create a trust.');
  // The policy (identity:create_trust) already made the caller the trustor.
  const trustee = await ctx.directory.user(body.trustee_user_id);
  if (!trustee) throw notFoundError('user', body.trustee_user_id);
  const projectId = body.project_id ?? null;
  let roles: Role[] = [];
  if (projectId !== null) {
    const project = await ctx.directory.project(projectId);
    if (!project) throw notFoundError('project', projectId);
    const held = await ctx.directory.effectiveRoles(caller.userId, { kind: 'project', id: projectId });
    roles = (body.roles ?? []).map((ref) => {
      const role = held.find((r) => (ref.id !== undefined && r.id === ref.id) || (ref.id === undefined && ref.name !== undefined && r.name === ref.name));
      if (!role) throw new ApiError(403, `The trustor does not hold role ${ref.id ?? ref.name ?? '?'} on project ${projectId}.`);
      return role;
    });
    if (roles.length === 0) throw badRequest('At least one role should be specified.');
  } else if ((body.roles ?? []).length > 0) {
    throw badRequest('Roles can only be delegated on a project.');
  }
  let expiresAt: string | null = null;
  if (body.expires_at !== undefined && body.expires_at !== null) {
    expiresAt = microsecondTimestamp(body.expires_at);
    if (Date.parse(expiresAt) <= Date.now()) throw badRequest('The expiration time of a trust must be in the future.');
  }
  if (body.remaining_uses !== undefined && body.remaining_uses !== null && body.remaining_uses < 1) {
    throw badRequest("Invalid input for field 'remaining_uses': it must be a positive integer or null.");
  }
  const trust: Trust = {
    id: newHexId(),
    trustorUserId: caller.userId,
    trusteeUserId: trustee.id,
    projectId,
    impersonation: body.impersonation,
    expiresAt,
    remainingUses: body.remaining_uses ?? null,
    roleIds: [...new Set(roles.map((r) => r.id))],
    allowRedelegation: false,
    redelegationCount: null,
    redelegatedTrustId: null,
  };
  if (body.allow_redelegation === true) throw new ApiError(403, 'Redelegation is not supported by this cloud.');
  await ctx.stores.trusts.create(trust);
  return trust;
}

export async function loadTrust(ctx: IdentityContext, id: string): Promise<Trust> {
  const trust = await ctx.stores.trusts.get(id);
  if (!trust) throw notFoundError('trust', id);
  return trust;
}

export function listTrusts(ctx: IdentityContext, filter: { trustorUserId?: string; trusteeUserId?: string }): Promise<Trust[]> {
  return ctx.stores.trusts.list(filter);
}

/** Deletes it; its tokens stop validating at once (the directory's change drops cached validations). */
export async function deleteTrust(ctx: IdentityContext, trust: Trust): Promise<void> {
  if (!(await ctx.stores.trusts.delete(trust.id))) throw notFoundError('trust', trust.id);
  ctx.changed();
}

/** The delegated roles, in the order delegated. */
export async function trustRoles(ctx: IdentityContext, trust: Trust): Promise<Role[]> {
  const roles: Role[] = [];
  for (const id of trust.roleIds) {
    const role = await ctx.directory.roleById(id);
    if (role) roles.push(role);
  }
  return roles;
}

/** What a token scoped to a trust is issued for. */
export interface TrustGrant {
  trustId: string;
  /** The trustor when the trust impersonates, else the trustee. */
  userId: string;
  scope: TokenScope;
  /** The trust's expiry, when it comes before the token's own. */
  expiresAt?: number;
}

/**
 * Authenticating with `"scope": {"OS-TRUST:trust": {"id": ...}}`: the authenticated user must
 * be the trustee, the trust alive, and a use left (one is taken here).
 */
export async function redeemTrust(ctx: IdentityContext, trustId: string, authenticatedUserId: string, via: { applicationCredentialId?: string }): Promise<TrustGrant> {
  if (via.applicationCredentialId) throw new ApiError(403, 'An application credential cannot be used with a trust.');
  const trust = await ctx.stores.trusts.get(trustId);
  if (!trust) throw notFoundError('trust', trustId);
  if (trust.trusteeUserId !== authenticatedUserId) throw new ApiError(403, 'The user is not the trustee of the trust.');
  if (trust.expiresAt && Date.parse(trust.expiresAt) <= Date.now()) throw unauthorized('The trust has expired.');
  if (!(await ctx.stores.trusts.consumeUse(trust.id))) throw new ApiError(403, 'The trust has no uses left.');
  return {
    trustId: trust.id,
    userId: trust.impersonation ? trust.trustorUserId : trust.trusteeUserId,
    scope: trust.projectId ? { kind: 'project', id: trust.projectId } : { kind: 'unscoped' },
    ...(trust.expiresAt ? { expiresAt: Math.min(Date.parse(trust.expiresAt), Date.now() + ctx.config.identity.tokenExpirationSeconds * 1000) } : {}),
  };
}
