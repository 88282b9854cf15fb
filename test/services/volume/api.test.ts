// Cinder v3 over real HTTP against the whole cloud in this process, with the file backend's
// agent on the in-process bus: volumes are real qcow2 files, and their data is checked.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, type TestCloud } from '../../helpers/cloud.js';
import { volumeDirOf } from '../../../src/agents/volume/start.js';
import { cinder, cloudOn, ENGINES, rawBytes, rawImage, virtualSize, waitFor } from './helpers.js';

const GiB = 2 ** 30;

for (const engine of ENGINES) describe(`volume API on ${engine.name}`, { skip: engine.skip, timeout: 180_000 }, () => {
  let tc: TestCloud;
  let stop: () => Promise<void>;
  let url: string;
  let admin: string;
  let demo: string;
  let dir: string;
  const file = (id: string) => `${dir}/volume-${id}.qcow2`;

  const create = async (body: Record<string, unknown>, token = admin, version = '3.0') => {
    const r = await cinder(url, 'POST', '/volumes', token, { volume: body }, version);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.json.volume as Record<string, any>;
  };
  const ready = (id: string, token = admin) => waitFor(url, token, `/volumes/${id}`, 'volume', ['available', 'error']);

  before(async () => {
    ({ tc, stop } = await cloudOn(engine.name));
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    dir = volumeDirOf(tc.dataDir, 'file');
  });
  after(async () => {
    await stop?.();
  });

  it('publishes versions and the catalog types block-storage and volumev3 at /volume/v3', async () => {
    const versions = await api(url, 'GET', '/volume/');
    assert.equal(versions.status, 300);
    assert.equal(versions.json.versions[0].version, '3.70');
    assert.equal(versions.json.versions[0].min_version, '3.0');
    const services = await api(url, 'GET', '/identity/v3/auth/catalog', admin);
    const types = (services.json.catalog as Array<{ type: string; endpoints: Array<{ url: string }> }>).filter((s) => s.type === 'block-storage' || s.type === 'volumev3');
    assert.equal(types.length, 2);
    for (const t of types) assert.match(t.endpoints[0]!.url, /\/volume\/v3$/);
    const r = await cinder(url, 'GET', '/volumes', admin, undefined, '3.70');
    assert.equal(r.headers.get('openstack-api-version'), 'volume 3.70');
    assert.equal((await cinder(url, 'GET', '/volumes', admin, undefined, '3.71')).status, 406);
    const bad = await cinder(url, 'GET', '/volumes', admin, undefined, 'x.y');
    assert.equal(bad.status, 400);
    assert.ok(bad.json.badRequest.message);
  });

  it('creates a blank volume as a qcow2 file of its size, lists, shows, updates and deletes it', async () => {
    const v = await create({ size: 1, name: 'blank-1', metadata: { purpose: 'test' } });
    assert.equal(v.status, 'creating');
    // Create answers carry no extension attributes (tempest's schema refuses them); show does.
    assert.equal(v['os-vol-tenant-attr:tenant_id'], undefined);
    const shown = await ready(v.id);
    assert.equal(shown.status, 'available');
    assert.equal(shown.bootable, 'false');
    assert.equal(shown.volume_type, '__DEFAULT__');
    assert.deepEqual(shown.metadata, { purpose: 'test' });
    assert.equal(virtualSize(file(v.id)), GiB);
    // The project path form answers too (clients before 3.67).
    const project = shown['os-vol-tenant-attr:tenant_id'] as string;
    assert.equal((await cinder(url, 'GET', `/${project}/volumes/${v.id}`, admin)).json.volume.id, v.id);

    const list = await cinder(url, 'GET', '/volumes', admin);
    assert.ok(list.json.volumes.some((x: { id: string }) => x.id === v.id));
    const detail = await cinder(url, 'GET', '/volumes/detail?name=blank-1', admin);
    assert.deepEqual(detail.json.volumes.map((x: { id: string }) => x.id), [v.id]);
    const updated = await cinder(url, 'PUT', `/volumes/${v.id}`, admin, { volume: { name: 'renamed', description: 'd' } });
    assert.equal(updated.json.volume.name, 'renamed');
    assert.equal((await cinder(url, 'POST', `/volumes/${v.id}/metadata`, admin, { metadata: { a: '1' } })).json.metadata.a, '1');
    assert.deepEqual((await cinder(url, 'GET', `/volumes/${v.id}/metadata/a`, admin)).json, { meta: { a: '1' } });
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}/metadata/a`, admin)).status, 200);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}/metadata/a`, admin)).status, 404);
    assert.equal((await cinder(url, 'POST', `/volumes/${v.id}/action`, admin, { 'os-set_bootable': { bootable: true } })).status, 200);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.bootable, 'true');

    const deleted = await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body, undefined, 'a 202 without a body');
    await waitFor(url, admin, `/volumes/${v.id}`, 'volume', ['deleted']);
    assert.equal(existsSync(file(v.id)), false);
  });

  it('sorts and pages the list with limit and marker', async () => {
    const ids = [];
    for (const name of ['page-a', 'page-b', 'page-c']) ids.push((await create({ size: 1, name })).id as string);
    for (const id of ids) await ready(id);
    const first = await cinder(url, 'GET', '/volumes/detail?sort=name:asc&limit=2&name=~page-', admin, undefined, '3.34');
    assert.deepEqual(first.json.volumes.map((v: { name: string }) => v.name), ['page-a', 'page-b']);
    const next = new URL(first.json.volumes_links[0].href as string);
    assert.equal(next.pathname, '/volume/v3/volumes/detail', 'the next link keeps the path asked for');
    assert.equal(next.searchParams.get('marker'), first.json.volumes[1].id);
    const second = await cinder(url, 'GET', `/volumes/detail?sort=name:asc&limit=2&name=~page-&marker=${first.json.volumes[1].id}`, admin, undefined, '3.34');
    assert.deepEqual(second.json.volumes.map((v: { name: string }) => v.name), ['page-c']);
    assert.equal(second.json.volumes_links, undefined, 'no next link after a page that is not full');
    assert.equal((await cinder(url, 'GET', '/volumes?sort=nope:asc', admin)).status, 400);
    assert.equal((await cinder(url, 'GET', '/volumes?marker=not-there', admin)).status, 400);
    for (const id of ids) await cinder(url, 'DELETE', `/volumes/${id}`, admin);
  });

  it('refuses bad sizes, unknown types, snapshots and images with Cinder 4xx bodies', async () => {
    for (const size of [0, -1, 'abc', 1.5, 10_000_000_000]) {
      const r = await cinder(url, 'POST', '/volumes', admin, { volume: { size } });
      assert.equal(r.status, 400, `size ${size}: ${JSON.stringify(r.body)}`);
      assert.equal(r.json.badRequest.code, 400);
    }
    const type = await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, volume_type: 'no-such-type' } });
    assert.equal(type.status, 404);
    assert.ok(type.json.itemNotFound.message.includes('no-such-type'));
    assert.equal((await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, snapshot_id: '00000000-0000-0000-0000-000000000000' } })).status, 404);
    const image = await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, imageRef: '00000000-0000-0000-0000-000000000000' } });
    assert.equal(image.status, 400);
    assert.equal((await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, availability_zone: 'mars' } })).status, 400);
    assert.equal((await cinder(url, 'POST', '/volumes', admin, { nope: {} })).status, 400);
    assert.equal((await cinder(url, 'POST', '/volumes', admin, '{bad json')).status, 400);
    assert.equal((await cinder(url, 'GET', '/volumes/00000000-0000-0000-0000-000000000000', admin)).status, 404);
  });

  it('makes a bootable volume from an image fetched over the Image API, with the image data', async () => {
    const imageId = await rawImage(url, admin, 'KUMO-IMAGE-MARKER');
    const v = await create({ size: 1, imageRef: imageId, name: 'from-image' });
    const shown = await ready(v.id);
    assert.equal(shown.status, 'available', JSON.stringify(shown));
    assert.equal(shown.bootable, 'true');
    assert.equal(shown.volume_image_metadata.image_id, imageId);
    assert.equal(rawBytes(file(v.id), 17).toString(), 'KUMO-IMAGE-MARKER');

    // No volume named (Tempest sends null): Cinder looks it up and does not find it.
    const orphan = await cinder(url, 'POST', '/snapshots', admin, { snapshot: { volume_id: null, name: 'nothing' } });
    assert.equal(orphan.status, 404, JSON.stringify(orphan.body));
    // Snapshot, then a larger volume from it, then a clone: the data follows.
    const snap = await cinder(url, 'POST', '/snapshots', admin, { snapshot: { volume_id: v.id, name: 's1', metadata: { k: 'v' } } });
    assert.equal(snap.status, 202, JSON.stringify(snap.body));
    const s = await waitFor(url, admin, `/snapshots/${snap.json.snapshot.id}`, 'snapshot', ['available', 'error']);
    assert.equal(s.status, 'available');
    assert.deepEqual(s.metadata, { k: 'v' });
    assert.equal((await cinder(url, 'POST', '/volumes', admin, { volume: { size: 0, snapshot_id: s.id } })).status, 400);
    const fromSnap = await create({ snapshot_id: s.id, size: 2 });
    assert.equal((await ready(fromSnap.id)).status, 'available');
    assert.equal(virtualSize(file(fromSnap.id)), 2 * GiB);
    assert.equal(rawBytes(file(fromSnap.id), 17).toString(), 'KUMO-IMAGE-MARKER');
    const clone = await create({ source_volid: fromSnap.id });
    assert.equal((await ready(clone.id)).size, 2);
    assert.equal(rawBytes(file(clone.id), 17).toString(), 'KUMO-IMAGE-MARKER');

    assert.equal((await cinder(url, 'GET', `/volumes/${clone.id}`, admin)).json.volume.bootable, 'true', 'bootable follows the data');
    // Upload to a new image: Glance gets the volume's data, and the volume comes back available.
    const up = await cinder(url, 'POST', `/volumes/${clone.id}/action`, admin, { 'os-volume_upload_image': { image_name: 'from-volume', disk_format: 'qcow2' } });
    assert.equal(up.status, 202, JSON.stringify(up.body));
    const uploadedId = up.json['os-volume_upload_image'].image_id as string;
    assert.equal((await waitFor(url, admin, `/volumes/${clone.id}`, 'volume', ['available'])).status, 'available');
    const image = await api(url, 'GET', `/image/v2/images/${uploadedId}`, admin);
    assert.equal(image.json.status, 'active');
    assert.equal(image.json.disk_format, 'qcow2');
    const data = await fetch(`${url}/image/v2/images/${uploadedId}/file`, { headers: { 'x-auth-token': admin } });
    const downloaded = join(tc.dataDir, 'uploaded.qcow2');
    writeFileSync(downloaded, Buffer.from(await data.arrayBuffer()));
    assert.equal(virtualSize(downloaded), 2 * GiB);
    assert.equal(rawBytes(downloaded, 17).toString(), 'KUMO-IMAGE-MARKER');
    rmSync(downloaded);
    assert.equal((await cinder(url, 'POST', `/volumes/${clone.id}/action`, admin, { 'os-volume_upload_image': { image_name: 'x', disk_format: 'iso' } })).status, 400);
    await api(url, 'DELETE', `/image/v2/images/${uploadedId}`, admin);

    // A volume with snapshots is not deleted (400); with cascade it is.
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}`, admin)).status, 400);
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}?cascade=true`, admin)).status, 202);
    for (const id of [fromSnap.id, clone.id]) assert.equal((await cinder(url, 'DELETE', `/volumes/${id}`, admin)).status, 202);
    await waitFor(url, admin, `/volumes/${v.id}`, 'volume', ['deleted']);
  });

  it('shows the readonly flag in metadata, and lists snapshots with limit 0, offset and v1 sort keys', async () => {
    const v = await create({ size: 1 });
    await ready(v.id);
    for (const readonly of [true, false]) {
      assert.equal((await cinder(url, 'POST', `/volumes/${v.id}/action`, admin, { 'os-update_readonly_flag': { readonly } })).status, 202);
      assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.metadata.readonly, readonly ? 'True' : 'False');
    }
    const snaps: string[] = [];
    for (const name of ['s-b', 's-a', 's-c']) {
      const r = await cinder(url, 'POST', '/snapshots', admin, { snapshot: { volume_id: v.id, name } });
      snaps.push(r.json.snapshot.id as string);
      await waitFor(url, admin, `/snapshots/${r.json.snapshot.id}`, 'snapshot', ['available']);
    }
    const list = (query: string) => cinder(url, 'GET', `/snapshots?volume_id=${v.id}&${query}`, admin);
    assert.deepEqual((await list('limit=0')).json.snapshots, []);
    assert.equal((await list('offset=2&limit=3')).json.snapshots.length, 1);
    assert.deepEqual((await list('sort_key=display_name&sort_dir=asc')).json.snapshots.map((x: { name: string }) => x.name), ['s-a', 's-b', 's-c']);
    assert.equal((await list('offset=-1')).status, 400);
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}?cascade=true`, admin)).status, 202);
  });

  it('extends a volume, and refuses shrinking', async () => {
    const v = await create({ size: 1 });
    await ready(v.id);
    const shrink = await cinder(url, 'POST', `/volumes/${v.id}/action`, admin, { 'os-extend': { new_size: 1 } });
    assert.equal(shrink.status, 400);
    assert.ok(shrink.json.badRequest.message.includes('greater than current size'));
    assert.equal((await cinder(url, 'POST', `/volumes/${v.id}/action`, admin, { 'os-extend': { new_size: 3 } })).status, 202);
    const grown = await ready(v.id);
    assert.equal(grown.size, 3);
    assert.equal(virtualSize(file(v.id)), 3 * GiB);
    await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
  });

  it('attaches through the attachments API: one attachment at a time, in-use cannot be deleted', async () => {
    const v = await create({ size: 1 });
    await ready(v.id);
    const instance = '11111111-2222-3333-4444-555555555555';
    const connector = { host: tc.cloud.config.hostName, initiator: null };
    assert.equal((await cinder(url, 'POST', '/attachments', admin, { attachment: { volume_uuid: v.id, instance_uuid: instance } })).status, 404, 'attachments need 3.27');
    const att = await cinder(url, 'POST', '/attachments', admin, { attachment: { volume_uuid: v.id, instance_uuid: instance, connector } }, '3.44');
    assert.equal(att.status, 200, JSON.stringify(att.body));
    assert.equal(att.json.attachment.connection_info.driver_volume_type, 'file');
    assert.equal(att.json.attachment.connection_info.data.device_path, file(v.id));
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.status, 'attaching');
    const second = await cinder(url, 'POST', '/attachments', admin, { attachment: { volume_uuid: v.id, instance_uuid: '99999999-2222-3333-4444-555555555555' } }, '3.44');
    assert.equal(second.status, 400);
    assert.equal((await cinder(url, 'POST', `/attachments/${att.json.attachment.id}/action`, admin, { 'os-complete': null }, '3.44')).status, 204);
    const inUse = (await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume;
    assert.equal(inUse.status, 'in-use');
    assert.equal(inUse.attachments[0].server_id, instance);
    const del = await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
    assert.equal(del.status, 400);
    assert.ok(del.json.badRequest);
    // A file volume attaches only on its own host.
    const away = await cinder(url, 'PUT', `/attachments/${att.json.attachment.id}`, admin, { attachment: { connector: { host: 'elsewhere' } } }, '3.44');
    assert.equal(away.status, 500);
    assert.equal((await cinder(url, 'DELETE', `/attachments/${att.json.attachment.id}`, admin, undefined, '3.44')).status, 200);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.status, 'available');
    await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
  });

  it('runs the legacy attach actions and lets a multiattach type take two attachments', async () => {
    const v = await create({ size: 1 });
    await ready(v.id);
    const act = (body: unknown) => cinder(url, 'POST', `/volumes/${v.id}/action`, admin, body);
    assert.equal((await act({ 'os-reserve': null })).status, 202);
    assert.equal((await act({ 'os-reserve': null })).status, 400);
    const conn = await act({ 'os-initialize_connection': { connector: { host: tc.cloud.config.hostName } } });
    assert.equal(conn.status, 200);
    assert.equal(conn.json.connection_info.data.volume_id, v.id);
    assert.equal((await act({ 'os-attach': { instance_uuid: '11111111-2222-3333-4444-555555555555', mountpoint: '/dev/vdb' } })).status, 202);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.status, 'in-use');
    assert.equal((await act({ 'os-begin_detaching': null })).status, 202);
    assert.equal((await act({ 'os-detach': {} })).status, 202);
    assert.equal((await act({ 'os-terminate_connection': { connector: { host: tc.cloud.config.hostName } } })).status, 202);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, admin)).json.volume.status, 'available');
    await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);

    const type = await cinder(url, 'POST', '/types', admin, { volume_type: { name: 'multi', extra_specs: { multiattach: '<is> True' } } });
    assert.equal(type.status, 200, JSON.stringify(type.body));
    const m = await create({ size: 1, volume_type: 'multi' });
    assert.equal((await ready(m.id)).multiattach, true);
    for (const instance of ['11111111-2222-3333-4444-555555555555', '22222222-2222-3333-4444-555555555555']) {
      const a = await cinder(url, 'POST', '/attachments', admin, { attachment: { volume_uuid: m.id, instance_uuid: instance, connector: { host: tc.cloud.config.hostName } } }, '3.44');
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal((await cinder(url, 'POST', `/attachments/${a.json.attachment.id}/action`, admin, { 'os-complete': null }, '3.44')).status, 204);
    }
    assert.equal((await cinder(url, 'GET', `/volumes/${m.id}`, admin)).json.volume.attachments.length, 2);
  });

  it('keeps projects apart and admin actions for admins', async () => {
    const v = await create({ size: 1 });
    await ready(v.id);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, demo)).status, 404);
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}`, demo)).status, 404);
    assert.ok(!(await cinder(url, 'GET', '/volumes?all_tenants=1', demo)).json.volumes.some((x: { id: string }) => x.id === v.id));
    const mine = await create({ size: 1 }, demo);
    await ready(mine.id, demo);
    const reset = await cinder(url, 'POST', `/volumes/${mine.id}/action`, demo, { 'os-reset_status': { status: 'error' } });
    assert.equal(reset.status, 403);
    assert.ok(reset.json.forbidden);
    assert.equal((await cinder(url, 'POST', `/volumes/${mine.id}/action`, admin, { 'os-reset_status': { status: 'error' } })).status, 202);
    assert.equal((await cinder(url, 'GET', `/volumes/${mine.id}`, demo)).json.volume.status, 'error');
    assert.equal((await cinder(url, 'POST', '/types', demo, { volume_type: { name: 'mine' } })).status, 403);
    assert.equal((await cinder(url, 'POST', `/volumes/${mine.id}/action`, demo, { 'os-force_delete': null })).status, 403);
    assert.equal((await cinder(url, 'DELETE', `/volumes/${mine.id}`, demo)).status, 202);
    await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
  });

  it('manages types with extra specs and private access', async () => {
    const t = await cinder(url, 'POST', '/types', admin, { volume_type: { name: 'private-t', 'os-volume-type-access:is_public': false } });
    assert.equal(t.status, 200);
    const id = t.json.volume_type.id as string;
    assert.equal((await cinder(url, 'POST', '/types', admin, { volume_type: { name: 'private-t' } })).status, 409);
    // cinderclient sends null for the fields it leaves alone.
    const described = await cinder(url, 'PUT', `/types/${id}`, admin, { volume_type: { name: null, description: 'described', is_public: null } });
    assert.equal(described.status, 200, JSON.stringify(described.body));
    assert.equal(described.json.volume_type.name, 'private-t');
    assert.equal(described.json.volume_type.description, 'described');
    assert.equal((await cinder(url, 'POST', `/types/${id}/extra_specs`, admin, { extra_specs: { volume_backend_name: 'file' } })).status, 200);
    assert.equal((await cinder(url, 'GET', `/types/${id}/extra_specs/volume_backend_name`, admin)).json.volume_backend_name, 'file');
    // No backend of Kumo's encrypts: a type's encryption is Cinder's empty answer (Horizon's admin types page asks).
    const encryption = await cinder(url, 'GET', `/types/${id}/encryption`, admin);
    assert.equal(encryption.status, 200, JSON.stringify(encryption.body));
    assert.deepEqual(encryption.json, {});
    assert.equal((await cinder(url, 'GET', '/types/00000000-0000-0000-0000-000000000000/encryption', admin)).status, 404);
    assert.equal((await cinder(url, 'GET', `/types/${id}/encryption`, demo)).status, 403);
    assert.equal((await cinder(url, 'GET', `/types/${id}`, demo)).status, 404);
    const demoProject = (await api(url, 'GET', '/identity/v3/auth/projects', demo)).json.projects[0].id as string;
    assert.equal((await cinder(url, 'POST', `/types/${id}/action`, admin, { addProjectAccess: { project: demoProject } })).status, 202);
    assert.equal((await cinder(url, 'GET', `/types/${id}`, demo)).status, 200);
    const v = await create({ size: 1, volume_type: 'private-t' }, demo);
    assert.equal((await ready(v.id, demo)).status, 'available');
    assert.equal((await cinder(url, 'DELETE', `/types/${id}`, admin)).status, 400, 'a type in use stays');
    await cinder(url, 'DELETE', `/volumes/${v.id}`, demo);
    await waitFor(url, demo, `/volumes/${v.id}`, 'volume', ['deleted']);
    assert.equal((await cinder(url, 'DELETE', `/types/${id}`, admin)).status, 202);
  });

  it('transfers a volume and its snapshot to another project by id and key, and withdraws an offer', async () => {
    const v = await create({ size: 1, name: 'given' }, demo);
    await ready(v.id, demo);
    const snap = await cinder(url, 'POST', '/snapshots', demo, { snapshot: { volume_id: v.id, name: 'given-snap' } });
    assert.equal(snap.status, 202, JSON.stringify(snap.body));
    await waitFor(url, demo, `/snapshots/${snap.json.snapshot.id}`, 'snapshot', ['available']);
    const offered = await cinder(url, 'POST', '/os-volume-transfer', demo, { transfer: { volume_id: v.id, name: 'gift' } });
    assert.equal(offered.status, 202, JSON.stringify(offered.body));
    const { id, auth_key: key } = offered.json.transfer as { id: string; auth_key: string };
    assert.match(key, /^[0-9a-f]{16}$/);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, demo)).json.volume.status, 'awaiting-transfer');
    assert.equal((await cinder(url, 'POST', '/os-volume-transfer', demo, { transfer: { volume_id: v.id } })).status, 400, 'offered once');
    assert.equal((await cinder(url, 'DELETE', `/volumes/${v.id}`, demo)).status, 400, 'an offered volume stays');
    const mine = await cinder(url, 'GET', '/os-volume-transfer/detail', demo);
    assert.deepEqual(mine.json.transfers.map((t: { id: string; volume_id: string; name: string }) => [t.id, t.volume_id, t.name]), [[id, v.id, 'gift']]);
    assert.ok(mine.json.transfers[0].created_at);
    assert.equal(mine.json.transfers[0].auth_key, undefined, 'the key is shown once');
    assert.equal((await cinder(url, 'GET', '/os-volume-transfer', admin)).json.transfers.length, 0, "admin's own project offers nothing");
    assert.equal((await cinder(url, 'GET', '/os-volume-transfer?all_tenants=1', admin)).json.transfers.length, 1);
    assert.equal((await cinder(url, 'GET', `/os-volume-transfer/${id}`, demo)).json.transfer.volume_id, v.id);
    assert.equal((await cinder(url, 'GET', '/volume-transfers', demo)).status, 404, 'volume-transfers is 3.55');
    assert.equal((await cinder(url, 'GET', '/volume-transfers', demo, undefined, '3.57')).json.transfers[0].id, id);

    const wrong = await cinder(url, 'POST', `/os-volume-transfer/${id}/accept`, admin, { accept: { auth_key: 'not-the-key' } });
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.badRequest.message, /invalid auth key/);
    const taken = await cinder(url, 'POST', `/os-volume-transfer/${id}/accept`, admin, { accept: { auth_key: key } });
    assert.equal(taken.status, 202, JSON.stringify(taken.body));
    assert.equal(taken.json.transfer.volume_id, v.id);
    assert.equal((await cinder(url, 'GET', `/volumes/${v.id}`, demo)).status, 404, "no longer demo's");
    const adminProject = (await api(url, 'GET', '/identity/v3/auth/projects', admin)).json.projects.find((p: { name: string }) => p.name === 'admin').id as string;
    const moved = await cinder(url, 'GET', `/volumes/${v.id}`, admin);
    assert.equal(moved.json.volume.status, 'available');
    assert.equal(moved.json.volume['os-vol-tenant-attr:tenant_id'], adminProject);
    assert.equal((await cinder(url, 'GET', `/snapshots/${snap.json.snapshot.id}`, demo)).status, 404, 'the snapshot went along');
    assert.equal((await cinder(url, 'GET', `/os-volume-transfer/${id}`, demo)).status, 404, 'a transfer ends when accepted');
    assert.equal((await cinder(url, 'POST', `/os-volume-transfer/${id}/accept`, demo, { accept: { auth_key: key } })).status, 404);

    const kept = await create({ size: 1 }, demo);
    await ready(kept.id, demo);
    const withdrawn = await cinder(url, 'POST', '/volume-transfers', demo, { transfer: { volume_id: kept.id, no_snapshots: true } }, '3.55');
    assert.equal(withdrawn.status, 202, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.json.transfer.no_snapshots, true);
    assert.equal((await cinder(url, 'DELETE', `/os-volume-transfer/${withdrawn.json.transfer.id}`, admin)).status, 202, 'an admin may withdraw any offer');
    assert.equal((await cinder(url, 'GET', `/volumes/${kept.id}`, demo)).json.volume.status, 'available');
    assert.equal((await cinder(url, 'GET', '/os-volume-transfer', demo)).json.transfers.length, 0);
    await cinder(url, 'DELETE', `/snapshots/${snap.json.snapshot.id}`, admin);
    await waitFor(url, admin, `/snapshots/${snap.json.snapshot.id}`, 'snapshot', ['deleted']);
    await cinder(url, 'DELETE', `/volumes/${v.id}`, admin);
    await cinder(url, 'DELETE', `/volumes/${kept.id}`, demo);
    await waitFor(url, demo, `/volumes/${kept.id}`, 'volume', ['deleted']);
  });

  it("tells the owner why a volume failed through the message API, and no one else", async () => {
    const adminProject = (await api(url, 'GET', '/identity/v3/auth/projects', admin)).json.projects.find((p: { name: string }) => p.name === 'admin').id as string;
    assert.equal((await cinder(url, 'PUT', `/os-quota-sets/${adminProject}`, admin, { quota_set: { gigabytes: -1 } })).status, 200);
    // Larger than any backend: the scheduler finds none, as Cinder's NoValidBackend.
    const huge = await create({ size: 1024 * 1024, name: 'too-big' });
    assert.equal((await ready(huge.id)).status, 'error');
    const listed = await cinder(url, 'GET', `/messages?resource_type=volume&resource_uuid=${huge.id}`, admin, undefined, '3.5');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.equal(listed.json.messages.length, 1);
    const message = listed.json.messages[0] as Record<string, any>;
    assert.equal(message.event_id, 'VOLUME_VOLUME_001_003');
    assert.equal(message.user_message, 'schedule allocate volume: Could not find any available weighted backend.');
    assert.equal(message.resource_type, 'VOLUME');
    assert.equal(message.message_level, 'ERROR');
    assert.ok(message.guaranteed_until > message.created_at);
    assert.equal((await cinder(url, 'GET', `/messages?resource_uuid=${huge.id}`, demo, undefined, '3.5')).json.messages.length, 0, "another project's");
    assert.equal((await cinder(url, 'GET', `/messages/${message.id}`, demo, undefined, '3.3')).status, 404);
    assert.equal((await cinder(url, 'GET', '/messages', admin)).status, 404, 'messages are 3.3');
    assert.equal((await cinder(url, 'GET', `/messages/${message.id}`, admin, undefined, '3.3')).json.message.id, message.id);
    assert.equal((await cinder(url, 'DELETE', `/messages/${message.id}`, admin, undefined, '3.3')).status, 204);
    assert.equal((await cinder(url, 'GET', `/messages/${message.id}`, admin, undefined, '3.3')).status, 404);
    assert.equal((await cinder(url, 'DELETE', `/volumes/${huge.id}`, admin)).status, 202);
    await waitFor(url, admin, `/volumes/${huge.id}`, 'volume', ['deleted']);
    assert.equal((await cinder(url, 'DELETE', `/os-quota-sets/${adminProject}`, admin)).status, 200);
  });

  it('keeps QoS specs, their keys and their association with volume types, for admins only', async () => {
    const made = await cinder(url, 'POST', '/qos-specs', admin, { qos_specs: { name: 'slow', consumer: 'front-end', read_iops_sec: 100 } });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const id = made.json.qos_specs.id as string;
    assert.deepEqual(made.json.qos_specs, { id, name: 'slow', consumer: 'front-end', specs: { read_iops_sec: '100' } });
    assert.equal((await cinder(url, 'POST', '/qos-specs', admin, { qos_specs: { name: 'slow' } })).status, 409);
    assert.equal((await cinder(url, 'POST', '/qos-specs', admin, { qos_specs: { name: 'odd', consumer: 'nobody' } })).status, 400);
    assert.equal((await cinder(url, 'GET', '/qos-specs', demo)).status, 403);
    assert.deepEqual((await cinder(url, 'PUT', `/qos-specs/${id}`, admin, { qos_specs: { write_iops_sec: '50' } })).json, { qos_specs: { write_iops_sec: '50' } });
    assert.deepEqual((await cinder(url, 'GET', `/qos-specs/${id}`, admin)).json.qos_specs.specs, { read_iops_sec: '100', write_iops_sec: '50' });
    assert.equal((await cinder(url, 'PUT', `/qos-specs/${id}/delete_keys`, admin, { keys: ['read_iops_sec'] })).status, 202);
    assert.equal((await cinder(url, 'PUT', `/qos-specs/${id}/delete_keys`, admin, { keys: ['read_iops_sec'] })).status, 404);

    const type = await cinder(url, 'POST', '/types', admin, { volume_type: { name: 'throttled' } });
    const typeId = type.json.volume_type.id as string;
    assert.equal(type.json.volume_type.qos_specs_id, null);
    assert.equal((await cinder(url, 'GET', `/qos-specs/${id}/associate?vol_type_id=${typeId}`, admin)).status, 202);
    assert.equal((await cinder(url, 'GET', `/types/${typeId}`, admin)).json.volume_type.qos_specs_id, id);
    assert.deepEqual((await cinder(url, 'GET', `/qos-specs/${id}/associations`, admin)).json.qos_associations, [{ association_type: 'volume_type', name: 'throttled', id: typeId }]);
    const other = (await cinder(url, 'POST', '/qos-specs', admin, { qos_specs: { name: 'other' } })).json.qos_specs.id as string;
    assert.equal((await cinder(url, 'GET', `/qos-specs/${other}/associate?vol_type_id=${typeId}`, admin)).status, 400, 'one set of specs per type');
    assert.equal((await cinder(url, 'GET', `/qos-specs/${other}/associate`, admin)).status, 400);
    assert.equal((await cinder(url, 'DELETE', `/qos-specs/${id}`, admin)).status, 400, 'still associated');
    assert.equal((await cinder(url, 'GET', `/qos-specs/${id}/disassociate?vol_type_id=${typeId}`, admin)).status, 202);
    assert.equal((await cinder(url, 'GET', `/types/${typeId}`, admin)).json.volume_type.qos_specs_id, null);
    assert.equal((await cinder(url, 'GET', `/qos-specs/${id}/associate?vol_type_id=${typeId}`, admin)).status, 202);
    assert.equal((await cinder(url, 'DELETE', `/qos-specs/${id}?force=True`, admin)).status, 202);
    assert.equal((await cinder(url, 'GET', `/types/${typeId}`, admin)).json.volume_type.qos_specs_id, null, 'a forced delete lets the types go');
    assert.equal((await cinder(url, 'GET', `/qos-specs/${id}`, admin)).status, 404);
    assert.deepEqual((await cinder(url, 'GET', '/qos-specs', admin)).json.qos_specs.map((s: { name: string }) => s.name), ['other']);
    assert.equal((await cinder(url, 'DELETE', `/qos-specs/${other}`, admin)).status, 202);
    assert.equal((await cinder(url, 'DELETE', `/types/${typeId}`, admin)).status, 202);
  });

  it('enforces quotas with 413 and shows usage', async () => {
    const demoProject = (await api(url, 'GET', '/identity/v3/auth/projects', demo)).json.projects[0].id as string;
    assert.equal((await cinder(url, 'PUT', `/os-quota-sets/${demoProject}`, demo, { quota_set: { gigabytes: 100 } })).status, 403);
    assert.equal((await cinder(url, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { gigabytes: 3, volumes: 5 } })).status, 200);
    assert.equal((await cinder(url, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { bogus: 1 } })).status, 400);
    const v = await create({ size: 2 }, demo);
    await ready(v.id, demo);
    const over = await cinder(url, 'POST', '/volumes', demo, { volume: { size: 2 } });
    assert.equal(over.status, 413);
    assert.ok(over.json.overLimit.message.includes('gigabytes'));
    const usage = await cinder(url, 'GET', `/os-quota-sets/${demoProject}?usage=true`, demo);
    assert.deepEqual(usage.json.quota_set.gigabytes, { limit: 3, in_use: 2, reserved: 0, allocated: 0 });
    const limits = await cinder(url, 'GET', '/limits', demo);
    assert.equal(limits.json.limits.absolute.totalGigabytesUsed, 2);
    await cinder(url, 'DELETE', `/volumes/${v.id}`, demo);
    await waitFor(url, demo, `/volumes/${v.id}`, 'volume', ['deleted']);
    assert.equal((await cinder(url, 'DELETE', `/os-quota-sets/${demoProject}`, admin)).status, 200);
  });

  it('lists services, zones and pools from what the agent reports', async () => {
    const services = await cinder(url, 'GET', '/os-services', admin);
    const binaries = services.json.services.map((s: { binary: string; host: string; state: string }) => `${s.binary} ${s.host} ${s.state}`);
    assert.ok(binaries.includes(`cinder-volume ${tc.cloud.config.hostName}@file up`), binaries.join(', '));
    assert.ok(binaries.some((b: string) => b.startsWith('cinder-scheduler')));
    assert.equal((await cinder(url, 'GET', '/os-services', demo)).status, 403);
    const zones = await cinder(url, 'GET', '/os-availability-zone', demo);
    assert.deepEqual(zones.json.availabilityZoneInfo, [{ zoneName: 'nova', zoneState: { available: true } }]);
    const pools = await cinder(url, 'GET', '/scheduler-stats/get_pools?detail=true', admin);
    assert.equal(pools.json.pools[0].capabilities.storage_protocol, 'file');
    // A backend's capabilities by the host os-hosts names (admin only), 404 for a host there is not.
    const host = pools.json.pools[0].name.split('#')[0];
    const capabilities = await cinder(url, 'GET', `/capabilities/${encodeURIComponent(host)}`, admin);
    assert.equal(capabilities.status, 200);
    assert.equal(capabilities.json.namespace, `OS::Storage::Capabilities::${host}`);
    assert.equal(capabilities.json.storage_protocol, 'file');
    assert.equal((await cinder(url, 'GET', `/capabilities/${encodeURIComponent(host)}`, demo)).status, 403);
    assert.equal((await cinder(url, 'GET', '/capabilities/nowhere@none', admin)).status, 404);
    // The filters each list reads (3.33+), one resource or all.
    assert.equal((await cinder(url, 'GET', '/resource_filters', demo)).status, 404);
    const filters = await cinder(url, 'GET', '/resource_filters?resource=volume', demo, undefined, '3.33');
    assert.deepEqual(filters.json.resource_filters, [{ resource: 'volume', filters: ['name', 'status', 'metadata', 'bootable', 'availability_zone', 'volume_type'] }]);
  });
});
