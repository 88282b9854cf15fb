import { ApiError, badRequest, unauthorized } from '../../core/http/errors.js';
import { isObject, optString, requireObject, type Json } from '../../core/http/body.js';
import type { IdentityContext } from './context.js';
import { recordPasswordAttempt, refuseIfLocked } from './security-compliance.js';
import type { Domain, Project, User } from './model.js';
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
export async function authenticate(ctx: IdentityContext, body: unknown): Promise<ValidatedToken> {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  const auth = requireObject(body.auth, 'auth');
  const identity = requireObject(auth.identity, 'identity');
  const methods = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0 || methods.some((m) => typeof m !== 'string')) {
    throw badRequest("Invalid input for field 'identity/methods': expected a non-empty list of strings.");
  }
  for (const method of methods as string[]) {
    if (!METHODS.has(method)) throw new ApiError(401, `Attempted to authenticate with an unsupported method.`);
    if (identity[method] === undefined) throw badRequest(`Invalid input for field 'identity/${method}': it is required.`);
  }
  const who = await identify(ctx, identity, [...new Set(methods as string[])]);
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

async function identify(ctx: IdentityContext, identity: Json, methods: string[]): Promise<Authenticated> {
  let result: Authenticated | undefined;
  for (const method of methods) {
    const section = requireObject(identity[method], `identity/${method}`);
    const next =
      method === 'password'
        ? await byPassword(ctx, section)
        : method === 'token'
          ? await byToken(ctx, section)
          : await byApplicationCredential(ctx, section);
    if (result && result.user.id !== next.user.id) throw unauthorized(AUTH_FAILED);
    result = result ? { ...result, ...next, methods: [...result.methods, ...next.methods] } : next;
  }
  if (!result) throw unauthorized(AUTH_FAILED);
  return result;
}

async function byPassword(ctx: IdentityContext, section: Json): Promise<Authenticated> {
  const userRef = requireObject(section.user, 'identity/password/user');
  const password = optString(userRef, 'password', { max: 4096 });
  if (password === undefined) throw badRequest("Invalid input for field 'password': it is required.");
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

async function byToken(ctx: IdentityContext, section: Json): Promise<Authenticated> {
  // No length limit here: an overlong id is just another token that does not validate (401).
  const id = optString(section, 'id');
  if (!id) throw badRequest("Invalid input for field 'identity/token/id': it is required.");
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

async function byApplicationCredential(ctx: IdentityContext, section: Json): Promise<Authenticated> {
  const secret = optString(section, 'secret', { max: 4096 });
  if (secret === undefined) throw badRequest("Invalid input for field 'secret': it is required.");
  const id = optString(section, 'id', { max: 64 });
  let cred;
  if (id !== undefined) {
    cred = await ctx.stores.credentials.getApplicationCredential(id);
  } else {
    const name = optString(section, 'name', { max: 255 });
    if (name === undefined) throw badRequest("Invalid input: an application credential needs 'id', or 'name' and 'user'.");
    const owner = await findUser(ctx, requireObject(section.user, 'application_credential/user'));
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

async function findUser(ctx: IdentityContext, ref: Json): Promise<User | undefined> {
  const id = optString(ref, 'id', { max: 64 });
  if (id !== undefined) return ctx.directory.user(id);
  const name = optString(ref, 'name', { max: 255 });
  if (name === undefined) throw badRequest("Invalid input: a user needs 'id', or 'name' and 'domain'.");
  const domain = await findDomain(ctx, requireObject(ref.domain, 'user/domain'));
  if (!domain) return undefined;
  return ctx.stores.users.getUserByName(domain.id, name);
}

async function findDomain(ctx: IdentityContext, ref: Json): Promise<Domain | undefined> {
  const id = optString(ref, 'id', { max: 64 });
  if (id !== undefined) return ctx.directory.domain(id);
  const name = optString(ref, 'name', { max: 255 });
  if (name === undefined) throw badRequest("Invalid input: a domain needs 'id' or 'name'.");
  return ctx.stores.resources.getDomainByName(name);
}

async function resolveScope(ctx: IdentityContext, raw: unknown, who: Authenticated): Promise<TokenScope> {
  if (who.pinnedProjectId) {
    if (raw !== undefined && raw !== 'unscoped') {
      const requested = isObject(raw) && isObject(raw.project) ? await findProject(ctx, raw.project) : undefined;
      if (!requested || requested.id !== who.pinnedProjectId) {
        throw unauthorized('Application credentials cannot request a scope.');
      }
    }
    return { kind: 'project', id: who.pinnedProjectId };
  }
  if (raw === 'unscoped') return { kind: 'unscoped' };
  if (raw === undefined) return defaultScope(ctx, who.user);
  const scope = requireObject(raw, 'scope');
  const kinds = ['project', 'domain', 'system', 'OS-TRUST:trust'].filter((k) => scope[k] !== undefined);
  if (kinds.length !== 1) throw badRequest('Specify exactly one of project, domain or system as the scope.');
  if (scope.project !== undefined) {
    const project = await findProject(ctx, requireObject(scope.project, 'scope/project'));
    if (!project) throw unauthorized('Could not find the project to scope to.');
    if (!project.enabled) throw unauthorized(`Project ${project.id} is disabled.`);
    return { kind: 'project', id: project.id };
  }
  if (scope.domain !== undefined) {
    const domain = await findDomain(ctx, requireObject(scope.domain, 'scope/domain'));
    if (!domain) throw unauthorized('Could not find the domain to scope to.');
    if (!domain.enabled) throw unauthorized(`Domain ${domain.id} is disabled.`);
    return { kind: 'domain', id: domain.id };
  }
  if (scope.system !== undefined) {
    const system = requireObject(scope.system, 'scope/system');
    if (system.all !== true) throw badRequest("Invalid input for field 'scope/system': expected {\"all\": true}.");
    return { kind: 'system' };
  }
  throw badRequest('Specify exactly one of project, domain, system or OS-TRUST:trust as the scope.');
}

/** A scope of `{"OS-TRUST:trust": {"id": ...}}` alone: the trust it names, redeemed. */
async function trustScope(ctx: IdentityContext, raw: unknown, who: Authenticated): Promise<TrustGrant | undefined> {
  if (!isObject(raw) || raw['OS-TRUST:trust'] === undefined || Object.keys(raw).length !== 1) return undefined;
  const id = optString(requireObject(raw['OS-TRUST:trust'], 'scope/OS-TRUST:trust'), 'id', { max: 64 });
  if (id === undefined) throw badRequest("Invalid input for field 'scope/OS-TRUST:trust/id': it is required.");
  return redeemTrust(ctx, id, who.user.id, who.applicationCredentialId ? { applicationCredentialId: who.applicationCredentialId } : {});
}

async function findProject(ctx: IdentityContext, ref: Json): Promise<Project | undefined> {
  const id = optString(ref, 'id', { max: 64 });
  if (id !== undefined) return ctx.directory.project(id);
  const name = optString(ref, 'name', { max: 255 });
  if (name === undefined) throw badRequest("Invalid input: a project needs 'id', or 'name' and 'domain'.");
  const domain = await findDomain(ctx, requireObject(ref.domain, 'project/domain'));
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
