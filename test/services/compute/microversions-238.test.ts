// The shape changes of 2.38 to 2.41, each checked on both sides of its version: an unknown
// status filter, maxImageMeta in limits, usage paging by instance, and aggregate uuids.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('compute microversions 2.38 to 2.41', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let demoProject: string;
  const ids: string[] = [];

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    demoProject = (await cloud.cloud.identity.context.stores.resources.getProjectByName('default', 'demo'))?.id as string;
    const image = await activeImage(cloud.url, admin);
    for (const name of ['u1', 'u2', 'u3']) {
      const res = await boot(cloud.url, demo, { name, imageRef: image, flavorRef: '42', networks: 'none' });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      await waitForServer(cloud.url, demo, res.json.server.id, ['ACTIVE']);
      ids.push(res.json.server.id);
    }
  });

  after(async () => {
    await cloud.stop();
  });

  it('2.38: an unknown status in the server list filter is a 400; before, it matches nothing', async () => {
    const before = await nova(cloud.url, 'GET', '/servers?status=NOT_A_STATUS', demo, undefined, '2.37');
    assert.equal(before.status, 200);
    assert.deepEqual(before.json.servers, []);
    const after = await nova(cloud.url, 'GET', '/servers/detail?status=NOT_A_STATUS', demo, undefined, '2.38');
    assert.equal(after.status, 400, JSON.stringify(after.body));
    const known = await nova(cloud.url, 'GET', '/servers?status=active', demo, undefined, '2.38');
    assert.equal(known.json.servers.length, 3);
    assert.equal((await nova(cloud.url, 'GET', '/servers?status=SHELVED', demo, undefined, '2.38')).status, 200);
  });

  it('2.39: limits no longer show maxImageMeta', async () => {
    const before = await nova(cloud.url, 'GET', '/limits', demo, undefined, '2.38');
    assert.equal(typeof before.json.limits.absolute.maxImageMeta, 'number');
    const after = await nova(cloud.url, 'GET', '/limits', demo, undefined, '2.39');
    assert.equal(after.json.limits.absolute.maxImageMeta, undefined);
    assert.equal(typeof after.json.limits.absolute.maxServerMeta, 'number');
  });

  it('2.40: usage pages by instance with limit and marker, and links the next page', async () => {
    const window = `start=${new Date(Date.now() - 3_600_000).toISOString().slice(0, 19)}&end=${new Date(Date.now() + 3_600_000).toISOString().slice(0, 19)}`;
    const whole = await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?${window}&limit=1`, demo, undefined, '2.39');
    assert.equal(whole.json.tenant_usage.server_usages.length, 3, 'before 2.40 limit is ignored');
    assert.equal(whole.json.tenant_usage_links, undefined);
    const seen: string[] = [];
    let next: string | undefined = `/os-simple-tenant-usage/${demoProject}?${window}&limit=2`;
    while (next) {
      const page = await nova(cloud.url, 'GET', next, demo, undefined, '2.40');
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...(page.json.tenant_usage.server_usages ?? []).map((s: any) => s.instance_id));
      const href = page.json.tenant_usage_links?.[0]?.href as string | undefined;
      next = href ? href.slice(href.indexOf('/os-simple-tenant-usage')) : undefined;
      assert.ok(seen.length <= 3);
    }
    assert.deepEqual(seen, ids, 'every instance once, oldest first');
    const index = await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window}&limit=1&detailed=1`, admin, undefined, '2.40');
    assert.equal(index.json.tenant_usages[0].server_usages.length, 1);
    assert.match(index.json.tenant_usages_links[0].href, /marker=/);
    assert.equal((await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window}&marker=nope`, admin, undefined, '2.40')).status, 400);
    assert.equal((await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window}&limit=-3`, admin, undefined, '2.40')).status, 400);
  });

  it('2.41: aggregates carry their uuid', async () => {
    const made = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'mv-agg' } }, '2.41');
    assert.match(made.json.aggregate.uuid, /^[0-9a-f-]{36}$/);
    const old = await nova(cloud.url, 'GET', `/os-aggregates/${made.json.aggregate.id}`, admin, undefined, '2.40');
    assert.equal(old.json.aggregate.uuid, undefined);
    const listed = await nova(cloud.url, 'GET', '/os-aggregates', admin, undefined, '2.41');
    assert.equal(listed.json.aggregates[0].uuid, made.json.aggregate.uuid);
  });
});
