import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlockDevices } from '../../../src/services/compute/instances/block-devices.js';
import type { ComputeTables } from '../../../src/services/compute/tables.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('os-volume_attachments and os-extended-volumes on fake hosts', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  let serverId: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_FAKE_HOSTS: '1', KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    const created = await boot(cloud.url, demo, { name: 'v1', imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    serverId = created.json.server.id as string;
    await waitForServer(cloud.url, demo, serverId, ['ACTIVE']);
  });
  after(async () => cloud?.stop());

  it('lists no attachments for a server with none (Horizon\'s instance page)', async () => {
    const listed = await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments`, demo);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.json, { volumeAttachments: [] });
    const asAdmin = await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments`, admin);
    assert.equal(asAdmin.status, 200, 'an admin sees any project\'s server');
    const show = await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments/${crypto.randomUUID()}`, demo);
    assert.equal(show.status, 404);
    assert.match(show.json.itemNotFound.message, /is not attached to volume/);
  });

  it('answers 404 for a server the caller cannot see, or that does not exist', async () => {
    const adminServer = await boot(cloud.url, admin, { name: 'admins', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = adminServer.json.server.id as string;
    await waitForServer(cloud.url, admin, id, ['ACTIVE']);
    const foreign = await nova(cloud.url, 'GET', `/servers/${id}/os-volume_attachments`, demo);
    assert.equal(foreign.status, 404, 'another project\'s server is not found');
    assert.match(foreign.json.itemNotFound.message, /could not be found/);
    assert.equal((await nova(cloud.url, 'GET', `/servers/${crypto.randomUUID()}/os-volume_attachments`, demo)).status, 404);
    assert.equal((await nova(cloud.url, 'GET', '/servers/not-a-uuid/os-volume_attachments', demo)).status, 404);
  });

  it('shows os-extended-volumes:volumes_attached in show and detail, with delete_on_termination from 2.3', async () => {
    const empty = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo);
    assert.deepEqual(empty.json.server['os-extended-volumes:volumes_attached'], []);
    // A mapping as the attach workflow records it (the attach itself is tested with a volume service).
    const devices = new BlockDevices(cloud.cloud.database.tables<ComputeTables>());
    const volumeId = crypto.randomUUID();
    await devices.create({ instanceId: serverId, volumeId, sourceType: 'volume', bootIndex: null, deleteOnTermination: true, deviceName: '/dev/vdb', status: 'attached' }, () => false);
    const v21 = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo);
    assert.deepEqual(v21.json.server['os-extended-volumes:volumes_attached'], [{ id: volumeId }]);
    const v23 = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.3');
    assert.deepEqual(v23.json.server['os-extended-volumes:volumes_attached'], [{ id: volumeId, delete_on_termination: true }]);
    const detail = await nova(cloud.url, 'GET', '/servers/detail', demo, undefined, '2.3');
    const mine = (detail.json.servers as Array<Record<string, any>>).find((s) => s.id === serverId);
    assert.deepEqual(mine?.['os-extended-volumes:volumes_attached'], [{ id: volumeId, delete_on_termination: true }]);
    const listed = await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments`, demo);
    assert.deepEqual(listed.json.volumeAttachments, [{ id: volumeId, serverId, volumeId, device: '/dev/vdb' }]);
    const shown = await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments/${volumeId}`, demo);
    assert.deepEqual(shown.json.volumeAttachment, { id: volumeId, serverId, volumeId, device: '/dev/vdb' });
    // The update view (PUT /servers/{id}) leaves the extension out, as Nova does.
    const updated = await nova(cloud.url, 'PUT', `/servers/${serverId}`, demo, { server: { name: 'v1' } });
    assert.equal(updated.json.server['os-extended-volumes:volumes_attached'], undefined);
  });
});
