import type { FastifyReply, FastifyRequest } from 'fastify';
import { unauthorized } from '../http/errors.js';
import type { Credentials } from '../policy/index.js';

/** What every service knows about the caller once its token has been validated. */
export interface AuthContext {
  token: string;
  userId: string;
  userName: string;
  userDomainId: string;
  userDomainName: string;
  projectId?: string;
  projectName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
  domainId?: string;
  domainName?: string;
  system: boolean;
  /** Effective role names (implied roles included), lower-case as Keystone stores them. */
  roles: string[];
  methods: string[];
  auditIds: string[];
  issuedAt: Date;
  expiresAt: Date;
  applicationCredentialId?: string;
  /** Set on a trust-scoped token (OS-TRUST). */
  trustId?: string;
}

/** Implemented by Identity; every service validates tokens in-process through it. */
export interface TokenValidator {
  /** Resolves the caller, or throws a 401 ApiError for a missing, garbage, expired or revoked token. */
  validate(token: string): Promise<AuthContext>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

/**
 * An onRequest hook a service installs inside its own plugin: routes marked
 * `config: { public: true }` pass, every other one needs a valid X-Auth-Token.
 */
export function tokenAuthHook(validator: TokenValidator) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (request.routeOptions.config?.public) return;
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw unauthorized();
    request.auth = await validator.validate(token);
  };
}

/** The caller of an authenticated route (the hook guarantees it is set). */
export function callerOf(request: FastifyRequest): AuthContext {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

/** Credentials as oslo.policy rules see them. */
export function policyCredentials(auth: AuthContext): Credentials {
  return {
    user_id: auth.userId,
    user_domain_id: auth.userDomainId,
    project_id: auth.projectId ?? null,
    project_domain_id: auth.projectDomainId ?? null,
    domain_id: auth.domainId ?? null,
    system_scope: auth.system ? 'all' : null,
    roles: auth.roles,
    is_admin: false,
    is_admin_project: true,
  };
}
