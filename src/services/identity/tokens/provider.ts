import { randomBytes } from 'node:crypto';
import { ApiError } from '../../../core/http/errors.js';
import type { IdentityDirectory } from '../directory.js';
import type { FernetKeyRepository } from '../fernet/key-repository.js';
import { fernetDecrypt, fernetEncrypt } from '../fernet/fernet.js';
import type { AccessRule, Domain, Project, Role, Trust, User } from '../model.js';
import { decodePayload, encodePayload, type TokenPayload, type TokenScope } from './payload.js';
import type { RevocationList } from './revocations.js';

/** A token that decrypted, is unexpired and unrevoked, with everything it refers to resolved. */
export interface ValidatedToken {
  token: string;
  payload: TokenPayload;
  user: User;
  userDomain: Domain;
  project?: Project;
  projectDomain?: Domain;
  domain?: Domain;
  roles: Role[];
  /** A trust-scoped token's trust. */
  trust?: Trust;
  /** An application credential's access rules: what its tokens may call (none is anything). */
  accessRules?: AccessRule[];
  /** Set when the token was rejected but `allowExpired` let an expired one through. */
  expired?: boolean;
}

export interface IssueRequest {
  userId: string;
  methods: string[];
  scope: TokenScope;
  expiresAt?: number;
  /** Audit ids of the token being rescoped, to keep the chain. */
  parentAuditIds?: string[];
  applicationCredentialId?: string;
  trustId?: string;
}

export class TokenError extends ApiError {}

const CACHE_LIMIT = 10_000;

/**
 * Issues Fernet tokens and validates them against the in-memory identity directory and
 * revocation list. Validated tokens are cached by their text until the directory or the keys change.
 */
export class TokenProvider {
  private cache = new Map<string, { generation: number; keys: number; token: ValidatedToken }>();

  constructor(
    private readonly keys: FernetKeyRepository,
    private readonly directory: IdentityDirectory,
    private readonly revocations: RevocationList,
    private readonly lifetimeSeconds: number,
    /** A live application credential's role ids and access rules. */
    private readonly applicationCredential: (appCredId: string) => Promise<{ roleIds: string[]; accessRules: AccessRule[] } | undefined>,
    /** A live trust by id (not deleted); its expiry is checked here. */
    private readonly liveTrust: (trustId: string) => Promise<Trust | undefined> = async () => undefined,
  ) {
    directory.onInvalidate(() => {
      this.cache = new Map();
    });
  }

  issue(request: IssueRequest): { token: string; payload: TokenPayload } {
    const now = Date.now();
    const payload: TokenPayload = {
      userId: request.userId,
      methods: request.methods,
      scope: request.scope,
      issuedAt: now,
      expiresAt: request.expiresAt ?? now + this.lifetimeSeconds * 1000,
      // As Keystone: the token's own audit id, then the first of its chain (a rescope of a rescope keeps the root).
      auditIds: [randomBytes(16).toString('base64url'), ...(request.parentAuditIds?.slice(-1) ?? [])],
      ...(request.applicationCredentialId ? { applicationCredentialId: request.applicationCredentialId } : {}),
      ...(request.trustId ? { trustId: request.trustId } : {}),
    };
    // Another process (kumo identity rotate-keys) may have promoted a new primary.
    this.keys.reloadIfStale();
    const token = fernetEncrypt(this.keys.primaryKey(), encodePayload(payload), now).replace(/=+$/, '');
    return { token, payload };
  }

  /** Decrypts without checking the directory; undefined for anything that is not our token. */
  decode(token: string): TokenPayload | undefined {
    let bytes = fernetDecrypt(this.keys.acceptedKeys(), token);
    if (!bytes && this.keys.reloadIfStale()) bytes = fernetDecrypt(this.keys.acceptedKeys(), token);
    if (!bytes) return undefined;
    try {
      return decodePayload(bytes);
    } catch {
      return undefined;
    }
  }

  /**
   * Resolves a token or throws: 401 for the caller's own token, 404 for a subject token
   * (as Keystone answers an invalid X-Subject-Token).
   */
  async validate(token: string, options: { subject?: boolean; allowExpired?: boolean } = {}): Promise<ValidatedToken> {
    const fail = (message: string): never => {
      if (options.subject) throw new TokenError(404, `Could not find token: ${message}`);
      throw new TokenError(401, 'The request you have made requires authentication.');
    };
    // At most once a second: keys another process rotated in or pruned take effect here too.
    this.keys.reloadIfStale();
    const generation = this.directory.currentGeneration;
    const keys = this.keys.generation;
    const hit = this.cache.get(token);
    if (hit && hit.generation === generation && hit.keys === keys && !options.allowExpired) {
      if (hit.token.payload.expiresAt > Date.now()) return hit.token;
      this.cache.delete(token);
      return fail('The token has expired.');
    }
    const payload = this.decode(token);
    if (!payload) return fail('The token is malformed or was not issued here.');
    const expired = payload.expiresAt <= Date.now();
    if (expired && !options.allowExpired) return fail('The token has expired.');
    const resolved = await this.resolve(token, payload);
    if (typeof resolved === 'string') return fail(resolved);
    if (expired) return { ...resolved, expired: true };
    if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
    if (generation === this.directory.currentGeneration) this.cache.set(token, { generation, keys, token: resolved });
    return resolved;
  }

  private async resolve(token: string, payload: TokenPayload): Promise<ValidatedToken | string> {
    const user = await this.directory.user(payload.userId);
    if (!user || !user.enabled) return 'The user is unknown or disabled.';
    const userDomain = await this.directory.domain(user.domainId);
    if (!userDomain || !userDomain.enabled) return "The user's domain is unknown or disabled.";
    const result: ValidatedToken = { token, payload, user, userDomain, roles: [] };
    const domainIds = [user.domainId];
    const scope = payload.scope;
    if (scope.kind === 'project') {
      const project = await this.directory.project(scope.id);
      if (!project || !project.enabled) return 'The project is unknown or disabled.';
      const projectDomain = await this.directory.domain(project.domainId);
      if (!projectDomain || !projectDomain.enabled) return "The project's domain is unknown or disabled.";
      result.project = project;
      result.projectDomain = projectDomain;
      domainIds.push(project.domainId);
    } else if (scope.kind === 'domain') {
      const domain = await this.directory.domain(scope.id);
      if (!domain || !domain.enabled) return 'The domain is unknown or disabled.';
      result.domain = domain;
      domainIds.push(domain.id);
    }
    const revocable = {
      userId: user.id,
      ...(result.project ? { projectId: result.project.id } : {}),
      domainIds,
      auditIds: payload.auditIds,
      issuedAt: payload.issuedAt,
    };
    if (this.revocations.isRevoked(revocable)) return 'The token has been revoked.';
    if (payload.trustId) {
      const trusted = await this.trustRoles(payload, scope);
      if (typeof trusted === 'string') return trusted;
      result.trust = trusted.trust;
      result.roles = trusted.roles;
    } else if (scope.kind !== 'unscoped') {
      let roles = await this.directory.effectiveRoles(user.id, scope);
      if (payload.applicationCredentialId) {
        const cred = await this.applicationCredential(payload.applicationCredentialId);
        if (!cred) return 'The application credential is gone or expired.';
        const expandedAllowed = new Set((await this.directory.expand(cred.roleIds)).map((r) => r.id));
        roles = roles.filter((r) => expandedAllowed.has(r.id));
        if (cred.accessRules.length > 0) result.accessRules = cred.accessRules;
      }
      if (roles.length === 0) return 'The user has no role on the scope any more.';
      result.roles = roles;
    }
    return result;
  }

  /**
   * A trust-scoped token's roles: the ones delegated, while the trust lives, its trustor and
   * trustee are enabled, and the trustor still holds every delegated role on the project (as
   * Keystone checks at each validation).
   */
  private async trustRoles(payload: TokenPayload, scope: TokenScope): Promise<{ trust: Trust; roles: Role[] } | string> {
    const trust = await this.liveTrust(payload.trustId as string);
    if (!trust) return 'The trust is gone.';
    if (trust.expiresAt && Date.parse(trust.expiresAt) <= Date.now()) return 'The trust has expired.';
    const bearer = trust.impersonation ? trust.trustorUserId : trust.trusteeUserId;
    if (payload.userId !== bearer) return 'The token does not belong to the trust.';
    for (const id of [trust.trustorUserId, trust.trusteeUserId]) {
      const party = await this.directory.user(id);
      if (!party || !party.enabled) return 'A party to the trust is unknown or disabled.';
    }
    if (scope.kind !== 'project') return { trust, roles: [] };
    const held = new Set((await this.directory.effectiveRoles(trust.trustorUserId, scope)).map((r) => r.id));
    if (!trust.roleIds.every((id) => held.has(id))) return 'The trustor no longer holds the delegated roles.';
    const roles = await this.directory.expand(trust.roleIds);
    if (roles.length === 0) return 'The trust delegates no role.';
    return { trust, roles };
  }
}
