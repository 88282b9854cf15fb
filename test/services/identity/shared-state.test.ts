import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';

const PG_URL = process.env.KUMO_TEST_DATABASE_URL;
const BUS_URL = process.env.KUMO_TEST_BUS_URL;

/**
 * Two API processes over one state store and one bus (here: two clouds in one test
 * process): a write through one must be seen by the other's in-memory token cache.
 */
const setups = [
  { name: 'SQLite + in-process bus', skip: false as const, databaseUrl: undefined, busUrl: () => `memory:shared-${randomBytes(4).toString('hex')}` },
  {
    name: 'PostgreSQL + RabbitMQ',
    skip: PG_URL && BUS_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL and KUMO_TEST_BUS_URL are not both set (CI sets them)',
    databaseUrl: PG_URL,
    busUrl: () => BUS_URL as string,
  },
];

for (const setup of setups) {
  describe(`identity shared by two processes on ${setup.name}`, { skip: setup.skip }, () => {
    let first: TestCloud;
    let second: TestCloud;
    let schema: string | undefined;

    before(async () => {
      const busUrl = setup.busUrl();
      schema = setup.databaseUrl ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
      const shared = {
        ...(setup.databaseUrl ? { databaseUrl: setup.databaseUrl } : {}),
        ...(schema ? { databaseSchema: schema } : {}),
        busUrl,
      };
      // Two hosts: each runs its own network agent, which owns the bus queue of its host name.
      first = await startTestCloud({ ...shared, env: { KUMO_HOST_NAME: 'api-1' } });
      second = await startTestCloud({ ...shared, dataDir: first.dataDir, env: { KUMO_HOST_NAME: 'api-2' } });
    });

    after(async () => {
      await second?.stop();
      await first?.stop();
      if (setup.databaseUrl && schema) await dropSchema(setup.databaseUrl, schema);
    });

    it('validates on one a token issued by the other', async () => {
      const token = await first.token('admin');
      const response = await api(second.url, 'GET', '/identity/v3/auth/tokens', token, undefined, { 'x-subject-token': token });
      assert.equal(response.status, 200);
      assert.equal(response.json.token.project.name, 'admin');
    });

    it('stops honouring a revoked token on the other at once', async () => {
      const admin = await first.token('admin');
      const demo = await second.token('demo');
      assert.equal((await api(second.url, 'GET', '/identity/v3/auth/projects', demo)).status, 200);
      const revoked = await api(first.url, 'DELETE', '/identity/v3/auth/tokens', admin, undefined, { 'x-subject-token': demo });
      assert.equal(revoked.status, 204);
      // The fanout is asynchronous: milliseconds on an idle machine; allow a loaded one 5 s.
      let status = 0;
      for (let i = 0; i < 250 && status !== 401; i++) {
        status = (await api(second.url, 'GET', '/identity/v3/auth/projects', demo)).status;
        if (status !== 401) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(status, 401);
    });

    it('sees a project created through the other', async () => {
      const admin = await first.token('admin');
      const created = await api(first.url, 'POST', '/identity/v3/projects', admin, { project: { name: `shared-${Date.now()}` } });
      assert.equal(created.status, 201);
      const shown = await api(second.url, 'GET', `/identity/v3/projects/${created.json.project.id}`, admin);
      assert.equal(shown.status, 200);
      assert.equal(shown.json.project.name, created.json.project.name);
    });
  });
}
