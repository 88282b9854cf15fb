// Requests the API fuzzer (test/helpers/api-fuzz.ts, bench/api-fuzz.bench.ts) once answered with
// a 5xx, kept as cases: each now gets its 4xx, on SQLite and on PostgreSQL (which refuses some
// values SQLite stores). Add a case here for every 5xx the fuzzer finds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../helpers/cloud.js';
import { dropSchema } from '../helpers/databases.js';

const ENGINES = [
  { name: 'SQLite', skip: false as const },
  { name: 'PostgreSQL', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

function assertClientError(res: ApiResponse, status: number, what: string): void {
  assert.equal(res.status, status, `${what}: HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`);
}

for (const engine of ENGINES) {
  describe(`requests the fuzzer found a 5xx for, on ${engine.name}`, { skip: engine.skip, timeout: 120_000 }, () => {
    let tc: TestCloud;
    let schema: string | undefined;
    let admin: string;
    let demo: string;
    let image: string;

    before(async () => {
      schema = engine.name === 'PostgreSQL' ? `kumo_findings_${randomBytes(6).toString('hex')}` : undefined;
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      const created = await api(tc.url, 'POST', '/image/v2/images', demo, { name: 'findings', visibility: 'shared' });
      assert.equal(created.status, 201);
      image = created.json.id as string;
    });

    after(async () => {
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    });

    it('a NUL in an image member id is an unknown member (404), in a tag or a filter a 400 (Glance)', async () => {
      for (const [method, path, status] of [
        ['DELETE', `/image/v2/images/${image}/members/%00`, 404],
        ['GET', `/image/v2/images/${image}/members/a%00b`, 404],
        ['PUT', `/image/v2/images/${image}/members/%00`, 404],
        ['PUT', `/image/v2/images/${image}/tags/%00`, 400],
        ['DELETE', `/image/v2/images/${image}/tags/%00`, 404],
        ['GET', '/image/v2/images?owner=%00', 400],
        ['GET', '/image/v2/images?status=a%00', 400],
      ] as const) {
        // Glance words its errors after Accept; asked for JSON, as openstacksdk asks.
        const res = await api(tc.url, method, path, method === 'GET' && path.includes('/members/') ? demo : admin, method === 'PUT' && path.includes('/members/') ? { status: 'accepted' } : undefined, { accept: 'application/json' });
        assertClientError(res, status, `${method} ${path}`);
        assert.match(String(res.json.code), new RegExp(`^${status} `));
      }
    });

    it('concurrent updates of one network quota all succeed (Neutron)', async () => {
      const project = (await api(tc.url, 'GET', '/identity/v3/auth/projects', admin)).json.projects[0].id as string;
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => api(tc.url, 'PUT', `/networking/v2.0/quotas/${project}`, admin, { quota: { network: 10 + i, subnet: 20 } })),
      );
      assert.deepEqual(answers.map((a) => a.status), answers.map(() => 200), JSON.stringify(answers.map((a) => a.body)).slice(0, 500));
      const quota = (await api(tc.url, 'GET', `/networking/v2.0/quotas/${project}`, admin)).json.quota;
      assert.equal(quota.subnet, 20);
      assert.ok(quota.network >= 10 && quota.network < 22);
    });
  });
}
