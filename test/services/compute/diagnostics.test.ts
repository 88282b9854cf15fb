// GET /servers/{id}/diagnostics: admin only, Nova's free-form figures (Kumo stops before
// 2.48); the fake driver's are simulated from the flavor and NICs, and only a running guest
// answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('server diagnostics', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let serverId: string;
  let portId: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'diag-outsider');
    const image = await activeImage(cloud.url, admin);
    const network = await api(cloud.url, 'POST', '/networking/v2.0/networks', demo, { network: { name: 'diag-net' } });
    await api(cloud.url, 'POST', '/networking/v2.0/subnets', demo, { subnet: { network_id: network.json.network.id, cidr: '10.62.0.0/24', ip_version: 4 } });
    const created = await boot(cloud.url, demo, { name: 'diag', imageRef: image, flavorRef: '42', networks: [{ uuid: network.json.network.id }] });
    serverId = created.json.server.id;
    assert.equal((await waitForServer(cloud.url, demo, serverId, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
    portId = (await api(cloud.url, 'GET', `/networking/v2.0/ports?device_id=${serverId}`, demo)).json.ports[0].id;
  });
  after(async () => cloud?.stop());

  it("answers an admin with the guest's figures, which grow between reads", async () => {
    const flavor = (await nova(cloud.url, 'GET', '/flavors/42', admin)).json.flavor;
    const first = await nova(cloud.url, 'GET', `/servers/${serverId}/diagnostics`, admin);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.json.memory, flavor.ram * 1024);
    assert.equal(typeof first.json.cpu0_time, 'number');
    const tap = Object.keys(first.json).find((k) => k.endsWith('_rx') && portId.startsWith(k.slice(3, -3)));
    assert.ok(tap, `a tap of port ${portId} in ${Object.keys(first.json).join(', ')}`);
    const second = await nova(cloud.url, 'GET', `/servers/${serverId}/diagnostics`, admin);
    assert.ok(second.json.vda_read > first.json.vda_read);
  });

  it('is for admins, hides other projects’ servers, and wants a running guest', async () => {
    assert.equal((await nova(cloud.url, 'GET', `/servers/${serverId}/diagnostics`, demo)).status, 403);
    assert.equal((await nova(cloud.url, 'GET', `/servers/${serverId}/diagnostics`, outsider.token)).status, 404);
    assert.equal((await nova(cloud.url, 'GET', '/servers/00000000-0000-0000-0000-000000000000/diagnostics', admin)).status, 404);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { 'os-stop': null })).status, 202);
    await waitForServer(cloud.url, demo, serverId, ['SHUTOFF']);
    const stopped = await nova(cloud.url, 'GET', `/servers/${serverId}/diagnostics`, admin);
    assert.equal(stopped.status, 409);
    assert.equal(stopped.json.conflictingRequest.message, `Instance ${serverId} in power state shutdown. Cannot get_diagnostics while the instance is in this state.`);
  });
});
