// Identity driven end to end by the real `openstack` CLI against a real `kumo up` process.
// Each describe owns one private cloud (its own data directory and port), started once.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { KeystoneHttp } from './helpers/keystone-http.js';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';

const HEX_ID = /^[0-9a-f]{32}$/;
/**
 * Each CLI call costs about a second of Python start-up, several on a busy machine: a test gets
 * two minutes so that only a hang fails it.
 */
const SLOW = { timeout: 120_000 };
const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];

interface CloudsYaml {
  clouds: Record<string, { auth: { auth_url: string; username: string; password: string; project_name: string } }>;
}

function readClouds(dataDir: string): CloudsYaml {
  return parse(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8')) as CloudsYaml;
}

/** Options for a password login of a Default-domain user with no clouds.yaml involved. */
function passwordAuth(kumo: KumoProcess, user: string, password: string, scope: { project: string } | { system: 'all' }): string[] {
  return [
    '--os-auth-url', `${kumo.url}/identity`,
    '--os-identity-api-version', '3',
    '--os-auth-type', 'password',
    '--os-username', user,
    '--os-password', password,
    '--os-user-domain-name', 'Default',
    ...('project' in scope
      ? ['--os-project-name', scope.project, '--os-project-domain-name', 'Default']
      : ['--os-system-scope', scope.system]),
  ];
}

function assertHttpStatus(result: { stderr: string }, status: number): void {
  assert.match(result.stderr, new RegExp(`\\(HTTP ${status}\\)`), `expected HTTP ${status} in: ${result.stderr}`);
}

/**
 * Settings a developer's shell may hold. They are planted in this test process so that every CLI
 * call and every `kumo up` proves that the harness keeps them out: any leak fails loudly.
 */
const POISON: Record<string, string> = {
  OS_CLOUD: 'leaked-from-the-environment',
  OS_AUTH_URL: 'http://127.0.0.1:9/identity',
  OS_USERNAME: 'leaked',
  OS_PASSWORD: 'leaked',
  OS_PROJECT_NAME: 'leaked',
  KUMO_DATABASE_URL: 'postgres://leaked.invalid/kumo',
  KUMO_PORT: '9',
};

function plantPoison(): () => void {
  const saved = Object.fromEntries(Object.keys(POISON).map((name) => [name, process.env[name]]));
  Object.assign(process.env, POISON);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

function byName<T extends { Name: string }>(rows: T[], name: string): T | undefined {
  return rows.find((row) => row.Name === name);
}

describe('identity through the openstack CLI', { skip: cliSkip }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let http: KeystoneHttp;
  let adminToken: string;
  /** No clouds.yaml for these calls: everything is on the command line. */
  const bare = { configFile: null };

  /** A user with a password and the member role on a project of their own, made over plain HTTP. */
  async function memberFixture(name: string, password: string): Promise<{ userId: string; projectId: string; project: string }> {
    const project = await http.createProject(adminToken, `${name}-project`);
    const user = await http.createUser(adminToken, name, password, project.id as string);
    await http.grantOnProject(adminToken, project.id as string, user.id as string, 'member');
    return { userId: user.id as string, projectId: project.id as string, project: project.name as string };
  }

  let unpoison: (() => void) | undefined;

  before(async () => {
    unpoison = plantPoison();
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-identity-'));
    kumo = await startKumo({ dataDir: join(root, 'data') });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    http = new KeystoneHttp(kumo.url);
    const admin = readClouds(kumo.dataDir).clouds['kumo-admin'];
    assert.ok(admin, 'clouds.yaml has a kumo-admin cloud');
    adminToken = await http.passwordToken(admin.auth.username, admin.auth.password, admin.auth.project_name);
  }, SLOW);

  after(async () => {
    await cli?.killAll();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
    unpoison?.();
  });

  it('writes a clouds.yaml for kumo-admin, kumo-demo and kumo-service pointing at this cloud', SLOW, () => {
    const clouds = readClouds(kumo.dataDir).clouds;
    assert.deepEqual(Object.keys(clouds).sort(), ['kumo-admin', 'kumo-demo', 'kumo-service']);
    for (const [name, user] of [['kumo-admin', 'admin'], ['kumo-demo', 'demo']] as const) {
      assert.equal(clouds[name]?.auth.auth_url, `${kumo.url}/identity`);
      assert.equal(clouds[name]?.auth.username, user);
      assert.equal(clouds[name]?.auth.project_name, user);
    }
  });

  it('token issue gives admin and demo tokens scoped to their projects', SLOW, async () => {
    const [admin, demo] = await Promise.all([
      cli.json<Record<string, string>>([...ADMIN, 'token', 'issue']),
      cli.json<Record<string, string>>([...DEMO, 'token', 'issue']),
    ]);
    for (const [token, name] of [[admin, 'admin'], [demo, 'demo']] as const) {
      assert.deepEqual(Object.keys(token).sort(), ['expires', 'id', 'project_id', 'user_id']);
      assert.match(token.user_id ?? '', HEX_ID);
      assert.match(token.project_id ?? '', HEX_ID);
      const expires = Date.parse(token.expires ?? '');
      assert.ok(expires > Date.now() + 50 * 60_000 && expires < Date.now() + 61 * 60_000, `expires ${token.expires} is about an hour away`);
      const validated = await http.validate(adminToken, token.id ?? '');
      assert.equal(validated.status, 200);
      assert.equal(validated.json.token.user.id, token.user_id);
      assert.equal(validated.json.token.user.name, name);
      assert.equal(validated.json.token.project.id, token.project_id);
      assert.equal(validated.json.token.project.name, name);
      assert.deepEqual(validated.json.token.methods, ['password']);
    }
    assert.notEqual(admin.user_id, demo.user_id);
    assert.notEqual(admin.project_id, demo.project_id);
  });

  it('catalog list shows identity with public, internal and admin endpoints', SLOW, async () => {
    const catalog = await cli.json<Array<{ Name: string; Type: string; Endpoints: Array<Record<string, string>> }>>([...ADMIN, 'catalog', 'list']);
    const identity = catalog.filter((service) => service.Type === 'identity');
    assert.equal(identity.length, 1, JSON.stringify(catalog));
    assert.equal(identity[0]?.Name, 'keystone');
    const endpoints = identity[0]?.Endpoints ?? [];
    assert.deepEqual(endpoints.map((e) => e.interface).sort(), ['admin', 'internal', 'public']);
    for (const endpoint of endpoints) {
      assert.equal(endpoint.url, `${kumo.url}/identity/v3`);
      assert.equal(endpoint.region, 'RegionOne');
      assert.match(endpoint.id ?? '', HEX_ID);
    }
  });

  it('project create, list, show, set and delete', SLOW, async () => {
    const created = await cli.json([...ADMIN, 'project', 'create', '--description', 'first project', '--tag', 'e2e', 'alpha']);
    assert.match(created.id, HEX_ID);
    assert.equal(created.name, 'alpha');
    assert.equal(created.description, 'first project');
    assert.equal(created.domain_id, 'default');
    assert.equal(created.enabled, true);
    assert.deepEqual(created.tags, ['e2e']);

    const [listed, shown] = await Promise.all([
      cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'project', 'list']),
      cli.json([...ADMIN, 'project', 'show', 'alpha']),
    ]);
    assert.deepEqual(byName(listed, 'alpha'), { ID: created.id, Name: 'alpha' });
    assert.ok(byName(listed, 'admin') && byName(listed, 'demo'), 'the bootstrap projects are listed too');
    assert.deepEqual(shown, created);

    await cli.ok([...ADMIN, 'project', 'set', '--name', 'alpha-renamed', '--description', 'changed', '--disable', 'alpha']);
    const updated = await cli.json([...ADMIN, 'project', 'show', created.id]);
    assert.equal(updated.id, created.id);
    assert.equal(updated.name, 'alpha-renamed');
    assert.equal(updated.description, 'changed');
    assert.equal(updated.enabled, false);

    await cli.ok([...ADMIN, 'project', 'delete', 'alpha-renamed']);
    const missing = await cli.fails([...ADMIN, 'project', 'show', created.id]);
    assert.match(missing.stderr, /No project with a name or ID/);
    assert.equal((await http.request('GET', `/projects/${created.id}`, { token: adminToken })).status, 404);
  });

  it('user create --password and user set --password: the new password works, the old one fails', SLOW, async () => {
    const project = await http.createProject(adminToken, 'bravo-project');
    const user = await cli.json([
      ...ADMIN, 'user', 'create', '--password', 'bravo-pass-1', '--project', 'bravo-project', '--description', 'e2e user', '--email', 'bravo@example.com', 'bravo',
    ]);
    assert.match(user.id, HEX_ID);
    assert.equal(user.name, 'bravo');
    assert.equal(user.domain_id, 'default');
    assert.equal(user.enabled, true);
    assert.equal(user.default_project_id, project.id);
    assert.equal(user.description, 'e2e user');
    assert.equal(user.email, 'bravo@example.com');
    assert.equal(user.password, undefined, 'the password is never shown');
    await http.grantOnProject(adminToken, project.id, user.id, 'member');

    const scope = { project: 'bravo-project' };
    const first = await cli.json(['token', 'issue', ...passwordAuth(kumo, 'bravo', 'bravo-pass-1', scope)], bare);
    assert.equal(first.user_id, user.id);
    assert.equal(first.project_id, project.id);

    await cli.ok([...ADMIN, 'user', 'set', '--password', 'bravo-pass-2', 'bravo']);
    const [fresh, stale, firstToken] = await Promise.all([
      cli.json(['token', 'issue', ...passwordAuth(kumo, 'bravo', 'bravo-pass-2', scope)], bare),
      cli.fails(['token', 'issue', ...passwordAuth(kumo, 'bravo', 'bravo-pass-1', scope)], bare),
      http.validate(adminToken, first.id),
    ]);
    assert.equal(fresh.user_id, user.id);
    assert.equal(fresh.project_id, project.id);
    assertHttpStatus(stale, 401);
    assert.equal(firstToken.status, 404, 'a password change revokes the tokens issued before it');
  });

  it('role add --project P --user U member, and role assignment list --names shows it', SLOW, async () => {
    const project = await http.createProject(adminToken, 'charlie-project');
    const user = await http.createUser(adminToken, 'charlie', 'charlie-pass');
    const login = ['token', 'issue', ...passwordAuth(kumo, 'charlie', 'charlie-pass', { project: 'charlie-project' })];
    assertHttpStatus(await cli.fails(login, bare), 401);

    assert.equal((await cli.ok([...ADMIN, 'role', 'add', '--project', 'charlie-project', '--user', 'charlie', 'member'])).trim(), '');
    const [assignments, filtered, token] = await Promise.all([
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'role', 'assignment', 'list', '--names']),
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'role', 'assignment', 'list', '--names', '--project', 'charlie-project']),
      cli.json(login, bare),
    ]);
    const expected = {
      Role: 'member',
      User: 'charlie@Default',
      Group: '',
      Project: 'charlie-project@Default',
      Domain: '',
      System: '',
      Inherited: false,
    };
    assert.deepEqual(assignments.filter((a) => a.User === 'charlie@Default'), [expected]);
    assert.ok(assignments.some((a) => a.User === 'admin@Default' && a.Role === 'admin' && a.Project === 'admin@Default'));
    assert.deepEqual(filtered, [expected]);
    assert.equal(token.user_id, user.id);
    assert.equal(token.project_id, project.id);
  });

  it('application credential create, then a token from the credential alone, scoped to its project', SLOW, async () => {
    const delta = await memberFixture('delta', 'delta-pass');
    const asDelta = passwordAuth(kumo, 'delta', 'delta-pass', { project: delta.project });
    const cred = await cli.json(['application', 'credential', 'create', ...asDelta, '--description', 'for CI', 'delta-ci'], bare);
    assert.match(cred.id, HEX_ID);
    assert.equal(cred.name, 'delta-ci');
    assert.equal(cred.description, 'for CI');
    assert.equal(cred.project_id, delta.projectId);
    assert.equal(cred.user_id, delta.userId);
    assert.equal(cred.unrestricted, false);
    assert.ok(typeof cred.secret === 'string' && cred.secret.length >= 16, 'a generated secret is shown once');
    assert.ok(String(cred.roles).split(' ').includes('member'), `roles: ${cred.roles}`);

    const withCredential = (secret: string) => [
      '--os-auth-url', `${kumo.url}/identity`,
      '--os-identity-api-version', '3',
      '--os-auth-type', 'v3applicationcredential',
      '--os-application-credential-id', cred.id,
      '--os-application-credential-secret', secret,
    ];
    const [token, wrong, listed] = await Promise.all([
      cli.json(['token', 'issue', ...withCredential(cred.secret)], bare),
      cli.fails(['token', 'issue', ...withCredential(`${cred.secret}x`)], bare),
      cli.json<Array<Record<string, unknown>>>(['application', 'credential', 'list', ...asDelta], bare),
    ]);
    assert.equal(token.project_id, delta.projectId);
    assert.equal(token.user_id, delta.userId);
    assertHttpStatus(wrong, 401);
    assert.deepEqual(listed.map((c) => [c.ID, c.Name, c['Project ID']]), [[cred.id, 'delta-ci', delta.projectId]]);

    const validated = await http.validate(adminToken, token.id);
    assert.equal(validated.status, 200);
    assert.deepEqual(validated.json.token.methods, ['application_credential']);
    assert.equal(validated.json.token.application_credential.id, cred.id);
    assert.equal(validated.json.token.project.id, delta.projectId);
    assert.deepEqual(validated.json.token.roles.map((r: { name: string }) => r.name).sort(), String(cred.roles).split(' ').sort());

    await cli.ok(['application', 'credential', 'delete', ...asDelta, 'delta-ci'], bare);
    const [gone, again] = await Promise.all([
      http.validate(adminToken, token.id),
      cli.fails(['token', 'issue', ...withCredential(cred.secret)], bare),
    ]);
    assert.equal(gone.status, 404, 'tokens of a deleted application credential are no longer valid');
    assertHttpStatus(again, 401);
  });

  it('token revoke makes that token fail validation and nothing else', SLOW, async () => {
    const token = await cli.value([...ADMIN, 'token', 'issue'], 'id');
    assert.equal((await http.validate(adminToken, token)).status, 200);

    await cli.ok([...ADMIN, 'token', 'revoke', token]);
    const [validated, used, other] = await Promise.all([
      http.validate(adminToken, token),
      http.request('GET', '/projects', { token }),
      http.request('GET', '/projects', { token: adminToken }),
    ]);
    assert.equal(validated.status, 404);
    assert.equal(validated.json.error?.code, 404);
    assert.equal(used.status, 401);
    assert.equal(used.json.error?.code, 401);
    assert.equal(other.status, 200, 'another token of the same user stays valid');
  });

  it('demo gets 403 from user create', SLOW, async () => {
    const result = await cli.fails([...DEMO, 'user', 'create', '--password', 'nope', 'mallory']);
    assertHttpStatus(result, 403);
    assert.match(result.stderr, /identity:create_user/);
    const users = await http.request('GET', '/users?name=mallory', { token: adminToken });
    assert.deepEqual(users.json.users, []);
  });

  it('a disabled user cannot get a token, and can again once enabled', SLOW, async () => {
    const echo = await memberFixture('echo', 'echo-pass');
    const login = ['token', 'issue', ...passwordAuth(kumo, 'echo', 'echo-pass', { project: echo.project })];
    const earlierToken = await http.passwordToken('echo', 'echo-pass', echo.project);

    await cli.ok([...ADMIN, 'user', 'set', '--disable', 'echo']);
    const [shown, refused, earlier] = await Promise.all([
      cli.json([...ADMIN, 'user', 'show', 'echo']),
      cli.fails(login, bare),
      http.validate(adminToken, earlierToken),
    ]);
    assert.equal(shown.enabled, false);
    assertHttpStatus(refused, 401);
    assert.equal(earlier.status, 404, 'disabling a user revokes its tokens');

    await cli.ok([...ADMIN, 'user', 'set', '--enable', 'echo']);
    const token = await cli.json(login, bare);
    assert.equal(token.user_id, echo.userId);
    assert.equal(token.project_id, echo.projectId);
  });

  it('group create, add user, list and delete', SLOW, async () => {
    const user = await http.createUser(adminToken, 'foxtrot', 'foxtrot-pass');
    const group = await cli.json([...ADMIN, 'group', 'create', '--description', 'the f team', 'f-team']);
    assert.match(group.id, HEX_ID);
    assert.equal(group.name, 'f-team');
    assert.equal(group.domain_id, 'default');
    assert.equal(group.description, 'the f team');

    await cli.ok([...ADMIN, 'group', 'add', 'user', 'f-team', 'foxtrot']);
    const [groups, groupsOfUser, members, contains] = await Promise.all([
      cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'group', 'list']),
      cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'group', 'list', '--user', 'foxtrot']),
      cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'user', 'list', '--group', 'f-team']),
      cli.ok([...ADMIN, 'group', 'contains', 'user', 'f-team', 'foxtrot']),
    ]);
    assert.deepEqual(byName(groups, 'f-team'), { ID: group.id, Name: 'f-team' });
    assert.deepEqual(groupsOfUser, [{ ID: group.id, Name: 'f-team' }]);
    assert.deepEqual(members, [{ ID: user.id, Name: 'foxtrot' }]);
    assert.equal(contains.trim(), 'foxtrot in group f-team');

    await cli.ok([...ADMIN, 'group', 'delete', 'f-team']);
    assert.equal((await http.request('GET', `/groups/${group.id}`, { token: adminToken })).status, 404);
  });

  it('domain create, set --disable and delete (only once disabled)', SLOW, async () => {
    const domain = await cli.json([...ADMIN, 'domain', 'create', '--description', 'golf domain', 'golf']);
    assert.match(domain.id, HEX_ID);
    assert.equal(domain.name, 'golf');
    assert.equal(domain.description, 'golf domain');
    assert.equal(domain.enabled, true);

    const refused = await cli.fails([...ADMIN, 'domain', 'delete', 'golf']);
    assertHttpStatus(refused, 403);

    await cli.ok([...ADMIN, 'domain', 'set', '--disable', 'golf']);
    assert.equal((await cli.json([...ADMIN, 'domain', 'show', 'golf'])).enabled, false);

    await cli.ok([...ADMIN, 'domain', 'delete', 'golf']);
    assert.equal((await http.request('GET', `/domains/${domain.id}`, { token: adminToken })).status, 404);
  });

  it('role create, list and delete', SLOW, async () => {
    const role = await cli.json([...ADMIN, 'role', 'create', 'hotel-role']);
    assert.match(role.id, HEX_ID);
    assert.equal(role.name, 'hotel-role');
    assert.equal(role.domain_id, null);

    const roles = await cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'role', 'list']);
    assert.deepEqual(byName(roles, 'hotel-role'), { ID: role.id, Name: 'hotel-role' });
    for (const builtin of ['admin', 'member', 'reader']) assert.ok(byName(roles, builtin), `role ${builtin} exists`);

    await cli.ok([...ADMIN, 'role', 'delete', 'hotel-role']);
    assert.equal((await http.request('GET', `/roles/${role.id}`, { token: adminToken })).status, 404);
  });

  it('role add --system all gives a user system-scoped tokens', SLOW, async () => {
    const user = await http.createUser(adminToken, 'india', 'india-pass');
    const login = ['token', 'issue', ...passwordAuth(kumo, 'india', 'india-pass', { system: 'all' })];
    assertHttpStatus(await cli.fails(login, bare), 401);

    await cli.ok([...ADMIN, 'role', 'add', '--system', 'all', '--user', 'india', 'reader']);
    const [assignments, token] = await Promise.all([
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'role', 'assignment', 'list', '--names', '--system', 'all']),
      cli.json(login, bare),
    ]);
    assert.deepEqual(
      assignments.filter((a) => a.User === 'india@Default'),
      [{ Role: 'reader', User: 'india@Default', Group: '', Project: '', Domain: '', System: 'all', Inherited: false }],
    );
    assert.equal(token.user_id, user.id);
    assert.equal(token.system, 'all');
    assert.equal(token.project_id, undefined);
  });

  it('region, service and endpoint create, list and delete', SLOW, async () => {
    // Whatever else the catalog holds (other services register theirs), it must be the same at the end.
    const catalogRecords = async () => {
      const all: Record<string, string[]> = {};
      for (const key of ['regions', 'services', 'endpoints']) {
        const result = await http.request('GET', `/${key}`, { token: adminToken });
        all[key] = (result.json[key] as unknown[]).map((item) => JSON.stringify(item)).sort();
      }
      return all;
    };
    const catalogBefore = await catalogRecords();

    const region = await cli.json([...ADMIN, 'region', 'create', '--description', 'the second region', 'RegionTwo']);
    assert.equal(region.region, 'RegionTwo');
    assert.equal(region.description, 'the second region');
    const service = await cli.json([...ADMIN, 'service', 'create', '--name', 'placement', '--description', 'placement service', 'placement']);
    assert.match(service.id, HEX_ID);
    assert.equal(service.name, 'placement');
    assert.equal(service.type, 'placement');
    assert.equal(service.enabled, true);
    const url = 'http://placement.example:8778/placement';
    const endpoint = await cli.json([...ADMIN, 'endpoint', 'create', '--region', 'RegionTwo', 'placement', 'public', url]);
    assert.match(endpoint.id, HEX_ID);
    assert.equal(endpoint.interface, 'public');
    assert.equal(endpoint.region, 'RegionTwo');
    assert.equal(endpoint.service_id, service.id);
    assert.equal(endpoint.service_name, 'placement');
    assert.equal(endpoint.service_type, 'placement');
    assert.equal(endpoint.url, url);
    assert.equal(endpoint.enabled, true);

    const [regions, services, endpoints, catalog] = await Promise.all([
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'region', 'list']),
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'service', 'list']),
      cli.json<Array<Record<string, unknown>>>([...ADMIN, 'endpoint', 'list', '--service', 'placement']),
      cli.json([...ADMIN, 'catalog', 'show', 'placement']),
    ]);
    assert.ok(regions.some((r) => r.Region === 'RegionOne'));
    assert.deepEqual(regions.filter((r) => r.Region === 'RegionTwo'), [{ Region: 'RegionTwo', 'Parent Region': null, Description: 'the second region' }]);
    assert.deepEqual(services.filter((s) => s.Name === 'placement'), [{ ID: service.id, Name: 'placement', Type: 'placement' }]);
    assert.ok(services.some((s) => s.Name === 'keystone' && s.Type === 'identity'));
    assert.deepEqual(endpoints, [
      { ID: endpoint.id, Region: 'RegionTwo', 'Service Name': 'placement', 'Service Type': 'placement', Enabled: true, Interface: 'public', URL: url },
    ]);
    assert.equal(catalog.id, service.id);
    assert.deepEqual(
      catalog.endpoints.map((e: Record<string, string>) => [e.id, e.interface, e.region, e.url]),
      [[endpoint.id, 'public', 'RegionTwo', url]],
    );

    await cli.ok([...ADMIN, 'endpoint', 'delete', endpoint.id]);
    await cli.ok([...ADMIN, 'service', 'delete', 'placement']);
    await cli.ok([...ADMIN, 'region', 'delete', 'RegionTwo']);
    assert.deepEqual(await catalogRecords(), catalogBefore, 'the catalog is as it was before the test');
  });

  it('user password set changes the caller\'s own password', SLOW, async () => {
    const juliet = await memberFixture('juliet', 'juliet-old');
    const as = (password: string) => passwordAuth(kumo, 'juliet', password, { project: juliet.project });
    await cli.ok(['user', 'password', 'set', ...as('juliet-old'), '--original-password', 'juliet-old', '--password', 'juliet-new'], bare);
    const [fresh, stale] = await Promise.all([
      cli.json(['token', 'issue', ...as('juliet-new')], bare),
      cli.fails(['token', 'issue', ...as('juliet-old')], bare),
    ]);
    assert.equal(fresh.user_id, juliet.userId);
    assert.equal(fresh.project_id, juliet.projectId);
    assertHttpStatus(stale, 401);
  });
});

describe('kumo up as a process: signals and restarts', { skip: cliSkip }, () => {
  let root: string;
  let dataDir: string;
  let kumo: KumoProcess | undefined;
  let cli: OpenStackCli;
  /** What the first run left behind, for the second run to find. */
  const first: { projectId?: string; token?: string; revoked?: string; records?: unknown; cloudsYaml?: string; port?: number } = {};

  /** Every identity collection as the API lists it, sorted by id: what a restart must keep. */
  async function records(http: KeystoneHttp, token: string): Promise<Record<string, unknown[]>> {
    const all: Record<string, unknown[]> = {};
    for (const [path, key] of [
      ['/domains', 'domains'], ['/projects', 'projects'], ['/users', 'users'], ['/groups', 'groups'], ['/roles', 'roles'],
      ['/role_assignments', 'role_assignments'], ['/regions', 'regions'], ['/services', 'services'], ['/endpoints', 'endpoints'],
    ] as const) {
      const result = await http.request('GET', path, { token });
      assert.equal(result.status, 200, `GET ${path}: ${JSON.stringify(result.json)}`);
      const items = result.json[key] as Array<Record<string, any>>;
      all[key] = items.map((item) => JSON.stringify(item)).sort();
    }
    return all;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-lifecycle-'));
    dataDir = join(root, 'data');
    kumo = await startKumo({ dataDir });
    cli = new OpenStackCli(join(root, 'home'), join(dataDir, 'clouds.yaml'));
  }, SLOW);

  after(async () => {
    await cli?.killAll();
    kumo?.kill();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('SIGTERM stops kumo up cleanly', SLOW, async (t) => {
    assert.ok(kumo);
    const http = new KeystoneHttp(kumo.url);
    const project = await cli.json([...ADMIN, 'project', 'create', 'kilo']);
    await cli.ok([...ADMIN, 'user', 'create', '--password', 'lima-pass', '--project', 'kilo', 'lima']);
    await cli.ok([...ADMIN, 'role', 'add', '--project', 'kilo', '--user', 'lima', 'member']);
    const token = await cli.value([...ADMIN, 'token', 'issue'], 'id');
    const revoked = await http.passwordToken('lima', 'lima-pass', 'kilo');
    assert.equal((await http.request('DELETE', '/auth/tokens', { token, subjectToken: revoked })).status, 204);
    Object.assign(first, {
      projectId: project.id,
      token,
      revoked,
      port: kumo.port,
      records: await records(http, token),
      cloudsYaml: readFileSync(join(dataDir, 'clouds.yaml'), 'utf8'),
    });

    const stopped = await kumo.stop('SIGTERM');
    t.diagnostic(`SIGTERM to exit: ${stopped.ms} ms`);
    assert.deepEqual([stopped.code, stopped.signal], [0, null], kumo.output());
    assert.ok(stopped.ms < 5000, `stopped in ${stopped.ms} ms`);
    assert.match(kumo.output(), /Kumo stopped \(SIGTERM\)\./);
    assert.equal(await accepts(kumo.port), false, 'the port is closed');
  });

  it('a second start on the same data dir keeps every record', SLOW, async () => {
    assert.ok(first.token && first.revoked && first.port, 'the SIGTERM test ran first');
    kumo = await startKumo({ dataDir, port: first.port });
    const http = new KeystoneHttp(kumo.url);
    assert.equal(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8'), first.cloudsYaml, 'the same clouds.yaml: same passwords, same URL');

    const [kept, stillRevoked] = await Promise.all([http.validate(first.token, first.token), http.validate(first.token, first.revoked)]);
    assert.equal(kept.status, 200, 'a token from before the restart still validates: the Fernet keys persist');
    assert.equal(stillRevoked.status, 404, 'a revocation from before the restart still holds');
    assert.deepEqual(await records(http, first.token), first.records, 'no record was lost, changed or created twice');

    const [projects, lima] = await Promise.all([
      cli.json<Array<{ ID: string; Name: string }>>([...ADMIN, 'project', 'list']),
      cli.json(['token', 'issue', ...passwordAuth(kumo, 'lima', 'lima-pass', { project: 'kilo' })], { configFile: null }),
    ]);
    assert.deepEqual(byName(projects, 'kilo'), { ID: first.projectId, Name: 'kilo' });
    assert.equal(lima.project_id, first.projectId, 'the old password still works');
  });

  it('SIGINT stops kumo up cleanly too', SLOW, async (t) => {
    assert.ok(kumo);
    const stopped = await kumo.stop('SIGINT');
    t.diagnostic(`SIGINT to exit: ${stopped.ms} ms`);
    assert.deepEqual([stopped.code, stopped.signal], [0, null], kumo.output());
    assert.ok(stopped.ms < 5000, `stopped in ${stopped.ms} ms`);
    assert.match(kumo.output(), /Kumo stopped \(SIGINT\)\./);
    assert.equal(await accepts(kumo.port), false, 'the port is closed');
  });
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
