import { ApiError, badRequest, unauthorized } from '../../core/http/errors.js';
import type { IdentityContext } from './context.js';
import { recordPasswordAttempt, refuseIfLocked } from './security-compliance.js';
import type { Domain, Project, User } from './model.js';
import type { AuthBody, AuthIdentity, AuthScope, NamedRef, ProjectRef, UserRef } from './schemas.js';
import type { TokenScope } from './tokens/payload.js';
import type { ValidatedToken } from './tokens/provider.js';
import { redeemTrust, type TrustGrant } from './trusts.js';

const METHODS = new Set(['password', 'token', 'application_credential']);
const AUTH_FAILED = 'The request you have made requires authentication.';

interface Authenticated {
  user: User;
  methods: string[];
  expiresAt?: number;
  parentAuditIds?: string[];
  applicationCredentialId?: string;
  /** The scope an application credential pins its tokens to. */
  pinnedProjectId?: string;
}

/** POST /v3/auth/tokens: checks the identity, resolves the scope and issues a token. */
export async function authenticate(ctx: IdentityContext, body: AuthBody): Promise<ValidatedToken> {
  const { auth } = body;
  const { identity } = auth;
  for (const method of identity.methods) {
    if (!METHODS.has(method)) throw new ApiError(401, `Attempted to authenticate with an unsupported method.`);
    if (identity[method] === undefined) throw badRequest(`Invalid input for field 'identity/${method}': it is required.`);
  }
  const who = await identify(ctx, identity, [...new Set(identity.methods)]);
  const trust = await trustScope(ctx, auth.scope, who);
  const scope = trust ? trust.scope : await resolveScope(ctx, auth.scope, who);
  const expiresAt = [who.expiresAt, trust?.expiresAt].filter((t): t is number => t !== undefined);
  const { token } = ctx.tokens.issue({
    userId: trust ? trust.userId : who.user.id,
    methods: who.methods,
    scope,
    ...(expiresAt.length > 0 ? { expiresAt: Math.min(...expiresAt) } : {}),
    ...(who.parentAuditIds ? { parentAuditIds: who.parentAuditIds } : {}),
    ...(who.applicationCredentialId ? { applicationCredentialId: who.applicationCredentialId } : {}),
    ...(trust ? { trustId: trust.trustId } : {}),
  });
  try {
    return await ctx.tokens.validate(token);
  } catch (error) {
    if (error instanceof ApiError && scope.kind === 'project') {
      throw unauthorized(`User ${who.user.id} has no access to project ${scope.id}`);
    }
    throw error;
  }
}

/** `methods` are known ones whose sections are present (checked by authenticate). */
async function identify(ctx: IdentityContext, identity: AuthIdentity, methods: string[]): Promise<Authenticated> {
  let result: Authenticated | undefined;
  for (const method of methods) {
    const next =
      method === 'password' && identity.password
        ? await byPassword(ctx, identity.password.user)
        : method === 'token' && identity.token
          ? await byToken(ctx, identity.token.id)
          : identity.application_credential
            ? await byApplicationCredential(ctx, identity.application_credential)
            : undefined;
    if (!next) throw unauthorized(AUTH_FAILED);
    if (result && result.user.id !== next.user.id) throw unauthorized(AUTH_FAILED);
    result = result ? { ...result, ...next, methods: [...result.methods, ...next.methods] } : next;
  }
  if (!result) throw unauthorized(AUTH_FAILED);
  return result;
}

async function byPassword(ctx: IdentityContext, userRef: UserRef & { password: string }): Promise<Authenticated> {
  const { password } = userRef;
  let user = await findUser(ctx, userRef);
  if (!user && ctx.accountsPending) {
    await ctx.accountsPending;
    user = await findUser(ctx, userRef);
  }
  if (user) await refuseIfLocked(ctx, user);
  // An unknown user costs the same bcrypt work as a wrong password (see PasswordHasher.verify).
  const ok = await ctx.hasher.verify(password, user?.passwordHash);
  if (!user) throw unauthorized(AUTH_FAILED);
  await recordPasswordAttempt(ctx, user, ok);
  if (!ok) throw unauthorized(AUTH_FAILED);
  await requireActive(ctx, user);
  if (user.passwordExpiresAt && Date.parse(user.passwordExpiresAt) <= Date.now()) {
    throw unauthorized(`The password is expired and needs to be changed for user: ${user.id}.`);
  }
  return { user, methods: ['password'] };
}

async function byToken(ctx: IdentityContext, id: string): Promise<Authenticated> {
  // As Keystone: a revoked or expired token in the token method is "not found" (404), not 401.
  const previous = await ctx.tokens.validate(id, { subject: true });
  if (previous.payload.applicationCredentialId) {
    throw new ApiError(403, 'Cannot rescope a token created with an application credential.');
  }
  if (previous.payload.trustId) throw new ApiError(403, 'Cannot rescope a trust-scoped token.');
  return {
    user: previous.user,
    methods: [...new Set([...previous.payload.methods, 'token'])],
    expiresAt: previous.payload.expiresAt,
    parentAuditIds: previous.payload.auditIds,
  };
}

async function byApplicationCredential(ctx: IdentityContext, section: NamedRef & { secret: string; user?: UserRef }): Promise<Authenticated> {
  const { id, name, secret } = section;
  let cred;
  if (id !== undefined) {
    cred = await ctx.stores.credentials.getApplicationCredential(id);
  } else {
    if (name === undefined || section.user === undefined) {
      throw badRequest("Invalid input: an application credential needs 'id', or 'name' and 'user'.");
    }
    const owner = await findUser(ctx, section.user);
    if (owner) cred = await ctx.stores.credentials.getApplicationCredentialByName(owner.id, name);
  }
  const ok = await ctx.hasher.verify(secret, cred?.secretHash);
  if (!cred || !ok) throw unauthorized(AUTH_FAILED);
  if (cred.expiresAt && Date.parse(cred.expiresAt) <= Date.now()) throw unauthorized(AUTH_FAILED);
  const user = await ctx.directory.user(cred.userId);
  if (!user) throw unauthorized(AUTH_FAILED);
  await requireActive(ctx, user);
  return {
    user,
    methods: ['application_credential'],
    applicationCredentialId: cred.id,
    pinnedProjectId: cred.projectId,
    ...(cred.expiresAt ? { expiresAt: Math.min(Date.parse(cred.expiresAt), Date.now() + ctx.config.identity.tokenExpirationSeconds * 1000) } : {}),
  };
}

async function requireActive(ctx: IdentityContext, user: User): Promise<void> {
  if (!user.enabled) throw unauthorized(AUTH_FAILED);
  const domain = await ctx.directory.domain(user.domainId);
  if (!domain || !domain.enabled) throw unauthorized(AUTH_FAILED);
}

/** A user by id, or by name in a domain (the members' types are the route schema's). */
async function findUser(ctx: IdentityContext, ref: UserRef): Promise<User | undefined> {
  if (ref.id !== undefined) return ctx.directory.user(ref.id);
  const { name } = ref;
  if (name === undefined || ref.domain === undefined) throw badRequest("Invalid input: a user needs 'id', or 'name' and 'domain'.");
  const domain = await findDomain(ctx, ref.domain);
  if (!domain) return undefined;
  return ctx.stores.users.getUserByName(domain.id, name);
}

/**
 * A domain by id, or by name: the exact name first, else the one domain whose name differs only
 * in case. Keystone as deployed (MySQL's case-insensitive collation, DevStack's default) finds
 * `Default` by `default`, and clients count on it (gophercloud's token test); two domains that
 * differ only in case leave such a name ambiguous, and it finds nothing.
 */
async function findDomain(ctx: IdentityContext, ref: NamedRef): Promise<Domain | undefined> {
  if (ref.id !== undefined) return ctx.directory.domain(ref.id);
  if (ref.name === undefined) throw badRequest("Invalid input: a domain needs 'id' or 'name'.");
  const exact = await ctx.stores.resources.getDomainByName(ref.name);
  if (exact) return exact;
  const wanted = ref.name.toLowerCase();
  const folded = (await ctx.stores.resources.listDomains()).filter((d) => d.name.toLowerCase() === wanted);
  return folded.length === 1 ? folded[0] : undefined;
}

async function resolveScope(ctx: IdentityContext, raw: AuthScope | undefined, who: Authenticated): Promise<TokenScope> {
  if (who.pinnedProjectId) {
    if (raw !== undefined && raw !== 'unscoped') {
      const requested = raw.project ? await findProject(ctx, raw.project) : undefined;
      if (!requested || requested.id !== who.pinnedProjectId) {
        throw unauthorized('Application credentials cannot request a scope.');
      }
    }
    return { kind: 'project', id: who.pinnedProjectId };
  }
  if (raw === 'unscoped') return { kind: 'unscoped' };
  if (raw === undefined) return defaultScope(ctx, who.user);
  const scope = raw;
  const kinds = ['project', 'domain', 'system', 'OS-TRUST:trust'].filter((k) => scope[k] !== undefined);
  if (kinds.length !== 1) throw badRequest('Specify exactly one of project, domain or system as the scope.');
  if (scope.project !== undefined) {
    const project = await findProject(ctx, scope.project);
    if (!project) throw unauthorized('Could not find the project to scope to.');
    if (!project.enabled) throw unauthorized(`Project ${project.id} is disabled.`);
    return { kind: 'project', id: project.id };
  }
  if (scope.domain !== undefined) {
    const domain = await findDomain(ctx, scope.domain);
    if (!domain) throw unauthorized('Could not find the domain to scope to.');
    if (!domain.enabled) throw unauthorized(`Domain ${domain.id} is disabled.`);
    return { kind: 'domain', id: domain.id };
  }
  if (scope.system !== undefined) {
    if (scope.system.all !== true) throw badRequest("Invalid input for field 'scope/system': expected {\"all\": true}.");
    return { kind: 'system' };
  }
  throw badRequest('Specify exactly one of project, domain, system or OS-TRUST:trust as the scope.');
}

/** A scope of `{"OS-TRUST:trust": {"id": ...}}` alone: the trust it names, redeemed. */
async function trustScope(ctx: IdentityContext, raw: AuthScope | undefined, who: Authenticated): Promise<TrustGrant | undefined> {
  if (raw === undefined || raw === 'unscoped' || raw['OS-TRUST:trust'] === undefined || Object.keys(raw).length !== 1) return undefined;
  return redeemTrust(ctx, raw['OS-TRUST:trust'].id, who.user.id, who.applicationCredentialId ? { applicationCredentialId: who.applicationCredentialId } : {});
}

async function findProject(ctx: IdentityContext, ref: ProjectRef): Promise<Project | undefined> {
  if (ref.id !== undefined) return ctx.directory.project(ref.id);
  const { name } = ref;
  if (name === undefined || ref.domain === undefined) throw badRequest("Invalid input: a project needs 'id', or 'name' and 'domain'.");
  const domain = await findDomain(ctx, ref.domain);
  if (!domain) return undefined;
  return ctx.stores.resources.getProjectByName(domain.id, name);
}

/** Without a scope Keystone scopes to the user's default project when the user has a role there. */
async function defaultScope(ctx: IdentityContext, user: User): Promise<TokenScope> {
  if (!user.defaultProjectId) return { kind: 'unscoped' };
  const project = await ctx.directory.project(user.defaultProjectId);
  if (!project || !project.enabled) return { kind: 'unscoped' };
  const roles = await ctx.directory.effectiveRoles(user.id, { kind: 'project', id: project.id });
  return roles.length > 0 ? { kind: 'project', id: project.id } : { kind: 'unscoped' };
}

/** Enabled projects on which the user holds at least one role (directly, by group or inherited). */
export async function projectsWithRoles(ctx: IdentityContext, userId: string): Promise<Project[]> {
  const projects = await ctx.stores.resources.listProjects({ enabled: true });
  const result = [];
  for (const project of projects) {
    const roles = await ctx.directory.effectiveRoles(userId, { kind: 'project', id: project.id });
    if (roles.length > 0) result.push(project);
  }
  return result;
}

/** Enabled domains on which the user holds at least one role. */
export async function domainsWithRoles(ctx: IdentityContext, userId: string): Promise<Domain[]> {
  const domains = [];
  for (const domain of await ctx.stores.resources.listDomains({ enabled: true })) {
    const roles = await ctx.directory.effectiveRoles(userId, { kind: 'domain', id: domain.id });
    if (roles.length > 0) domains.push(domain);
  }
  return domains;
}
