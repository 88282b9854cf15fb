// The first start's accounts (admin, demo, their projects and grants) are made once per
// database: a later start, on SQLite or PostgreSQL, brings back nothing an operator removed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, api, DEMO_PASSWORD, passwordToken, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';

const PG_URL = process.env.KUMO_TEST_DATABASE_URL;

const ENGINES = [
  { name: 'SQLite', skip: false as const, databaseUrl: undefined },
  { name: 'PostgreSQL', skip: PG_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it)', databaseUrl: PG_URL },
];

for (const engine of ENGINES) {
  describe(`bootstrap accounts across restarts on ${engine.name}`, { skip: engine.skip }, () => {
    let dataDir: string;
    let schema: string | undefined;
    let cloud: TestCloud | undefined;
    const start = () =>
      startTestCloud({ dataDir, ...(engine.databaseUrl ? { databaseUrl: engine.databaseUrl, databaseSchema: schema as string } : {}) });
    const restart = async () => {
      await cloud?.stop();
      cloud = await start();
      return cloud;
    };
    const get = async (path: string, token: string, key: string): Promise<Array<Record<string, any>>> => {
      const response = await api((cloud as TestCloud).url, 'GET', `/identity/v3${path}`, token);
      assert.equal(response.status, 200, `GET ${path}: ${JSON.stringify(response.json)}`);
      return response.json[key] as Array<Record<string, any>>;
    };
    const one = async (path: string, token: string, key: string): Promise<Record<string, any>> => {
      const [found] = await get(path, token, key);
      assert.ok(found, `GET ${path} finds it`);
      return found;
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'kumo-bootstrap-'));
      schema = engine.databaseUrl ? `kumo_test_boot_${process.pid}_${Date.now() % 1e6}` : undefined;
      cloud = await start();
    });

    after(async () => {
      await cloud?.stop();
      if (engine.databaseUrl && schema) await dropSchema(engine.databaseUrl, schema);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('the first start creates admin and demo with the given passwords, and the nova service user, and says so', () => {
      const { novaPassword, ...given } = (cloud as TestCloud).cloud.createdCredentials;
      assert.deepEqual(given, { adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
      assert.match(novaPassword ?? '', /^[\w-]{16}$/, 'a random password for nova');
    });

    it('a revoked role is not granted again by a restart', async () => {
      let c = cloud as TestCloud;
      let admin = await c.token('admin');
      const adminRole = await one('/roles?name=admin', admin, 'roles');
      const member = await one('/roles?name=member', admin, 'roles');
      const demoUser = await one('/users?name=demo', admin, 'users');
      const demoProject = await one('/projects?name=demo', admin, 'projects');
      const adminUser = await one('/users?name=admin', admin, 'users');
      assert.equal((await api(c.url, 'DELETE', `/identity/v3/projects/${demoProject.id}/users/${demoUser.id}/roles/${member.id}`, admin)).status, 204);
      assert.equal((await api(c.url, 'DELETE', `/identity/v3/system/users/${adminUser.id}/roles/${adminRole.id}`, admin)).status, 204);

      c = await restart();
      admin = await c.token('admin');
      assert.deepEqual(await get(`/role_assignments?user.id=${demoUser.id}`, admin, 'role_assignments'), [], 'demo has no role again');
      const systemGrants = await get(`/role_assignments?user.id=${adminUser.id}&scope.system=all`, admin, 'role_assignments');
      assert.deepEqual(systemGrants, [], 'admin has no system role again');
      assert.deepEqual(c.cloud.createdCredentials, {}, 'a later start creates no account');
    });

    it('deleted accounts, roles, an implication and a registered limit stay deleted', async () => {
      let c = cloud as TestCloud;
      const admin = await c.token('admin');
      // A second admin first, as an operator replacing the bootstrap accounts would.
      const adminProject = await one('/projects?name=admin', admin, 'projects');
      const adminRole = await one('/roles?name=admin', admin, 'roles');
      const created = await api(c.url, 'POST', '/identity/v3/users', admin, {
        user: { name: 'operator', password: 'operator-secret', default_project_id: adminProject.id },
      });
      assert.equal(created.status, 201);
      const operatorId = created.json.user.id as string;
      assert.equal((await api(c.url, 'PUT', `/identity/v3/projects/${adminProject.id}/users/${operatorId}/roles/${adminRole.id}`, admin)).status, 204);
      const operator = await passwordToken(c.url, 'operator', 'operator-secret', 'admin');

      const member = await one('/roles?name=member', operator, 'roles');
      const reader = await one('/roles?name=reader', operator, 'roles');
      const reseller = await one('/roles?name=ResellerAdmin', operator, 'roles');
      const limit = await one('/registered_limits?resource_name=image_count_total', operator, 'registered_limits');
      for (const path of [
        `/users/${(await one('/users?name=demo', operator, 'users')).id}`,
        `/users/${(await one('/users?name=admin', operator, 'users')).id}`,
        `/projects/${(await one('/projects?name=demo', operator, 'projects')).id}`,
        `/roles/${reseller.id}`,
        `/roles/${member.id}/implies/${reader.id}`,
        `/registered_limits/${limit.id}`,
      ]) {
        assert.equal((await api(c.url, 'DELETE', `/identity/v3${path}`, operator)).status, 204, `DELETE ${path}`);
      }

      c = await restart();
      assert.deepEqual(c.cloud.createdCredentials, {});
      const again = await passwordToken(c.url, 'operator', 'operator-secret', 'admin');
      assert.deepEqual(await get('/users?name=admin', again, 'users'), [], 'admin stays deleted');
      assert.deepEqual(await get('/users?name=demo', again, 'users'), [], 'demo stays deleted');
      assert.deepEqual(await get('/projects?name=demo', again, 'projects'), [], 'project demo stays deleted');
      assert.deepEqual(await get('/roles?name=ResellerAdmin', again, 'roles'), [], 'a deleted role stays deleted');
      const implies = await api(c.url, 'GET', `/identity/v3/roles/${member.id}/implies`, again);
      assert.deepEqual(implies.json.role_inference?.implies ?? [], [], 'member no longer implies reader');
      assert.deepEqual(await get('/registered_limits?resource_name=image_count_total', again, 'registered_limits'), [], 'a limit lifted stays lifted');
      const login = await api(c.url, 'POST', '/identity/v3/auth/tokens', undefined, {
        auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } } },
      });
      assert.equal(login.status, 401, 'the first password opens nothing');
      // What every start keeps: the catalog points at this process.
      const services = await get('/services', again, 'services');
      assert.deepEqual(services.map((s) => s.type).sort(), ['block-storage', 'compute', 'identity', 'image', 'network', 'object-store', 'volumev3']);
    });
  });
}
