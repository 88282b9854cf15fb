import type { Json } from '../../core/http/body.js';
import { badRequest } from '../../core/http/errors.js';
import type { CatalogSnapshot } from './directory.js';
import type { AccessRule, ApplicationCredential, Domain, Endpoint, Group, Project, Region, Role, Service, Trust, User } from './model.js';
import type { ValidatedToken } from './tokens/provider.js';

/** Keystone's timestamps: ISO-8601 with microseconds and a Z. */
export function keystoneTime(ms: number | string): string {
  const date = typeof ms === 'number' ? new Date(ms) : new Date(ms);
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Normalises a client's timestamp to UTC with microseconds (`...T12:00:00.123456Z`), keeping
 * the precision it was sent with, since Keystone echoes it back exactly.
 */
export function microsecondTimestamp(raw: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/.exec(raw.trim());
  if (!match) throw badRequest(`Invalid input for field 'expires_at': '${raw.slice(0, 40)}' is not an ISO 8601 timestamp.`);
  const [, day, time, fraction = '', zone = 'Z'] = match;
  const micros = fraction.padEnd(6, '0');
  if (zone === 'Z' || /^[+-]00:?00$/.test(zone)) {
    const check = Date.parse(`${day}T${time}Z`);
    if (Number.isNaN(check)) throw badRequest(`Invalid input for field 'expires_at': '${raw.slice(0, 40)}' is not a valid time.`);
    return `${day}T${time}.${micros}Z`;
  }
  const ms = Date.parse(`${day}T${time}${zone}`);
  if (Number.isNaN(ms)) throw badRequest(`Invalid input for field 'expires_at': '${raw.slice(0, 40)}' is not a valid time.`);
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}

/** Python's `datetime.isoformat()` of a naive UTC time, which is how Keystone renders expires_at. */
function pythonIsoformat(stored: string): string {
  const match = /^(.{19})(?:\.(\d{6}))?Z?$/.exec(stored);
  if (!match) return stored;
  return match[2] && match[2] !== '000000' ? `${match[1]}.${match[2]}` : (match[1] as string);
}

export function renderTokenBody(t: ValidatedToken, catalog: CatalogSnapshot | undefined): Json {
  const body: Json = {
    methods: t.payload.methods,
    user: {
      id: t.user.id,
      name: t.user.name,
      domain: { id: t.userDomain.id, name: t.userDomain.name },
      password_expires_at: t.user.passwordExpiresAt ? keystoneTime(t.user.passwordExpiresAt) : null,
    },
    audit_ids: t.payload.auditIds,
    expires_at: keystoneTime(t.payload.expiresAt),
    issued_at: keystoneTime(t.payload.issuedAt),
  };
  if (t.project && t.projectDomain) {
    body.project = {
      id: t.project.id,
      name: t.project.name,
      domain: { id: t.projectDomain.id, name: t.projectDomain.name },
    };
    body.is_domain = false;
  } else if (t.domain) {
    body.domain = { id: t.domain.id, name: t.domain.name };
  } else if (t.payload.scope.kind === 'system') {
    body.system = { all: true };
  }
  if (t.payload.scope.kind !== 'unscoped') {
    body.roles = t.roles.map((r) => ({ id: r.id, name: r.name }));
  }
  if (catalog && t.payload.scope.kind !== 'unscoped') body.catalog = renderCatalog(catalog, t.project?.id);
  if (t.payload.applicationCredentialId) {
    body.application_credential = {
      id: t.payload.applicationCredentialId,
      restricted: true,
      ...(t.accessRules ? { access_rules: t.accessRules.map((r) => ({ id: r.id, service: r.service, path: r.path, method: r.method })) } : {}),
    };
  }
  if (t.trust) {
    body['OS-TRUST:trust'] = {
      id: t.trust.id,
      impersonation: t.trust.impersonation,
      trustee_user: { id: t.trust.trusteeUserId },
      trustor_user: { id: t.trust.trustorUserId },
    };
  }
  return { token: body };
}

/**
 * Keystone's endpoint templates: `$(project_id)s` / `%(project_id)s` (and the old `tenant_id`)
 * become the token's project; an endpoint whose template cannot be filled (no project in the
 * scope) is left out of that catalog, as Keystone leaves it out.
 */
export function substituteEndpointUrl(url: string, projectId: string | undefined): string | undefined {
  const pattern = /[$%]\((project_id|tenant_id)\)s/g;
  if (!pattern.test(url)) return url;
  if (!projectId) return undefined;
  return url.replace(pattern, projectId);
}

export function renderCatalog(catalog: CatalogSnapshot, projectId?: string): Json[] {
  const entries: Json[] = [];
  for (const service of catalog.services) {
    if (!service.enabled) continue;
    const endpoints = catalog.endpoints
      .filter((e) => e.serviceId === service.id && e.enabled)
      .flatMap((e) => {
        const url = substituteEndpointUrl(e.url, projectId);
        return url === undefined ? [] : [{ id: e.id, interface: e.interface, region: e.regionId, region_id: e.regionId, url }];
      });
    entries.push({ id: service.id, type: service.type, name: service.name, endpoints });
  }
  return entries;
}

const self = (base: string, collection: string, id: string) => ({ self: `${base}/${collection}/${id}` });

export function renderDomain(d: Domain, base: string): Json {
  return {
    ...d.extra,
    id: d.id,
    name: d.name,
    description: d.description,
    enabled: d.enabled,
    tags: [],
    options: {},
    links: self(base, 'domains', d.id),
  };
}

export function renderProject(p: Project, base: string): Json {
  return {
    ...p.extra,
    id: p.id,
    name: p.name,
    domain_id: p.domainId,
    parent_id: p.parentId ?? p.domainId,
    description: p.description,
    enabled: p.enabled,
    is_domain: false,
    tags: p.tags,
    options: {},
    links: self(base, 'projects', p.id),
  };
}

export function renderUser(u: User, base: string): Json {
  return {
    ...u.extra,
    id: u.id,
    name: u.name,
    domain_id: u.domainId,
    enabled: u.enabled,
    password_expires_at: u.passwordExpiresAt ? keystoneTime(u.passwordExpiresAt) : null,
    options: u.options,
    ...(u.description ? { description: u.description } : {}),
    ...(u.defaultProjectId ? { default_project_id: u.defaultProjectId } : {}),
    links: self(base, 'users', u.id),
  };
}

export function renderGroup(g: Group, base: string): Json {
  return {
    ...g.extra,
    id: g.id,
    name: g.name,
    domain_id: g.domainId,
    description: g.description,
    links: self(base, 'groups', g.id),
  };
}

export function renderRole(r: Role, base: string): Json {
  return {
    ...r.extra,
    id: r.id,
    name: r.name,
    domain_id: r.domainId,
    description: r.description || null,
    options: r.options,
    links: self(base, 'roles', r.id),
  };
}

export function renderRoleRef(r: Role, base: string): Json {
  return { id: r.id, name: r.name, links: self(base, 'roles', r.id) };
}

export function renderRegion(r: Region, base: string): Json {
  return {
    ...r.extra,
    id: r.id,
    description: r.description,
    parent_region_id: r.parentRegionId,
    links: self(base, 'regions', r.id),
  };
}

export function renderService(s: Service, base: string): Json {
  return {
    ...s.extra,
    id: s.id,
    type: s.type,
    name: s.name,
    description: s.description,
    enabled: s.enabled,
    links: self(base, 'services', s.id),
  };
}

export function renderEndpoint(e: Endpoint, base: string): Json {
  return {
    ...e.extra,
    id: e.id,
    interface: e.interface,
    region: e.regionId,
    region_id: e.regionId,
    service_id: e.serviceId,
    url: e.url,
    enabled: e.enabled,
    links: self(base, 'endpoints', e.id),
  };
}

export function renderAccessRule(r: AccessRule, base: string): Json {
  return { id: r.id, service: r.service, path: r.path, method: r.method, links: { self: `${base}/users/${r.userId}/access_rules/${r.id}` } };
}

export function renderApplicationCredential(c: ApplicationCredential, roles: Role[], base: string, accessRules: AccessRule[] = []): Json {
  return {
    id: c.id,
    name: c.name,
    description: c.description || null,
    user_id: c.userId,
    project_id: c.projectId,
    expires_at: c.expiresAt ? pythonIsoformat(c.expiresAt) : null,
    unrestricted: c.unrestricted,
    roles: roles.map((r) => ({ id: r.id, name: r.name, domain_id: r.domainId })),
    access_rules: accessRules.map((r) => ({ id: r.id, service: r.service, path: r.path, method: r.method })),
    links: { self: `${base}/users/${c.userId}/application_credentials/${c.id}` },
  };
}

export function renderTrust(t: Trust, roles: Role[], base: string): Json {
  const self = `${base}/OS-TRUST/trusts/${t.id}`;
  return {
    id: t.id,
    trustor_user_id: t.trustorUserId,
    trustee_user_id: t.trusteeUserId,
    project_id: t.projectId,
    impersonation: t.impersonation,
    expires_at: t.expiresAt,
    remaining_uses: t.remainingUses,
    allow_redelegation: t.allowRedelegation,
    redelegation_count: t.redelegationCount ?? 0,
    redelegated_trust_id: t.redelegatedTrustId,
    roles: roles.map((r) => renderRole(r, base)),
    roles_links: { self: `${self}/roles`, previous: null, next: null },
    links: { self },
  };
}

export function collection(key: string, items: Json[], selfUrl: string): Json {
  return { [key]: items, links: { self: selfUrl, previous: null, next: null } };
}
