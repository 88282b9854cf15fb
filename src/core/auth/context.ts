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
  /** An application credential's access rules: the only calls its token may make (absent: any). */
  accessRules?: AccessRuleGrant[];
}

/** One call an application credential's token may make: a service type, a method and a path pattern. */
export interface AccessRuleGrant {
  service: string;
  method: string;
  /** Relative to the service's endpoint prefix; `*` or `{name}` is one segment, `**` any number. */
  path: string;
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
/** `serviceTypes`: the catalog types of the service installing the hook, which access rules name. */
export function tokenAuthHook(validator: TokenValidator, serviceTypes: readonly string[] = []) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (request.routeOptions.config?.public) return;
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw unauthorized();
    const auth = await validator.validate(token);
    // As keystonemiddleware: an application credential with access rules reaches nothing else.
    if (auth.accessRules && !serviceTypes.some((type) => accessRulesAllow(auth.accessRules ?? [], type, request.method, requestServicePath(request.url)))) {
      throw unauthorized();
    }
    request.auth = auth;
  };
}

/**
 * A request's path as the service behind an endpoint prefix sees it: each service is mounted
 * at one segment (`/compute`, `/identity`, ...), and rules are written from the segment after
 * it (`/v2.1/servers`), as for a service behind DevStack's Apache.
 */
export function requestServicePath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.replace(/^\/[^/]+/, '') || '/';
}

/** Longer paths are refused to a rule-bound token: a pattern's `**` costs time with the path's length. */
const MAX_RULED_PATH = 2048;

/** keystonemiddleware's matching: same service type and method, and the path matches the rule's pattern. */
export function accessRulesAllow(rules: readonly AccessRuleGrant[], serviceType: string, method: string, path: string): boolean {
  if (path.length > MAX_RULED_PATH) return false;
  return rules.some((rule) => rule.service === serviceType && rule.method === method && pathPattern(rule.path).test(path));
}

/**
 * Whether a rule's path pattern is one this cloud takes: a few `**` at most and no two wildcards
 * side by side, so that matching stays cheap whatever path comes (regular expressions backtrack).
 */
export function acceptablePathPattern(pattern: string): boolean {
  const tokens = [...pattern.matchAll(/(\{[^}]*\})|(\*\*)|(\*)|([^{}*]+)/g)];
  if (tokens.filter((t) => t[2] !== undefined).length > 2) return false;
  return tokens.every((t, i) => t[4] !== undefined || i === 0 || tokens[i - 1]?.[4] !== undefined);
}

const compiledPatterns = new Map<string, RegExp>();

function pathPattern(pattern: string): RegExp {
  const known = compiledPatterns.get(pattern);
  if (known) return known;
  if (compiledPatterns.size > 10_000) compiledPatterns.clear();
  let source = '';
  for (const match of pattern.matchAll(/(\{[^}]*\})|(\*\*)|(\*)|([^{}*]+)/g)) {
    if (match[1] !== undefined || match[3] !== undefined) source += '[^/]+';
    else if (match[2] !== undefined) source += '.*';
    else source += (match[4] as string).replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${source}$`);
  compiledPatterns.set(pattern, compiled);
  return compiled;
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
