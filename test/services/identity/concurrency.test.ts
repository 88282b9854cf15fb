// Identity under requests at once. Project tags: Keystone keeps each tag as its own row, so a
// tag added while another is added, or while the project is updated, is never lost. Domain
// configuration: a change is never seen half made (no 404 while it is written). Nothing is a 5xx.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, TEST_DATABASE_URL, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { V3 } from './helpers.js';

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

for (const engine of ENGINES) {
  describe(`identity under requests at once on ${engine.name}`, { skip: engine.skip }, () => {
    let tc: TestCloud;
    let admin: string;
    const schema = engine.name === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
    before(async () => {
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      admin = await tc.token('admin');
    });
    after(async () => {
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    });

    const project = async (name: string): Promise<string> => {
      const res = await api(tc.url, 'POST', `${V3}/projects`, admin, { project: { name, domain_id: 'default' } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.json.project.id as string;
    };
    const tagsOf = async (id: string) => ((await api(tc.url, 'GET', `${V3}/projects/${id}/tags`, admin)).json.tags as string[]).sort();

    it('keeps every tag added at once, and the same tag added twice, while the project is updated', async () => {
      const id = await project('tag-race');
      const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
      const answers = await Promise.all([
        ...[...tags, ...tags].map((tag) => api(tc.url, 'PUT', `${V3}/projects/${id}/tags/${tag}`, admin)),
        ...Array.from({ length: 4 }, (_, i) => api(tc.url, 'PATCH', `${V3}/projects/${id}`, admin, { project: { description: `renamed ${i}` } })),
      ]);
      assert.deepEqual(answers.filter((r) => r.status >= 300).map((r) => `${r.status} ${JSON.stringify(r.body)}`), []);
      assert.deepEqual(await tagsOf(id), [...tags].sort());
    });

    it('removes tags one by one at once, and takes replacements at once, without a 5xx', async () => {
      const id = await project('tag-race-2');
      const tags = Array.from({ length: 8 }, (_, i) => `r${i}`);
      assert.equal((await api(tc.url, 'PUT', `${V3}/projects/${id}/tags`, admin, { tags })).status, 200);
      const removed = await Promise.all(tags.map((tag) => api(tc.url, 'DELETE', `${V3}/projects/${id}/tags/${tag}`, admin)));
      assert.deepEqual(removed.map((r) => r.status), tags.map(() => 204));
      assert.deepEqual(await tagsOf(id), []);
      const replaced = await Promise.all(Array.from({ length: 6 }, (_, i) => api(tc.url, 'PUT', `${V3}/projects/${id}/tags`, admin, { tags: [`all${i}`, 'shared'] })));
      assert.deepEqual(replaced.filter((r) => r.status >= 500).map((r) => JSON.stringify(r.body)), []);
      assert.ok((await tagsOf(id)).includes('shared'));
    });

    it("shows a domain's configuration whole while changes to it arrive at once", async () => {
      const domain = await api(tc.url, 'POST', `${V3}/domains`, admin, { domain: { name: `config-race-${engine.name}` } });
      const id = domain.json.domain.id as string;
      const put = await api(tc.url, 'PUT', `${V3}/domains/${id}/config`, admin, { config: { identity: { driver: 'ldap' }, ldap: { url: 'ldap://a.example.org' } } });
      assert.equal(put.status, 201, JSON.stringify(put.body));
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => [
          api(tc.url, 'PATCH', `${V3}/domains/${id}/config/ldap`, admin, { config: { ldap: { url: `ldap://${i}.example.org` } } }),
          api(tc.url, 'GET', `${V3}/domains/${id}/config`, admin),
        ]).flat(),
      );
      assert.deepEqual(answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${JSON.stringify(r.body)}`), []);
    });
  });
}
