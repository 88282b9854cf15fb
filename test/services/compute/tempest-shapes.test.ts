// Shapes tempest's compute interop tests check (microversion 2.1): the update/rebuild view,
// access IPs, changes-since, the image proxy and the os-security-groups proxy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('compute shapes tempest checks', () => {
  let cloud: TestCloud;
  let demo: string;
  let image: string;
  let id: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, await cloud.token('admin'));
    const created = await boot(cloud.url, demo, { name: 'shapes', imageRef: image, flavorRef: '42', networks: 'none', accessIPv6: '0000:0000:0000:0000:0000:babe:220.12.22.2' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    id = created.json.server.id;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
  });
  after(async () => cloud?.stop());

  it('stores access IPs as netaddr prints them and refuses malformed ones', async () => {
    const server = (await nova(cloud.url, 'GET', `/servers/${id}`, demo)).json.server;
    assert.equal(server.accessIPv6, '::babe:dc0c:1602');
    const bad = await boot(cloud.url, demo, { name: 'bad', imageRef: image, flavorRef: '42', networks: 'none', accessIPv6: '1:1:1:1:1:1:1:1:1' });
    assert.equal(bad.status, 400);
    assert.equal((await nova(cloud.url, 'PUT', `/servers/${id}`, demo, { server: { accessIPv4: '1.1.1' } })).status, 400);
  });

  it('answers PUT and rebuild with the update view', async () => {
    const updated = await nova(cloud.url, 'PUT', `/servers/${id}`, demo, { server: { name: 'renamed', accessIPv4: '1.1.1.1' } });
    assert.equal(updated.status, 200);
    assert.equal(updated.json.server.name, 'renamed');
    assert.equal(updated.json.server.accessIPv4, '1.1.1.1');
    assert.equal(updated.json.server['OS-EXT-STS:vm_state'], undefined);
    assert.equal(updated.json.server.key_name, undefined);
    const rebuilt = await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { rebuild: { imageRef: image, name: 'rebuilt', metadata: { a: 'b' }, adminPass: 'rebuildPassw0rd' } });
    assert.equal(rebuilt.status, 202, JSON.stringify(rebuilt.body));
    assert.equal(rebuilt.json.server.adminPass, 'rebuildPassw0rd');
    assert.equal(rebuilt.json.server.name, 'rebuilt');
    assert.deepEqual(rebuilt.json.server.metadata, { a: 'b' });
    assert.equal(rebuilt.json.server['OS-SRV-USG:launched_at'], undefined);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
  });

  it('sends the request id as x-compute-request-id too', async () => {
    const shown = await nova(cloud.url, 'GET', `/servers/${id}`, demo);
    assert.match(shown.headers.get('x-compute-request-id') ?? '', /^req-/);
    assert.equal(shown.headers.get('x-compute-request-id'), shown.headers.get('x-openstack-request-id'));
    const rebooted = await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { reboot: { type: 'HARD' } });
    assert.equal(rebooted.status, 202);
    const requestId = rebooted.headers.get('x-compute-request-id') ?? '';
    const action = await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions/${requestId}`, demo);
    assert.equal(action.status, 200, 'the action is found by the id the response carried');
    assert.equal(action.json.instanceAction.request_id, requestId);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
  });

  it('refuses a changes-since that is not ISO 8601', async () => {
    assert.equal((await nova(cloud.url, 'GET', '/servers?changes-since=2011/01/01', demo)).status, 400);
    assert.equal((await nova(cloud.url, 'GET', '/servers?changes-since=2011-01-01T00:00:00Z', demo)).status, 200);
  });

  it('lists deleted servers under changes-since, and keeps the other filters', async () => {
    const start = new Date(Date.now() - 1000).toISOString();
    const made = await boot(cloud.url, demo, { name: 'since-gone', imageRef: image, flavorRef: '42', networks: 'none' });
    const goneId = made.json.server.id as string;
    await waitForServer(cloud.url, demo, goneId, ['ACTIVE']);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${goneId}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, goneId, ['DELETED']);
    const since = await nova(cloud.url, 'GET', `/servers/detail?changes-since=${encodeURIComponent(start)}`, demo);
    const gone = (since.json.servers as Array<Record<string, any>>).find((s) => s.id === goneId);
    assert.equal(gone?.status, 'DELETED', 'a poller sees the deletion');
    const named = await nova(cloud.url, 'GET', `/servers?changes-since=${encodeURIComponent(start)}&name=^nothing-like-this$`, demo);
    assert.deepEqual(named.json.servers, [], 'the name filter still applies');
  });

  it('shows and deletes snapshots through the image proxy', async () => {
    const snap = await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { createImage: { name: 'snap', metadata: { image_type: 'test' } } });
    assert.equal(snap.status, 202, JSON.stringify(snap.body));
    const imageId = (snap.headers.get('location') ?? '').split('/').pop() as string;
    let shown = await nova(cloud.url, 'GET', `/images/${imageId}`, demo);
    for (let i = 0; i < 100 && shown.json.image?.status !== 'ACTIVE'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      shown = await nova(cloud.url, 'GET', `/images/${imageId}`, demo);
    }
    assert.equal(shown.json.image.status, 'ACTIVE', JSON.stringify(shown.body));
    assert.equal(shown.json.image.metadata.image_type, 'test');
    assert.equal(shown.json.image.server.id, id);
    assert.equal(shown.json.image.progress, 100);
    assert.equal((await nova(cloud.url, 'DELETE', `/images/${imageId}`, demo)).status, 204);
    assert.equal((await nova(cloud.url, 'GET', `/images/${imageId}`, demo)).status, 404);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
  });

  it('proxies os-security-groups to Neutron', async () => {
    const listed = await nova(cloud.url, 'GET', '/os-security-groups', demo);
    assert.equal(listed.status, 200);
    const fallback = listed.json.security_groups.find((g: { name: string }) => g.name === 'default');
    assert.ok(fallback, 'the project default group is listed');
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${fallback.id}`, demo)).status, 400);
    const created = await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 'web', description: 'web servers' } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const group = created.json.security_group;
    assert.deepEqual(Object.keys(group).sort(), ['description', 'id', 'name', 'rules', 'tenant_id']);
    assert.deepEqual(group.rules, [], 'egress rules are not shown');
    const updated = await nova(cloud.url, 'PUT', `/os-security-groups/${group.id}`, demo, { security_group: { name: 'web2', description: 'd' } });
    assert.equal(updated.json.security_group.name, 'web2');
    // "Empty description is allowed by the API" (tempest's negative tests): with Neutron, Nova passes it on.
    const blank = await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 'x', description: '' } });
    assert.equal(blank.status, 200, JSON.stringify(blank.body));
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${blank.json.security_group.id}`, demo)).status, 202);
    assert.equal((await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 'x', description: 'd'.repeat(256) } })).status, 400);
    // A server's groups are its ports' groups: this one needs a port.
    const network = await api(cloud.url, 'POST', '/networking/v2.0/networks', demo, { network: { name: 'shapes-net' } });
    await api(cloud.url, 'POST', '/networking/v2.0/subnets', demo, { subnet: { network_id: network.json.network.id, cidr: '10.90.0.0/24', ip_version: 4 } });
    const onNet = await boot(cloud.url, demo, { name: 'shapes-on-net', imageRef: image, flavorRef: '42', networks: [{ uuid: network.json.network.id }] });
    const withPort = onNet.json.server.id as string;
    await waitForServer(cloud.url, demo, withPort, ['ACTIVE']);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { addSecurityGroup: { name: 'web2' } })).status, 404, 'a server without ports has no groups');
    assert.equal((await nova(cloud.url, 'POST', `/servers/${withPort}/action`, demo, { addSecurityGroup: { name: 'web2' } })).status, 202);
    const onServer = await nova(cloud.url, 'GET', `/servers/${withPort}/os-security-groups`, demo);
    assert.deepEqual(onServer.json.security_groups.map((g: { name: string }) => g.name).sort(), ['default', 'web2']);
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${group.id}`, demo)).status, 400, 'in use');
    assert.equal((await nova(cloud.url, 'POST', `/servers/${withPort}/action`, demo, { removeSecurityGroup: { name: 'web2' } })).status, 202);
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${group.id}`, demo)).status, 202);
    assert.equal((await nova(cloud.url, 'GET', `/os-security-groups/${group.id}`, demo)).status, 404);
  });
});
