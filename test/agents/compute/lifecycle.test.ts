// A guest that goes down by itself (the qemu driver's death watch, here told to the agent
// directly on the fake driver): the agent syncs the instance at once, as Nova's
// handle_lifecycle_event does, stopping it through a recorded `stop` action.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PowerState } from '../../../src/agents/compute/virt/driver.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from '../../services/compute/helpers.js';

describe('compute agent: lifecycle events from the driver', () => {
  let cloud: TestCloud;
  let demo: string;
  let image: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, await cloud.token('admin'));
  });
  after(async () => cloud?.stop());

  const agent = () => {
    const first = cloud.cloud.computeAgents[0];
    assert.ok(first);
    return first;
  };

  it('stops an active instance whose guest shut down by itself, with a stop action and its event', async () => {
    const created = await boot(cloud.url, demo, { name: 'dies', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    await agent().handleLifecycleEvent(id, PowerState.SHUTDOWN);
    const server = await waitForServer(cloud.url, demo, id, ['SHUTOFF'], 2_000);
    assert.equal(server['OS-EXT-STS:vm_state'], 'stopped');
    assert.equal(server['OS-EXT-STS:power_state'], PowerState.SHUTDOWN);
    const actions = await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions`, demo);
    assert.deepEqual(actions.json.instanceActions.map((a: { action: string }) => a.action), ['stop', 'create']);
    const detail = await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions/${actions.json.instanceActions[0].request_id}`, demo);
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    assert.deepEqual(detail.json.instanceAction.events.map((e: { event: string; result: string }) => [e.event, e.result]), [['compute_stop_instance', 'Success']]);
    // The same news again changes nothing and records nothing.
    await agent().handleLifecycleEvent(id, PowerState.SHUTDOWN);
    assert.equal((await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions`, demo)).json.instanceActions.length, 2);
    // And it can be started again.
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { 'os-start': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
  });

  it('leaves an instance alone while a task owns it, and ignores unknown or malformed ids', async () => {
    const created = await boot(cloud.url, demo, { name: 'busy', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const records = cloud.cloud.compute.db;
    await records.updateTable('compute_instance').set({ task_state: 'powering-off' }).where('id', '=', id).execute();
    await agent().handleLifecycleEvent(id, PowerState.SHUTDOWN);
    let server = (await nova(cloud.url, 'GET', `/servers/${id}`, demo)).json.server;
    assert.equal(server['OS-EXT-STS:vm_state'], 'active', 'the task in flight decides');
    await records.updateTable('compute_instance').set({ task_state: null }).where('id', '=', id).execute();
    await agent().handleLifecycleEvent('00000000-0000-4000-8000-000000000000', PowerState.SHUTDOWN);
    await agent().handleLifecycleEvent('not an id', PowerState.SHUTDOWN);
    server = (await nova(cloud.url, 'GET', `/servers/${id}`, demo)).json.server;
    assert.equal(server['OS-EXT-STS:vm_state'], 'active');
  });
});
