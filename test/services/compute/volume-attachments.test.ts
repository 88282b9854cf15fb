import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlockDevices } from '../../../src/services/compute/store/block-devices.js';
import type { ComputeTables } from '../../../src/services/compute/tables.js';
import { ServerServices } from '../../../src/services/compute/servers/services.js';
import { recoverVolumeMappings } from '../../../src/services/compute/servers/volumes.js';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/fake.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
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

/** A Cinder call at 3.27 (attachments) unless told. */
function cinder(base: string, method: string, path: string, token: string, body?: unknown, version = '3.27') {
  return api(base, method, `/volume/v3${path}`, token, body, { 'OpenStack-API-Version': `volume ${version}` });
}

async function waitVolume(base: string, token: string, id: string, wanted: string[], timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, any> | undefined;
  while (Date.now() < deadline) {
    const r = await cinder(base, 'GET', `/volumes/${id}`, token);
    if (r.status === 404 && wanted.includes('deleted')) return { status: 'deleted' };
    last = r.json.volume as Record<string, any> | undefined;
    if (last && wanted.includes(last.status as string)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`volume ${id} did not reach ${wanted.join('/')}: last ${JSON.stringify(last)}`);
}

describe('attaching and detaching volumes through Nova, with the volume service (fake compute driver)', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  let serverId: string;
  const attached = () => (cloud.cloud.computeAgents[0]?.driver as FakeDriver).attachedVolumes(serverId).map((v) => v.volumeId);

  async function newVolume(token: string, size = 1): Promise<string> {
    const created = await cinder(cloud.url, 'POST', '/volumes', token, { volume: { size, name: `v-${crypto.randomUUID().slice(0, 6)}` } });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await waitVolume(cloud.url, token, created.json.volume.id, ['available']);
    return created.json.volume.id as string;
  }

  async function waitDetached(volumeId: string): Promise<void> {
    await waitVolume(cloud.url, demo, volumeId, ['available']);
    const deadline = Date.now() + 10_000;
    while ((await nova(cloud.url, 'GET', `/servers/${serverId}/os-volume_attachments/${volumeId}`, demo)).status !== 404) {
      if (Date.now() > deadline) assert.fail('the mapping did not go');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_FAKE_HOSTS: '1', KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    const created = await boot(cloud.url, demo, { name: 'with-volumes', imageRef: image, flavorRef: '42', networks: 'none' });
    serverId = created.json.server.id as string;
    await waitForServer(cloud.url, demo, serverId, ['ACTIVE']);
  });
  after(async () => cloud?.stop());

  it('attaches a volume (200, the attachment), which the host plugs in and Cinder shows in-use, then detaches it (202)', async () => {
    const volumeId = await newVolume(demo);
    const started = Date.now();
    const attach = await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId } });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));
    assert.deepEqual(attach.json.volumeAttachment, { id: volumeId, serverId, volumeId, device: '/dev/vdb' });
    console.log(`# attach through the API: ${Date.now() - started} ms`);
    assert.deepEqual(attached(), [volumeId], 'the host has it');
    const volume = await waitVolume(cloud.url, demo, volumeId, ['in-use']);
    assert.equal(volume.attachments[0]?.server_id, serverId);
    const server = await nova(cloud.url, 'GET', `/servers/${serverId}`, demo, undefined, '2.3');
    assert.deepEqual(server.json.server['os-extended-volumes:volumes_attached'], [{ id: volumeId, delete_on_termination: false }]);

    // Bad input: the same volume again, an unknown one, another project's, a malformed body.
    const again = await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId } });
    assert.equal(again.status, 400, JSON.stringify(again.body));
    const unknown = await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId: crypto.randomUUID() } });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const foreign = await newVolume(admin);
    const notMine = await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId: foreign } });
    assert.equal(notMine.status, 404, `another project's volume is not found: ${JSON.stringify(notMine.body)}`);
    for (const body of [{}, { volumeAttachment: {} }, { volumeAttachment: { volumeId: 'nope' } }, { volumeAttachment: { volumeId, extra: 1 } }]) {
      const bad = await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, body);
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(bad.body)}`);
    }
    assert.equal((await cinder(cloud.url, 'DELETE', `/volumes/${volumeId}`, demo)).status, 400, 'Cinder refuses to delete an attached volume');

    const actions = await nova(cloud.url, 'GET', `/servers/${serverId}/os-instance-actions`, demo);
    assert.ok(actions.json.instanceActions.some((a: { action: string }) => a.action === 'attach_volume'));

    // Extended while attached (3.42): Nova's volume-extended event reaches the host, which grows the guest's disk.
    const extend = await cinder(cloud.url, 'POST', `/volumes/${volumeId}/action`, demo, { 'os-extend': { new_size: 2 } }, '3.42');
    assert.equal(extend.status, 202, JSON.stringify(extend.body));
    await waitVolume(cloud.url, demo, volumeId, ['in-use']);
    const deadline = Date.now() + 10_000;
    const driver = cloud.cloud.computeAgents[0]?.driver as FakeDriver;
    while (driver.attachedVolumes(serverId)[0]?.sizeBytes !== 2 * 1024 ** 3) {
      if (Date.now() > deadline) assert.fail(`the guest was not told: ${JSON.stringify(driver.attachedVolumes(serverId))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const extended = await nova(cloud.url, 'GET', `/servers/${serverId}/os-instance-actions`, demo);
    assert.ok(extended.json.instanceActions.some((a: { action: string }) => a.action === 'extend_volume'));

    const rebuild = await nova(cloud.url, 'POST', `/servers/${serverId}/action`, demo, { rebuild: { imageRef: image } });
    assert.equal(rebuild.status, 409, `a rebuild would lose the volume: ${JSON.stringify(rebuild.body)}`);

    // A detach cut off by a restart of the API goes back to attached, so it can be asked again.
    const devices = new BlockDevices(cloud.cloud.database.tables<ComputeTables>());
    const mapping = await devices.byVolume(serverId, volumeId);
    assert.ok(mapping);
    await devices.update(mapping.id, { status: 'detaching' });
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${serverId}/os-volume_attachments/${volumeId}`, demo)).status, 400, 'a detach is under way');
    await recoverVolumeMappings(cloud.cloud.compute, new ServerServices(cloud.cloud.compute));
    assert.equal((await devices.get(mapping.id))?.status, 'attached');

    const detachStarted = Date.now();
    const detach = await nova(cloud.url, 'DELETE', `/servers/${serverId}/os-volume_attachments/${volumeId}`, demo);
    assert.equal(detach.status, 202, JSON.stringify(detach.body));
    await waitDetached(volumeId);
    console.log(`# detach through the API until available: ${Date.now() - detachStarted} ms`);
    assert.deepEqual(attached(), []);
    const after = await nova(cloud.url, 'GET', `/servers/${serverId}/os-instance-actions`, demo);
    assert.ok(after.json.instanceActions.some((a: { action: string }) => a.action === 'detach_volume'));
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${serverId}/os-volume_attachments/${volumeId}`, demo)).status, 404, 'not attached any more');
  });

  it('refuses a volume attached to another server (400), and a reader may list but not attach', async () => {
    const volumeId = await newVolume(demo);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${serverId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId } })).status, 200);
    const other = await boot(cloud.url, demo, { name: 'other', imageRef: image, flavorRef: '42', networks: 'none' });
    const otherId = other.json.server.id as string;
    await waitForServer(cloud.url, demo, otherId, ['ACTIVE']);
    const inUse = await nova(cloud.url, 'POST', `/servers/${otherId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId } });
    assert.equal(inUse.status, 400, JSON.stringify(inUse.body));
    assert.match(inUse.json.badRequest.message, /Invalid volume/);
    // Deleting the server gives its volume back.
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${serverId}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, serverId, ['DELETED']);
    await waitVolume(cloud.url, demo, volumeId, ['available']);
    const reattach = await nova(cloud.url, 'POST', `/servers/${otherId}/os-volume_attachments`, demo, { volumeAttachment: { volumeId } });
    assert.equal(reattach.status, 200, JSON.stringify(reattach.body));
    serverId = otherId;
  });

  it('boots from a volume made from an image (block_device_mapping_v2), and deletes it with the server (delete_on_termination)', async () => {
    // A real (raw) disk image: the volume agent converts it into the volume.
    const rawImage = await api(cloud.url, 'POST', '/image/v2/images', demo, { name: 'raw-disk', disk_format: 'raw', container_format: 'bare' });
    const image = rawImage.json.id as string;
    const upload = await fetch(`${cloud.url}/image/v2/images/${image}/file`, { method: 'PUT', headers: { 'x-auth-token': demo, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1 << 20) });
    assert.equal(upload.status, 204);
    const created = await boot(cloud.url, demo, {
      name: 'bfv',
      flavorRef: '42',
      networks: 'none',
      block_device_mapping_v2: [{ source_type: 'image', destination_type: 'volume', uuid: image, boot_index: 0, volume_size: 1, delete_on_termination: true }],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    const server = await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR'], 60_000);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    assert.equal(server.image, '', 'a volume-backed server has no image');
    const [root] = server['os-extended-volumes:volumes_attached'] as Array<{ id: string; delete_on_termination: boolean }>;
    assert.ok(root);
    assert.equal(root.delete_on_termination, true);
    assert.equal((cloud.cloud.computeAgents[0]?.driver as FakeDriver).rootVolumeOf(id), root.id, 'the host booted it from the volume');
    assert.equal((await waitVolume(cloud.url, demo, root.id, ['in-use'])).bootable, 'true');
    const detachRoot = await nova(cloud.url, 'DELETE', `/servers/${id}/os-volume_attachments/${root.id}`, demo);
    assert.equal(detachRoot.status, 400, 'the root volume stays');
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED']);
    await waitVolume(cloud.url, demo, root.id, ['deleted']);
  });

  it('boots from an existing volume and refuses bad mappings with 400s', async () => {
    const source = await boot(cloud.url, demo, {
      name: 'bfv-src', flavorRef: '42', networks: 'none',
      block_device_mapping_v2: [{ source_type: 'blank', destination_type: 'volume', volume_size: 1, boot_index: 1 }],
      imageRef: image,
    });
    assert.equal(source.status, 202, JSON.stringify(source.body));
    const volumeId = await newVolume(demo);
    const bad = [
      [{ source_type: 'volume', destination_type: 'volume', uuid: crypto.randomUUID(), boot_index: 0 }],
      [{ source_type: 'image', destination_type: 'volume', uuid: image, boot_index: 0 }],
      [{ source_type: 'blank', destination_type: 'volume', volume_size: 1, boot_index: 0 }],
      [{ source_type: 'volume', destination_type: 'volume', uuid: volumeId, boot_index: 1 }],
      [{ source_type: 'floppy', destination_type: 'volume', uuid: volumeId, boot_index: 0 }],
      [{ source_type: 'volume', destination_type: 'volume', uuid: volumeId, boot_index: 0, volume_size: -1 }],
    ];
    for (const mapping of bad) {
      const r = await boot(cloud.url, demo, { name: 'bad', flavorRef: '42', networks: 'none', block_device_mapping_v2: mapping });
      assert.equal(r.status, 400, `${JSON.stringify(mapping)}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const created = await boot(cloud.url, demo, { name: 'bfv2', flavorRef: '42', networks: 'none', block_device_mapping_v2: [{ source_type: 'volume', destination_type: 'volume', uuid: volumeId, boot_index: 0 }] });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    const server = await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR'], 30_000);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    assert.equal((await waitVolume(cloud.url, demo, volumeId, ['in-use'])).attachments[0]?.server_id, id);
    const twice = await boot(cloud.url, demo, { name: 'bfv3', flavorRef: '42', networks: 'none', block_device_mapping_v2: [{ source_type: 'volume', destination_type: 'volume', uuid: volumeId, boot_index: 0 }] });
    assert.equal(twice.status, 400, `a volume in use: ${JSON.stringify(twice.body)}`);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED']);
    await waitVolume(cloud.url, demo, volumeId, ['available']);
  });
});
