import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('servers on fake hosts', () => {
  let cloud: TestCloud;
  let token: string;
  let demo: string;
  let image: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_FAKE_HOSTS: '2', KUMO_COMPUTE_DRIVER: 'fake' } });
    token = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, token);
  });
  after(async () => cloud?.stop());

  it('boots a server to ACTIVE with nova-shaped fields', async () => {
    const created = await boot(cloud.url, demo, { name: 'vm1', imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.match(created.json.server.adminPass, /^\w{12}$/);
    const server = await waitForServer(cloud.url, demo, created.json.server.id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server));
    assert.equal(server['OS-EXT-STS:vm_state'], 'active');
    assert.equal(server['OS-EXT-STS:power_state'], 1);
    assert.equal(server['OS-EXT-STS:task_state'], null);
    assert.equal(server.flavor.id, '42');
    assert.equal(server.image.id, image);
    assert.equal(server.locked, false);
    assert.equal(server['OS-EXT-SRV-ATTR:host'], undefined, 'a project member does not see the host');
    assert.match(server.hostId, /^[0-9a-f]{56}$/);
  });

  it('runs the power actions through their states', async () => {
    const created = await boot(cloud.url, demo, { name: 'vm2', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const act = (body: unknown) => nova(cloud.url, 'POST', `/servers/${id}/action`, demo, body);
    assert.equal((await act({ 'os-stop': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['SHUTOFF']);
    assert.equal((await act({ pause: null })).status, 409, 'a stopped server cannot be paused');
    assert.equal((await act({ 'os-start': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal((await act({ pause: null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['PAUSED']);
    const resizePaused = await act({ resize: { flavorRef: '1' } });
    assert.equal(resizePaused.status, 409);
    assert.match(resizePaused.json.conflictingRequest.message, /Cannot 'resize' instance .* while it is in vm_state paused/);
    assert.equal((await act({ unpause: null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal((await act({ suspend: null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['SUSPENDED']);
    assert.equal((await act({ resume: null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal((await act({ reboot: { type: 'HARD' } })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    // Fake guests have no screen (test/services/console serves one and follows the URL).
    const vnc = await nova(cloud.url, 'POST', `/servers/${id}/remote-consoles`, demo, { remote_console: { protocol: 'vnc', type: 'novnc' } }, '2.6');
    assert.equal(vnc.status, 400, JSON.stringify(vnc.body));
    assert.equal(vnc.json.badRequest.message, 'Unavailable console type novnc.');
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/remote-consoles`, demo, { remote_console: { protocol: 'vnc', type: 'novnc' } })).status, 404, 'not before 2.6');
    const output = await act({ 'os-getConsoleOutput': { length: 1 } });
    assert.equal(output.status, 200);
    assert.match(output.json.output, /login:/);
    const actions = await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions`, demo);
    assert.deepEqual(
      actions.json.instanceActions.map((a: { action: string }) => a.action).sort(),
      ['create', 'pause', 'reboot', 'resume', 'start', 'stop', 'suspend', 'unpause'],
    );
  });

  it('resizes, confirms and reverts', async () => {
    const created = await boot(cloud.url, demo, { name: 'vm3', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const act = (body: unknown) => nova(cloud.url, 'POST', `/servers/${id}/action`, demo, body);
    assert.equal((await act({ resize: { flavorRef: '42' } })).status, 400, 'same flavor');
    assert.equal((await act({ resize: { flavorRef: '84' } })).status, 202);
    let server = await waitForServer(cloud.url, demo, id, ['VERIFY_RESIZE', 'ACTIVE']);
    assert.equal(server.status, 'VERIFY_RESIZE');
    assert.equal(server.flavor.id, '84');
    assert.equal((await act({ revertResize: null })).status, 202);
    server = await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal(server.flavor.id, '42');
    assert.equal((await act({ resize: { flavorRef: '84' } })).status, 202);
    await waitForServer(cloud.url, demo, id, ['VERIFY_RESIZE']);
    assert.equal((await act({ confirmResize: null })).status, 204, 'Nova answers confirmResize with 204');
    server = await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal(server.flavor.id, '84');
  });

  it('deletes a server and gives its resources back', async () => {
    const before = await nova(cloud.url, 'GET', '/os-hypervisors/statistics', token);
    const created = await boot(cloud.url, demo, { name: 'gone', imageRef: image, flavorRef: '1', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const during = await nova(cloud.url, 'GET', '/os-hypervisors/statistics', token);
    assert.equal(during.json.hypervisor_statistics.vcpus_used, before.json.hypervisor_statistics.vcpus_used + 1);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED']);
    const afterwards = await nova(cloud.url, 'GET', '/os-hypervisors/statistics', token);
    assert.equal(afterwards.json.hypervisor_statistics.vcpus_used, before.json.hypervisor_statistics.vcpus_used);
  });
});
