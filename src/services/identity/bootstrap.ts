import { randomBytes } from 'node:crypto';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import type { Project, Role, User } from './model.js';

/** A service the catalog should list, at a path of the one HTTP port. */
export interface CatalogEntry {
  type: string;
  name: string;
  /** e.g. `/identity/v3` or `/compute/v2.1`. */
  path: string;
  /** Registered (default) unified limits of the service, by resource name. */
  limits?: Record<string, number>;
}

export interface BootstrapCredentials {
  adminPassword: string;
  demoPassword: string;
}

export interface BootstrapResult {
  /** Passwords of the users this run created; undefined for users that already existed. */
  created: Partial<BootstrapCredentials>;
}

export const DEFAULT_DOMAIN_ID = 'default';

/**
 * Brings a fresh database to the state DevStack leaves Keystone in, and on every later
 * start only mends what is missing or stale (catalog URLs follow the configured address).
 */
export async function bootstrapIdentity(
  ctx: IdentityContext,
  catalog: CatalogEntry[],
  wanted: Partial<BootstrapCredentials>,
): Promise<BootstrapResult> {
  const { resources, users, assignments } = ctx.stores;
  if (!(await resources.getDomain(DEFAULT_DOMAIN_ID))) {
    await resources.createDomain({
      id: DEFAULT_DOMAIN_ID,
      name: 'Default',
      description: 'The default domain',
      enabled: true,
      extra: {},
    });
  }
  const roles: Record<string, Role> = {};
  for (const name of ['admin', 'member', 'reader', 'service', 'ResellerAdmin']) {
    let role = await assignments.getRoleByName(name);
    if (!role) {
      role = { id: newHexId(), name, domainId: null, description: '', options: {}, extra: {} };
      await assignments.createRole(role);
    }
    roles[name] = role;
  }
  await assignments.addImpliedRole(roles.admin!.id, roles.member!.id);
  await assignments.addImpliedRole(roles.member!.id, roles.reader!.id);

  const projects: Record<string, Project> = {};
  for (const name of ['admin', 'demo', 'service']) {
    let project = await resources.getProjectByName(DEFAULT_DOMAIN_ID, name);
    if (!project) {
      project = {
        id: newHexId(),
        name,
        domainId: DEFAULT_DOMAIN_ID,
        parentId: null,
        description: `Bootstrap project ${name}`,
        enabled: true,
        tags: [],
        extra: {},
      };
      await resources.createProject(project);
    }
    projects[name] = project;
  }

  const created: Partial<BootstrapCredentials> = {};
  const ensureUser = async (name: string, project: Project, password: string | undefined): Promise<{ user: User; password?: string }> => {
    const existing = await users.getUserByName(DEFAULT_DOMAIN_ID, name);
    if (existing) return { user: existing };
    const secret = password ?? randomBytes(12).toString('base64url');
    const user: User = {
      id: newHexId(),
      name,
      domainId: DEFAULT_DOMAIN_ID,
      enabled: true,
      passwordHash: await ctx.hasher.hash(secret),
      passwordExpiresAt: null,
      defaultProjectId: project.id,
      description: '',
      extra: {},
      options: {},
    };
    await users.createUser(user);
    return { user, password: secret };
  };
  // Side by side: each bcrypt hash takes a quarter second of a core at Keystone's cost.
  const [admin, demo] = await Promise.all([
    ensureUser('admin', projects.admin!, wanted.adminPassword),
    ensureUser('demo', projects.demo!, wanted.demoPassword),
  ]);
  if (admin.password) created.adminPassword = admin.password;
  if (demo.password) created.demoPassword = demo.password;
  const grant = (userId: string, targetType: 'project' | 'system', targetId: string, roleId: string) =>
    assignments.grant({ actorType: 'user', actorId: userId, targetType, targetId, roleId, inherited: false });
  await grant(admin.user.id, 'project', projects.admin!.id, roles.admin!.id);
  await grant(admin.user.id, 'system', 'system', roles.admin!.id);
  await grant(demo.user.id, 'project', projects.demo!.id, roles.member!.id);

  await ensureCatalog(ctx, catalog);
  ctx.changed();
  return { created };
}

async function ensureCatalog(ctx: IdentityContext, entries: CatalogEntry[]): Promise<void> {
  const store = ctx.stores.catalog;
  const region = ctx.config.region;
  if (!(await store.getRegion(region))) {
    await store.createRegion({ id: region, description: '', parentRegionId: null, extra: {} });
  }
  for (const entry of entries) {
    let service = (await store.listServices({ type: entry.type }))[0];
    if (!service) {
      service = { id: newHexId(), type: entry.type, name: entry.name, description: '', enabled: true, extra: {} };
      await store.createService(service);
    }
    for (const [resourceName, defaultLimit] of Object.entries(entry.limits ?? {})) {
      const existing = await ctx.stores.limits.listRegistered({ service_id: service.id, resource_name: resourceName });
      if (existing.length === 0) {
        await ctx.stores.limits.createRegistered({
          id: newHexId(),
          service_id: service.id,
          region_id: region,
          resource_name: resourceName,
          default_limit: defaultLimit,
          description: '',
        });
      }
    }
    const url = `${ctx.config.publicUrl}${entry.path}`;
    const endpoints = await store.listEndpoints({ serviceId: service.id });
    for (const iface of ['public', 'internal', 'admin'] as const) {
      const endpoint = endpoints.find((e) => e.interface === iface && e.regionId === region);
      if (!endpoint) {
        await store.createEndpoint({ id: newHexId(), serviceId: service.id, interface: iface, regionId: region, url, enabled: true, extra: {} });
      } else if (endpoint.url !== url) {
        await store.updateEndpoint({ ...endpoint, url });
      }
    }
  }
}
