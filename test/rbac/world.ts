/**
 * The people and things the RBAC matrix acts on: two projects, a member and a reader of
 * project A, a member of project B, the cloud's admin, and resources owned by A. Shared
 * fixtures are built once, on first use; a row that consumes one gets its own (`fresh`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, passwordToken, startTestCloud, type ApiResponse, type TestCloud } from '../helpers/cloud.js';
import type { CallerName } from './table.js';

/** A fixture: its `id`, and anything else rows may name as `{fixture.key}`. */
export type FixtureValue = Record<string, string> & { id: string };
export type Factory = (w: World) => Promise<FixtureValue>;

const PASSWORD = 'rbac-matrix-password';

export class World {
  private readonly shared = new Map<string, Promise<FixtureValue>>();
  private readonly tokens = new Map<Exclude<CallerName, 'none'>, string>();
  /** Ids of the callers' projects and users, for `{my.project}` and `{my.user}`. */
  readonly scope = new Map<Exclude<CallerName, 'none'>, { project: string; user: string }>();
  private counter = 0;
  private readonly consoles: Server[] = [];

  private constructor(
    readonly tc: TestCloud,
    private readonly factories: Readonly<Record<string, Factory>>,
    private readonly consoleDir: string,
  ) {}

  static async start(factories: Readonly<Record<string, Factory>>): Promise<World> {
    // Fake guests get a VNC console only where a directory is named for their sockets.
    const consoleDir = mkdtempSync(join(tmpdir(), 'kumo-rbac-'));
    const tc = await startTestCloud({
      env: {
        KUMO_FAKE_CONSOLE_DIR: consoleDir,
        // Every cell that consumes a server boots one: give the simulated hosts room for all.
        KUMO_FAKE_HOSTS: '2',
        KUMO_FAKE_HOST_VCPUS: '4096',
        KUMO_FAKE_HOST_RAM_MB: '4194304',
        KUMO_FAKE_HOST_DISK_GB: '100000',
        // Instances fill the first host, so the second one is free to disable or delete.
        KUMO_SCHEDULER_WEIGH: 'stack',
        KUMO_GUEST_IMAGE: 'skip',
      },
    });
    const w = new World(tc, factories, consoleDir);
    try {
      await w.setUp();
    } catch (error) {
      await w.stop();
      throw error;
    }
    return w;
  }

  get url(): string {
    return this.tc.url;
  }

  /** A name no other fixture has. */
  unique(prefix: string): string {
    this.counter += 1;
    return `rbac-${prefix}-${this.counter}`;
  }

  token(caller: Exclude<CallerName, 'none'>): string {
    const token = this.tokens.get(caller);
    if (!token) throw new Error(`no token for ${caller}`);
    return token;
  }

  /** One API call as a caller (`none` sends no token). */
  call(caller: CallerName, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    return api(this.url, method, path, caller === 'none' ? undefined : this.token(caller), body, headers);
  }

  /** A call that must answer `status`; returns its JSON body. */
  async must(caller: CallerName, method: string, path: string, body: unknown, status: number, headers: Record<string, string> = {}): Promise<Record<string, any>> {
    const res = await this.call(caller, method, path, body, headers);
    if (res.status !== status) throw new Error(`fixture: ${caller} ${method} ${path}: HTTP ${res.status}, wanted ${status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.json;
  }

  /** A shared fixture, built once. */
  get(name: string): Promise<FixtureValue> {
    let value = this.shared.get(name);
    if (!value) {
      value = this.make(name);
      this.shared.set(name, value);
    }
    return value;
  }

  /** A fixture of its own, for a cell that consumes or changes it. */
  make(name: string): Promise<FixtureValue> {
    const factory = this.factories[name];
    if (!factory) throw new Error(`no fixture named ${name}`);
    return factory(this);
  }

  /** Shorthand for a shared fixture's id. */
  async id(name: string): Promise<string> {
    return (await this.get(name)).id;
  }

  /** A listening socket where the fake driver looks for a guest's VNC server, so its console URL can be issued. */
  async serveConsole(instanceId: string): Promise<void> {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(join(this.consoleDir, `${instanceId}.vnc`), resolve));
    this.consoles.push(server);
  }

  async stop(): Promise<void> {
    for (const server of this.consoles) server.close();
    await this.tc.stop();
    rmSync(this.consoleDir, { recursive: true, force: true });
  }

  private async setUp(): Promise<void> {
    this.tokens.set('admin', await this.tc.token('admin'));
    const roles = await this.must('admin', 'GET', '/identity/v3/roles', undefined, 200);
    const roleId = (name: string) => (roles.roles as Array<{ id: string; name: string }>).find((r) => r.name === name)?.id as string;
    const project = async (name: string) => {
      const body = await this.must('admin', 'POST', '/identity/v3/projects', { project: { name, domain_id: 'default' } }, 201);
      return body.project.id as string;
    };
    const projects = { a: await project('rbac-a'), b: await project('rbac-b'), spare: await project('rbac-spare') };
    for (const [key, id] of Object.entries(projects)) this.shared.set(`project_${key}`, Promise.resolve({ id }));
    const adminProject = (await this.must('admin', 'GET', '/identity/v3/auth/projects', undefined, 200)).projects.find((p: { name: string }) => p.name === 'admin');
    const adminUser = (await this.must('admin', 'GET', '/identity/v3/users?name=admin', undefined, 200)).users[0];
    this.scope.set('admin', { project: adminProject.id, user: adminUser.id });
    this.shared.set('project_admin', Promise.resolve({ id: adminProject.id }));
    this.shared.set('user_admin', Promise.resolve({ id: adminUser.id }));

    const people: Array<[Exclude<CallerName, 'none' | 'admin'>, string, string]> = [
      ['member', projects.a, 'member'],
      ['reader', projects.a, 'reader'],
      ['other', projects.b, 'member'],
    ];
    for (const [caller, projectId, role] of people) {
      const name = `rbac-${caller}`;
      const user = await this.must('admin', 'POST', '/identity/v3/users', { user: { name, password: PASSWORD, domain_id: 'default', default_project_id: projectId } }, 201);
      const userId = user.user.id as string;
      await this.must('admin', 'PUT', `/identity/v3/projects/${projectId}/users/${userId}/roles/${roleId(role)}`, undefined, 204);
      this.tokens.set(caller, await passwordToken(this.url, name, PASSWORD, projectId === projects.a ? 'rbac-a' : 'rbac-b'));
      this.scope.set(caller, { project: projectId, user: userId });
      this.shared.set(`user_${caller}`, Promise.resolve({ id: userId, name, password: PASSWORD }));
    }
    for (const role of ['admin', 'member', 'reader']) this.shared.set(`role_${role}`, Promise.resolve({ id: roleId(role) }));

    // Fresh servers, networks and groups add up: no quota may get in the matrix's way.
    for (const projectId of [projects.a, projects.b, adminProject.id as string]) {
      await this.must('admin', 'PUT', `/compute/v2.1/os-quota-sets/${projectId}`, { quota_set: { instances: -1, cores: -1, ram: -1, key_pairs: -1, server_groups: -1 } }, 200);
      const unlimited = { network: -1, subnet: -1, port: -1, router: -1, floatingip: -1, security_group: -1, security_group_rule: -1, subnetpool: -1, rbac_policy: -1 };
      await this.must('admin', 'PUT', `/networking/v2.0/quotas/${projectId}`, { quota: unlimited }, 200);
    }
  }

  /** A password token for a user the fixtures made (`user_member`, ...), freshly issued. */
  async newToken(caller: Exclude<CallerName, 'none' | 'admin'>): Promise<string> {
    const project = this.scope.get(caller)?.project === (await this.id('project_a')) ? 'rbac-a' : 'rbac-b';
    return passwordToken(this.url, `rbac-${caller}`, PASSWORD, project);
  }

  /** Polls a server (as admin) until its status is one of `wanted`. */
  async serverStatus(id: string, wanted: string[], timeoutMs = 20_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    let last: ApiResponse | undefined;
    while (Date.now() < deadline) {
      last = await this.call('admin', 'GET', `/compute/v2.1/servers/${id}`);
      const server = last.json.server as Record<string, any> | undefined;
      if (server && wanted.includes(server.status as string) && server['OS-EXT-STS:task_state'] == null) return server;
      if (server?.status === 'ERROR' && !wanted.includes('ERROR')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`fixture: server ${id} did not reach ${wanted.join('/')}: ${JSON.stringify(last?.body)}`);
  }
}
