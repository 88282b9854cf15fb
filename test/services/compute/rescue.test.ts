// rescue / unrescue: RESCUE with the rescue system's password in the answer, ACTIVE again
// after unrescue; refused from the wrong state, to readers and for other projects' servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('rescue and unrescue', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let image: string;
  let serverId: string;

  /** Waits until the server's vm_state is `wanted` and no task runs (RESCUE shows while rescuing too). */
  const settled = async (wanted: string) => {
    for (let i = 0; i < 200; i++) {
      const server = (await nova(cloud.url, 'GET', `/servers/${serverId}`, demo)).json.server;
      if (server['OS-EXT-STS:vm_state'] === wanted && server['OS-EXT-STS:task_state'] === null) return server;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const actions = await nova(cloud.url, 'GET', `/servers/${serverId}/os-instance-actions`, admin);
    throw new Error(`server never reached ${wanted}: ${JSON.stringify(actions.body)}`);
  };
  const action = (token: string, body: unknown, id = serverId) => nova(cloud.url, 'POST', `/servers/${id}/action`, token, body);

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'rescue-outsider');
    image = await activeImage(cloud.url, admin);
    const created = await boot(cloud.url, demo, { name: 'rescue-me', imageRef: image, flavorRef: '42', networks: 'none' }, undefined);
    serverId = created.json.server.id;
    assert.equal((await waitForServer(cloud.url, demo, serverId, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
  });
  after(async () => cloud?.stop());

  it('rescues into RESCUE with a password and unrescues back to ACTIVE', async () => {
    const rescued = await action(demo, { rescue: { adminPass: 'Secret-123' } });
    assert.equal(rescued.status, 200, JSON.stringify(rescued.body));
    assert.deepEqual(rescued.json, { adminPass: 'Secret-123' });
    const server = await settled('rescued');
    assert.equal(server.status, 'RESCUE');
    const again = await action(demo, { rescue: null });
    assert.equal(again.status, 409, 'already rescued');
    assert.equal((await action(demo, { pause: null })).status, 409, 'a rescued server is not paused');
    assert.equal((await action(demo, { unrescue: null })).status, 202);
    await settled('active');
    assert.equal((await action(demo, { unrescue: null })).status, 409, 'not rescued');
  });

  it('makes up a password when none is given', async () => {
    const rescued = await action(demo, { rescue: null });
    assert.equal(rescued.status, 200);
    assert.equal(typeof rescued.json.adminPass, 'string');
    assert.ok(rescued.json.adminPass.length >= 8);
    await settled('rescued');
    assert.equal((await action(demo, { unrescue: null })).status, 202);
    await settled('active');
  });

  it('refuses bad input, readers and other projects', async () => {
    assert.equal((await action(demo, { rescue: { colour: 'red' } })).status, 400);
    assert.equal((await action(demo, { rescue: { rescue_image_ref: 'not-a-uuid' } })).status, 400);
    const missing = await action(demo, { rescue: { rescue_image_ref: '00000000-0000-0000-0000-000000000000' } });
    assert.equal(missing.status, 400);
    assert.equal((await action(demo, { unrescue: {} })).status, 400);
    assert.equal((await action(outsider.token, { rescue: null })).status, 404);
    assert.equal((await action(outsider.token, { unrescue: null })).status, 404);
  });
});
