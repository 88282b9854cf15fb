// The shape changes between 2.16 and 2.37 that Kumo implements, each checked on both sides of
// its microversion: host_status, crash dumps, descriptions, tags, cpu_info, paging, the
// Neutron quotas Nova stopped showing, and networks required on boot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, nova, waitForServer } from './helpers.js';

describe('compute microversions 2.16 to 2.37', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  let serverId: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_HOSTS: '3' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    const created = await nova(cloud.url, 'POST', '/servers', demo, { server: { name: 'mv', imageRef: image, flavorRef: '42', networks: 'none', description: 'first' } }, '2.37');
    assert.equal(created.status, 202, JSON.stringify(created.body));
    serverId = created.json.server.id;
    await waitForServer(cloud.url, demo, serverId, ['ACTIVE']);
  });
  after(async () => cloud?.stop());

  it('2.37: a boot must name its networks', async () => {
    const missing = await nova(cloud.url, 'POST', '/servers', demo, { server: { name: 'x', imageRef: image, flavorRef: '42' } }, '2.37');
    assert.equal(missing.status, 400);
    assert.match(missing.json.badRequest.message, /'networks' is a required property/);
    const legacy = await nova(cloud.url, 'POST', '/servers', demo, { server: { name: 'y', imageRef: image, flavorRef: '42' } }, '2.36');
    assert.equal(legacy.status, 202, 'before 2.37 networks may be left out');
  });

  it('2.19: descriptions on create, update and show', async () => {
    const shown = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.19');
    assert.equal(shown.json.server.description, 'first');
    const old = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.18');
    assert.equal(old.json.server.description, undefined);
    const updated = await nova(cloud.url, 'PUT', `/servers/${serverId}`, demo, { server: { description: 'second' } }, '2.19');
    assert.equal(updated.status, 200);
    assert.equal(updated.json.server.description, 'second');
    const early = await nova(cloud.url, 'PUT', `/servers/${serverId}`, demo, { server: { description: 'x' } }, '2.18');
    assert.equal(early.status, 400, 'no description before 2.19');
  });

  it('2.16: host_status for admins only', async () => {
    const asAdmin = await nova(cloud.url, 'GET', `/servers/${serverId}`, admin, undefined, '2.16');
    assert.equal(asAdmin.json.server.host_status, 'UP');
    const asMember = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.16');
    assert.equal(asMember.json.server.host_status, undefined);
    const before = await nova(cloud.url, 'GET', `/servers/${serverId}`, admin, undefined, '2.15');
    assert.equal(before.json.server.host_status, undefined);
  });

  it('2.17: trigger_crash_dump exists from 2.17', async () => {
    assert.equal((await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { trigger_crash_dump: null }, '2.16')).status, 400);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { trigger_crash_dump: null }, '2.17')).status, 202);
  });

  it('2.26: server tags', async () => {
    const base = `/servers/${serverId}/tags`;
    assert.equal((await nova(cloud.url, 'GET', base, demo, undefined, '2.25')).status, 404);
    assert.deepEqual((await nova(cloud.url, 'GET', base, demo, undefined, '2.26')).json, { tags: [] });
    const put = await nova(cloud.url, 'PUT', base, demo, { tags: ['a', 'b', 'a'] }, '2.26');
    assert.deepEqual(put.json, { tags: ['a', 'b'] });
    assert.equal((await nova(cloud.url, 'PUT', `${base}/c`, demo, undefined, '2.26')).status, 201);
    assert.equal((await nova(cloud.url, 'PUT', `${base}/c`, demo, undefined, '2.26')).status, 204);
    assert.equal((await nova(cloud.url, 'GET', `${base}/c`, demo, undefined, '2.26')).status, 204);
    assert.equal((await nova(cloud.url, 'GET', `${base}/zzz`, demo, undefined, '2.26')).status, 404);
    assert.equal((await nova(cloud.url, 'PUT', base, demo, { tags: ['has,comma'] }, '2.26')).status, 400);
    assert.equal((await nova(cloud.url, 'PUT', base, demo, { tags: 'a' }, '2.26')).status, 400);
    assert.equal((await nova(cloud.url, 'PUT', base, demo, { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, '2.26')).status, 400);
    const shown = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.26');
    assert.deepEqual(shown.json.server.tags, ['a', 'b', 'c']);
    const filtered = await nova(cloud.url, 'GET', '/servers?tags=a,c', demo, undefined, '2.26');
    assert.deepEqual(filtered.json.servers.map((s: { id: string }) => s.id), [serverId]);
    const none = await nova(cloud.url, 'GET', '/servers?not-tags-any=b', demo, undefined, '2.26');
    assert.ok(!none.json.servers.some((s: { id: string }) => s.id === serverId));
    assert.equal((await nova(cloud.url, 'DELETE', `${base}/c`, demo, undefined, '2.26')).status, 204);
    assert.equal((await nova(cloud.url, 'DELETE', base, demo, undefined, '2.26')).status, 204);
    assert.deepEqual((await nova(cloud.url, 'GET', base, demo, undefined, '2.26')).json, { tags: [] });
  });

  it('2.28 and 2.33: hypervisor cpu_info as an object, and paging', async () => {
    const old = await nova(cloud.url, 'GET', '/os-hypervisors/detail', admin, undefined, '2.27');
    assert.equal(typeof old.json.hypervisors[0].cpu_info, 'string');
    const now = await nova(cloud.url, 'GET', '/os-hypervisors/detail', admin, undefined, '2.28');
    assert.equal(typeof now.json.hypervisors[0].cpu_info, 'object');
    const first = await nova(cloud.url, 'GET', '/os-hypervisors?limit=2', admin, undefined, '2.33');
    assert.equal(first.json.hypervisors.length, 2);
    const next = new URL(first.json.hypervisors_links[0].href);
    const rest = await nova(cloud.url, 'GET', `/os-hypervisors${next.search}`, admin, undefined, '2.33');
    assert.equal(rest.json.hypervisors.length, 1);
    assert.equal(rest.json.hypervisors_links, undefined);
    const unpaged = await nova(cloud.url, 'GET', '/os-hypervisors?limit=2', admin, undefined, '2.32');
    assert.equal(unpaged.json.hypervisors.length, 3, 'limit means nothing before 2.33');
  });

  it('2.35: keypair paging', async () => {
    for (const name of ['k1', 'k2', 'k3']) {
      assert.equal((await nova(cloud.url, 'POST', '/os-keypairs', demo, { keypair: { name } }, '2.35')).status, 201);
    }
    const first = await nova(cloud.url, 'GET', '/os-keypairs?limit=2', demo, undefined, '2.35');
    assert.deepEqual(first.json.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name), ['k1', 'k2']);
    const rest = await nova(cloud.url, 'GET', '/os-keypairs?limit=2&marker=k2', demo, undefined, '2.35');
    assert.deepEqual(rest.json.keypairs.map((k: { keypair: { name: string } }) => k.keypair.name), ['k3']);
    assert.equal((await nova(cloud.url, 'GET', '/os-keypairs?marker=nope', demo, undefined, '2.35')).status, 400);
  });

  it('2.36: no Neutron quotas in quota sets and limits', async () => {
    const projectId = (await cloud.cloud.identity.context.stores.resources.getProjectByName('default', 'demo'))?.id as string;
    const old = await nova(cloud.url, 'GET', `/os-quota-sets/${projectId}`, admin, undefined, '2.35');
    assert.equal(old.json.quota_set.floating_ips, -1);
    const now = await nova(cloud.url, 'GET', `/os-quota-sets/${projectId}`, admin, undefined, '2.36');
    assert.equal(now.json.quota_set.floating_ips, undefined);
    assert.equal(now.json.quota_set.instances, 10);
    const refused = await nova(cloud.url, 'PUT', `/os-quota-sets/${projectId}`, admin, { quota_set: { security_groups: 5 } }, '2.36');
    assert.equal(refused.status, 400);
    const limits = await nova(cloud.url, 'GET', '/limits', demo, undefined, '2.36');
    assert.equal(limits.json.limits.absolute.maxSecurityGroups, undefined);
    assert.equal(typeof limits.json.limits.absolute.maxTotalInstances, 'number');
  });
});
