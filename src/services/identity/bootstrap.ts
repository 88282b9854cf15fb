import { randomBytes } from 'node:crypto';
import type { KumoConfig } from '../../core/config.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { FIRST_START } from './migrations.js';
import type { Domain, Project, Role, User } from './model.js';
import { IdentityStores } from './store/index.js';

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
  /** The `nova` service user's, which compute hosts authenticate as (clouds.yaml's kumo-service). */
  novaPassword: string;
}

export interface BootstrapResult {
  /** Passwords of the users this start created: set on a fresh database only, and only in the process that seeded it. */
  created: Partial<BootstrapCredentials>;
}

export const DEFAULT_DOMAIN_ID = 'default';

/** The roles a fresh cloud has, as DevStack leaves Keystone; admin implies member implies reader. */
const FIRST_START_ROLES = ['admin', 'member', 'reader', 'service', 'ResellerAdmin'];
const ADMIN_ROLES = ['admin', 'member', 'reader'];

/**
 * On a fresh database, brings identity to the state DevStack leaves Keystone in (the default
 * domain, roles, the admin, demo and service projects, the admin and demo users and their
 * grants); that happens once per database, so a later start never re-creates or re-grants what
 * an operator deleted or revoked (`kumo identity bootstrap` restores an admin on request).
 * Every start keeps the catalog pointing at this process's address.
 */
export async function bootstrapIdentity(
  ctx: IdentityContext,
  catalog: CatalogEntry[],
  wanted: Partial<BootstrapCredentials>,
  firstStart: Promise<FirstStartSeed | undefined> = prepareFirstStart(ctx, wanted),
): Promise<BootstrapResult> {
  const seed = await firstStart;
  try {
    const created = seed ? await seedFirstStart(ctx, catalog, seed) : {};
    await ensureCatalog(ctx.stores, ctx.config, catalog);
    ctx.changed();
    return { created };
  } finally {
    seed?.settle();
  }
}

/** The first start's passwords and, being made in the libuv pool, their hashes. */
export interface FirstStartSeed {
  passwords: BootstrapCredentials;
  hashes: Promise<readonly [admin: string, demo: string, nova: string]>;
  /** Ends the wait of logins that came before the accounts (`IdentityContext.accountsPending`); bootstrapIdentity calls it, and so must a start that fails before. */
  settle(): void;
}

/**
 * On a database whose first start has not happened, starts hashing its accounts' passwords
 * (three bcrypts, a fresh start's largest cost) so that they run beside the rest of the start
 * instead of after it; `bootstrapIdentity` takes the result. Nothing on a database already seeded.
 */
export async function prepareFirstStart(ctx: IdentityContext, wanted: Partial<BootstrapCredentials>): Promise<FirstStartSeed | undefined> {
  if (await ctx.stores.bootstrap.isDone(FIRST_START)) return undefined;
  const passwords: BootstrapCredentials = {
    adminPassword: wanted.adminPassword ?? generatePassword(),
    demoPassword: wanted.demoPassword ?? generatePassword(),
    novaPassword: wanted.novaPassword ?? generatePassword(),
  };
  const remember = { remember: true };
  const hashes = Promise.all([ctx.hasher.hash(passwords.adminPassword, remember), ctx.hasher.hash(passwords.demoPassword, remember), ctx.hasher.hash(passwords.novaPassword, remember)] as const);
  // A start that fails before it needs them must not leave a rejection nobody handles.
  hashes.catch(() => undefined);
  let settled!: () => void;
  const pending = new Promise<void>((resolve) => (settled = resolve));
  ctx.accountsPending = pending;
  const settle = () => {
    if (ctx.accountsPending === pending) delete ctx.accountsPending;
    settled();
  };
  return { passwords, hashes, settle };
}

async function seedFirstStart(ctx: IdentityContext, catalog: CatalogEntry[], seed: FirstStartSeed): Promise<Partial<BootstrapCredentials>> {
  // Hashed before the transaction: bcrypt takes a while and must not hold it (SQLite's one connection) open.
  const { adminPassword, demoPassword, novaPassword } = seed.passwords;
  const [adminHash, demoHash, novaHash] = await seed.hashes;
  // One transaction, the marker first: the accounts exist exactly when the marker does, and a
  // second process starting at the same moment (a split deployment) waits, then finds it taken.
  return ctx.stores.database.transaction(async (db) => {
    const stores = new IdentityStores(db);
    if (!(await stores.bootstrap.claim(FIRST_START))) return {};
    await ensureDefaultDomain(stores);
    const roles = await ensureRoles(stores, FIRST_START_ROLES);
    const projects: Record<string, Project> = {};
    for (const name of ['admin', 'demo', 'service']) projects[name] = await ensureProject(stores, name);
    const created: Partial<BootstrapCredentials> = {};
    const admin = await ensureUser(stores, 'admin', projects.admin!, adminHash);
    if (admin.created) created.adminPassword = adminPassword;
    const demo = await ensureUser(stores, 'demo', projects.demo!, demoHash);
    if (demo.created) created.demoPassword = demoPassword;
    await grant(stores, admin.user.id, 'project', projects.admin!.id, roles.admin!);
    await grant(stores, admin.user.id, 'system', 'system', roles.admin!);
    await grant(stores, demo.user.id, 'project', projects.demo!.id, roles.member!);
    // DevStack's service user for Nova: admin and service in the service project. Compute hosts
    // authenticate as it to move image data over the Image API.
    const nova = await ensureUser(stores, 'nova', projects.service!, novaHash);
    if (nova.created) created.novaPassword = novaPassword;
    await grant(stores, nova.user.id, 'project', projects.service!.id, roles.admin!);
    await grant(stores, nova.user.id, 'project', projects.service!.id, roles.service!);
    // The catalog too, so that processes starting beside this one find it made, not half made.
    await ensureCatalog(stores, ctx.config, catalog);
    return created;
  });
}

export interface AdminBootstrap {
  username: string;
  projectName: string;
  password: string;
}

export interface AdminBootstrapResult {
  userId: string;
  projectId: string;
  userCreated: boolean;
  passwordChanged: boolean;
  /** What still stands between the admin and a token, for the operator to decide on. */
  warnings: string[];
}

/**
 * `kumo identity bootstrap` (keystone-manage bootstrap): makes sure the default domain, the
 * admin, member and reader roles, the project and the user exist, that the user is enabled,
 * unlocked and has `password`, and that it holds the admin role on the project and the system.
 * Running it again changes nothing but a password that differs (which revokes the user's tokens).
 */
export async function bootstrapAdmin(ctx: IdentityContext, wanted: AdminBootstrap): Promise<AdminBootstrapResult> {
  const existing = await ctx.stores.users.getUserByName(DEFAULT_DOMAIN_ID, wanted.username);
  const samePassword = existing !== undefined && (await ctx.hasher.verify(wanted.password, existing.passwordHash));
  const hash = samePassword && existing.passwordHash ? existing.passwordHash : await ctx.hasher.hash(wanted.password);
  const result = await ctx.stores.database.transaction(async (db): Promise<AdminBootstrapResult> => {
    const stores = new IdentityStores(db);
    const domain = await ensureDefaultDomain(stores);
    const roles = await ensureRoles(stores, ADMIN_ROLES);
    const project = await ensureProject(stores, wanted.projectName);
    const { user, created } = await ensureUser(stores, wanted.username, project, hash);
    if (!created && (!user.enabled || user.passwordHash !== hash)) {
      await stores.users.updateUser({ ...user, enabled: true, passwordHash: hash, passwordExpiresAt: null }, user.passwordHash !== hash);
    }
    await stores.users.clearFailedAuth(user.id);
    await grant(stores, user.id, 'project', project.id, roles.admin!);
    await grant(stores, user.id, 'system', 'system', roles.admin!);
    const warnings: string[] = [];
    if (!domain.enabled) warnings.push(`the domain ${domain.name} is disabled: nobody in it can log in until it is enabled`);
    if (!project.enabled) warnings.push(`the project ${project.name} is disabled: a token scoped to it is refused until it is enabled`);
    return { userId: user.id, projectId: project.id, userCreated: created, passwordChanged: !created && user.passwordHash !== hash, warnings };
  });
  if (result.passwordChanged) await ctx.revocations.revoke({ userId: result.userId });
  ctx.changed();
  return result;
}

export function generatePassword(): string {
  return randomBytes(12).toString('base64url');
}

async function ensureDefaultDomain(stores: IdentityStores): Promise<Domain> {
  const existing = await stores.resources.getDomain(DEFAULT_DOMAIN_ID);
  if (existing) return existing;
  const domain: Domain = { id: DEFAULT_DOMAIN_ID, name: 'Default', description: 'The default domain', enabled: true, extra: {} };
  await stores.resources.createDomain(domain);
  return domain;
}

/** The named global roles, made when missing; admin implies member and member reader. */
async function ensureRoles(stores: IdentityStores, names: string[]): Promise<Record<string, Role>> {
  const roles: Record<string, Role> = {};
  for (const name of names) {
    let role = await stores.assignments.getRoleByName(name);
    if (!role) {
      role = { id: newHexId(), name, domainId: null, description: '', options: {}, extra: {} };
      await stores.assignments.createRole(role);
    }
    roles[name] = role;
  }
  await stores.assignments.addImpliedRole(roles.admin!.id, roles.member!.id);
  await stores.assignments.addImpliedRole(roles.member!.id, roles.reader!.id);
  return roles;
}

async function ensureProject(stores: IdentityStores, name: string): Promise<Project> {
  const existing = await stores.resources.getProjectByName(DEFAULT_DOMAIN_ID, name);
  if (existing) return existing;
  const project: Project = {
    id: newHexId(),
    name,
    domainId: DEFAULT_DOMAIN_ID,
    parentId: null,
    description: `Bootstrap project ${name}`,
    enabled: true,
    tags: [],
    extra: {},
  };
  await stores.resources.createProject(project);
  return project;
}

/** The user of that name, or a new one with `passwordHash` and `project` as its default. */
async function ensureUser(stores: IdentityStores, name: string, project: Project, passwordHash: string): Promise<{ user: User; created: boolean }> {
  const existing = await stores.users.getUserByName(DEFAULT_DOMAIN_ID, name);
  if (existing) return { user: existing, created: false };
  const user: User = {
    id: newHexId(),
    name,
    domainId: DEFAULT_DOMAIN_ID,
    enabled: true,
    passwordHash,
    passwordExpiresAt: null,
    defaultProjectId: project.id,
    description: '',
    extra: {},
    options: {},
  };
  await stores.users.createUser(user);
  return { user, created: true };
}

function grant(stores: IdentityStores, userId: string, targetType: 'project' | 'system', targetId: string, role: Role): Promise<void> {
  return stores.assignments.grant({ actorType: 'user', actorId: userId, targetType, targetId, roleId: role.id, inherited: false });
}

/**
 * The services this process serves, with endpoints at its configured address. A service entry
 * an operator deleted comes back (clients find services through it); its registered limits are
 * only made with the entry, so a limit deleted to lift it stays deleted.
 */
async function ensureCatalog(stores: IdentityStores, config: KumoConfig, entries: CatalogEntry[]): Promise<void> {
  const store = stores.catalog;
  const region = config.region;
  if (!(await store.getRegion(region))) {
    await store.createRegion({ id: region, description: '', parentRegionId: null, extra: {} });
  }
  for (const entry of entries) {
    let service = (await store.listServices({ type: entry.type }))[0];
    if (!service) {
      service = { id: newHexId(), type: entry.type, name: entry.name, description: '', enabled: true, extra: {} };
      await store.createService(service);
      for (const [resourceName, defaultLimit] of Object.entries(entry.limits ?? {})) {
        await stores.limits.createRegistered({
          id: newHexId(),
          service_id: service.id,
          region_id: region,
          resource_name: resourceName,
          default_limit: defaultLimit,
          description: '',
        });
      }
    }
    const url = `${config.publicUrl}${entry.path}`;
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
