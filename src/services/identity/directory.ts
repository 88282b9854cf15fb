import type { IdentityStores } from './store/index.js';
import type { Domain, Endpoint, Project, Role, Service, User } from './model.js';
import type { TokenScope } from './tokens/payload.js';

export interface CatalogSnapshot {
  services: Service[];
  endpoints: Endpoint[];
}

/**
 * The read model behind token validation: users, projects, domains, effective roles and
 * the catalog, cached in memory so that validating a token reads no database. Every
 * identity write calls `invalidate()` (and other processes hear of it over the bus); a
 * load that raced with an invalidation is not kept.
 */
export class IdentityDirectory {
  private generation = 0;
  private users = new Map<string, User | null>();
  private projects = new Map<string, Project | null>();
  private domains = new Map<string, Domain | null>();
  private roles = new Map<string, Role[]>();
  private allRoles: Map<string, Role> | undefined;
  private implied: Map<string, string[]> | undefined;
  private catalogCache: CatalogSnapshot | undefined;
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly stores: IdentityStores) {}

  get currentGeneration(): number {
    return this.generation;
  }

  invalidate(): void {
    this.generation++;
    this.users = new Map();
    this.projects = new Map();
    this.domains = new Map();
    this.roles = new Map();
    this.allRoles = undefined;
    this.implied = undefined;
    this.catalogCache = undefined;
    for (const listener of this.listeners) listener();
  }

  onInvalidate(listener: () => void): void {
    this.listeners.push(listener);
  }

  user(id: string): Promise<User | undefined> {
    return this.cached(this.users, id, () => this.stores.users.getUser(id));
  }

  project(id: string): Promise<Project | undefined> {
    return this.cached(this.projects, id, () => this.stores.resources.getProject(id));
  }

  domain(id: string): Promise<Domain | undefined> {
    return this.cached(this.domains, id, () => this.stores.resources.getDomain(id));
  }

  async catalog(): Promise<CatalogSnapshot> {
    if (this.catalogCache) return this.catalogCache;
    const generation = this.generation;
    const snapshot = {
      services: await this.stores.catalog.listServices(),
      endpoints: await this.stores.catalog.listEndpoints(),
    };
    if (generation === this.generation) this.catalogCache = snapshot;
    return snapshot;
  }

  /** Roles the user holds on the scope: direct, through groups, inherited, and implied. */
  async effectiveRoles(userId: string, scope: TokenScope): Promise<Role[]> {
    if (scope.kind === 'unscoped') return [];
    const key = `${userId}|${scope.kind}|${scope.kind === 'system' ? '' : scope.id}`;
    const hit = this.roles.get(key);
    if (hit) return hit;
    const generation = this.generation;
    const roleIds = await this.directRoleIds(userId, scope);
    // Domain-specific roles only ever stand for the global roles they imply (as in Keystone).
    const roles = (await this.expand(roleIds)).filter((r) => r.domainId === null);
    if (generation === this.generation) this.roles.set(key, roles);
    return roles;
  }

  /** Role ids reachable from `roleIds` through implied-role rules, the given ones included. */
  async expand(roleIds: Iterable<string>): Promise<Role[]> {
    const [all, implied] = await Promise.all([this.roleTable(), this.impliedTable()]);
    const seen = new Set<string>();
    const stack = [...roleIds];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(implied.get(id) ?? []));
    }
    return [...seen]
      .map((id) => all.get(id))
      .filter((r): r is Role => r !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async roleById(id: string): Promise<Role | undefined> {
    return (await this.roleTable()).get(id);
  }

  private async directRoleIds(userId: string, scope: Exclude<TokenScope, { kind: 'unscoped' }>): Promise<Set<string>> {
    const actorIds = [userId, ...(await this.stores.users.groupIdsOfUser(userId))];
    const ids = new Set<string>();
    const add = (list: Array<{ roleId: string }>) => list.forEach((a) => ids.add(a.roleId));
    const assignments = this.stores.assignments;
    if (scope.kind === 'system') {
      add(await assignments.list({ actorIds, targetType: 'system' }));
      return ids;
    }
    if (scope.kind === 'domain') {
      add(await assignments.list({ actorIds, targetType: 'domain', targetId: scope.id, inherited: false }));
      return ids;
    }
    const project = await this.project(scope.id);
    if (!project) return ids;
    add(await assignments.list({ actorIds, targetType: 'project', targetId: project.id, inherited: false }));
    add(await assignments.list({ actorIds, targetType: 'domain', targetId: project.domainId, inherited: true }));
    let parentId = project.parentId;
    for (let depth = 0; parentId && depth < 64; depth++) {
      add(await assignments.list({ actorIds, targetType: 'project', targetId: parentId, inherited: true }));
      parentId = (await this.project(parentId))?.parentId ?? null;
    }
    return ids;
  }

  private async roleTable(): Promise<Map<string, Role>> {
    if (this.allRoles) return this.allRoles;
    const generation = this.generation;
    const table = new Map((await this.stores.assignments.listRoles()).map((r) => [r.id, r]));
    if (generation === this.generation) this.allRoles = table;
    return table;
  }

  private async impliedTable(): Promise<Map<string, string[]>> {
    if (this.implied) return this.implied;
    const generation = this.generation;
    const table = new Map<string, string[]>();
    for (const rule of await this.stores.assignments.listImpliedRoles()) {
      table.set(rule.priorRoleId, [...(table.get(rule.priorRoleId) ?? []), rule.impliedRoleId]);
    }
    if (generation === this.generation) this.implied = table;
    return table;
  }

  private async cached<T>(map: Map<string, T | null>, id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = map.get(id);
    if (hit !== undefined) return hit ?? undefined;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation) map.set(id, value ?? null);
    return value;
  }
}
