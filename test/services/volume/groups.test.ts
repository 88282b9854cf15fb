// Cinder's generic volume groups over real HTTP against the whole cloud in this process, with
// the file backend's agent: group snapshots are real qcow2 snapshot files, one per member volume.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { api, type TestCloud } from '../../helpers/cloud.js';
import { volumeDirOf } from '../../../src/agents/volume/start.js';
import { cinder, cloudOn, ENGINES, waitFor } from './helpers.js';

const MV = '3.70';

for (const engine of ENGINES) describe(`volume groups on ${engine.name}`, { skip: engine.skip, timeout: 180_000 }, () => {
  let tc: TestCloud;
  let stop: () => Promise<void>;
  let url: string;
  let admin: string;
  let demo: string;
  let dir: string;
  let groupTypeId: string;
  let defaultVolumeTypeId: string;

  const call = (method: string, path: string, token: string, body?: unknown, version = MV) => cinder(url, method, path, token, body, version);
  /** Polls a group-ish resource until its status is one of `wanted` (or it is gone, for `deleted`). */
  const settle = async (path: string, key: string, token: string, wanted: string[]): Promise<Record<string, any>> => {
    const deadline = Date.now() + 30_000;
    let last: unknown;
    while (Date.now() < deadline) {
      const r = await call('GET', path, token);
      if (r.status === 404 && wanted.includes('deleted')) return { status: 'deleted' };
      last = r.json?.[key];
      if (last && wanted.includes((last as { status: string }).status)) return last as Record<string, any>;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${path} did not reach ${wanted.join('/')}: last ${JSON.stringify(last)}`);
  };
  const volume = async (token: string, body: Record<string, unknown>) => {
    const r = await call('POST', '/volumes', token, { volume: { size: 1, ...body } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return (await waitFor(url, token, `/volumes/${r.json.volume.id}`, 'volume', ['available', 'error'])) as Record<string, any>;
  };
  const group = async (token: string, name: string) => {
    const r = await call('POST', '/groups', token, { group: { name, group_type: groupTypeId, volume_types: ['__DEFAULT__'] } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.json.group).sort(), ['id', 'name']);
    return r.json.group.id as string;
  };

  before(async () => {
    ({ tc, stop } = await cloudOn(engine.name));
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    dir = volumeDirOf(tc.dataDir, 'file');
    defaultVolumeTypeId = (await call('GET', '/types/default', admin)).json.volume_type.id as string;
  });
  after(async () => {
    await stop?.();
  });

  it('answers 404 below the microversions Cinder introduced them at', async () => {
    assert.equal((await call('GET', '/group_types', admin, undefined, '3.10')).status, 404);
    assert.equal((await call('GET', '/group_types', admin, undefined, '3.11')).status, 200);
    assert.equal((await call('GET', '/groups/detail', demo, undefined, '3.12')).status, 404);
    assert.equal((await call('GET', '/groups/detail', demo, undefined, '3.13')).status, 200);
    assert.equal((await call('GET', '/group_snapshots/detail', demo, undefined, '3.13')).status, 404);
    const old = await call('POST', '/groups', demo, { group: {} }, '3.0');
    assert.equal(old.status, 404, 'the version is checked before the body');
    assert.equal(old.json.itemNotFound.code, 404);
    assert.equal((await call('GET', '/group_snapshots/detail', demo, undefined, '3.14')).status, 200);
  });

  it('lets admins manage group types and their specs, and shows members only public ones without specs', async () => {
    const created = await call('POST', '/group_types', admin, { group_type: { name: 'gt-1', description: 'first', group_specs: { consistent_group_snapshot_enabled: '<is> False' } } });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    groupTypeId = created.json.group_type.id as string;
    assert.deepEqual(created.json.group_type.group_specs, { consistent_group_snapshot_enabled: '<is> False' });
    assert.equal(created.json.group_type.is_public, true);
    assert.equal((await call('POST', '/group_types', admin, { group_type: { name: 'gt-1' } })).status, 409);
    const forbidden = await call('POST', '/group_types', demo, { group_type: { name: 'mine' } });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.json.forbidden.message, /group:group_types:create/);
    const badBool = await call('POST', '/group_types', admin, { group_type: { name: 'gt-x', is_public: 'maybe' } });
    assert.equal(badBool.status, 400);
    assert.ok(badBool.json.badRequest.message);

    const priv = await call('POST', '/group_types', admin, { group_type: { name: 'gt-private', is_public: false } });
    assert.equal(priv.status, 202);
    const seenByDemo = (await call('GET', '/group_types', demo)).json.group_types as Array<Record<string, unknown>>;
    assert.deepEqual(seenByDemo.map((t) => t.name), ['gt-1']);
    assert.equal(seenByDemo[0]!.group_specs, undefined, 'specs are for admins');
    assert.equal((await call('GET', `/group_types/${priv.json.group_type.id}`, demo)).status, 404);
    assert.deepEqual(((await call('GET', '/group_types?is_public=None', admin)).json.group_types as Array<{ name: string }>).map((t) => t.name).sort(), ['gt-1', 'gt-private']);
    assert.equal((await call('GET', '/group_types/gt-1', demo)).json.group_type.id, groupTypeId);
    assert.equal((await call('GET', '/group_types/default', demo)).status, 404);

    assert.equal((await call('POST', `/group_types/${groupTypeId}/group_specs`, admin, { group_specs: { a: '1', b: '2' } })).status, 202);
    assert.deepEqual((await call('GET', `/group_types/${groupTypeId}/group_specs`, admin)).json.group_specs, { consistent_group_snapshot_enabled: '<is> False', a: '1', b: '2' });
    assert.deepEqual((await call('PUT', `/group_types/${groupTypeId}/group_specs/a`, admin, { a: '3' })).json, { a: '3' });
    assert.equal((await call('PUT', `/group_types/${groupTypeId}/group_specs/a`, admin, { b: '3' })).status, 400);
    assert.deepEqual((await call('GET', `/group_types/${groupTypeId}/group_specs/a`, admin)).json, { a: '3' });
    assert.equal((await call('DELETE', `/group_types/${groupTypeId}/group_specs/b`, admin)).status, 202);
    assert.equal((await call('GET', `/group_types/${groupTypeId}/group_specs/b`, admin)).status, 404);
    assert.equal((await call('GET', `/group_types/${groupTypeId}/group_specs`, demo)).status, 403);

    const updated = await call('PUT', `/group_types/${groupTypeId}`, admin, { group_type: { description: 'renamed' } });
    assert.equal(updated.json.group_type.description, 'renamed');
    assert.equal((await call('PUT', `/group_types/${groupTypeId}`, admin, { group_type: {} })).status, 400);
    assert.equal((await call('DELETE', `/group_types/${priv.json.group_type.id}`, admin)).status, 202);
  });

  it('refuses bad group input with Cinder 4xx bodies', async () => {
    const missing = await call('POST', '/groups', demo, { group: { name: 'g', group_type: groupTypeId } });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.badRequest.code, 400);
    assert.equal((await call('POST', '/groups', demo, { group: { group_type: groupTypeId, volume_types: [] } })).status, 400);
    assert.equal((await call('POST', '/groups', demo, { group: { group_type: 'no-such-type', volume_types: ['__DEFAULT__'] } })).status, 404);
    assert.equal((await call('POST', '/groups', demo, { group: { group_type: groupTypeId, volume_types: ['no-such-volume-type'] } })).status, 404);
    const zone = await call('POST', '/groups', demo, { group: { group_type: groupTypeId, volume_types: ['__DEFAULT__'], availability_zone: 'mars' } });
    assert.equal(zone.status, 400);
    assert.match(zone.json.badRequest.message, /mars/);
    assert.equal((await call('POST', '/groups', demo, { group: { group_type: groupTypeId, volume_types: ['__DEFAULT__'], extra: 1 } })).status, 400);
    assert.equal((await call('GET', '/groups/00000000-0000-0000-0000-000000000000', demo)).status, 404);
  });

  it('keeps a group, its volumes and its snapshots within its project', async () => {
    const adminsGroup = await group(admin, 'admins');
    assert.equal((await call('GET', `/groups/${adminsGroup}`, demo)).status, 404);
    assert.equal((await call('PUT', `/groups/${adminsGroup}`, demo, { group: { name: 'stolen' } })).status, 404);
    assert.equal((await call('POST', `/groups/${adminsGroup}/action`, demo, { delete: {} })).status, 404);
    assert.equal((await call('POST', '/group_snapshots', demo, { group_snapshot: { group_id: adminsGroup } })).status, 404);
    assert.ok(!((await call('GET', '/groups', demo)).json.groups as Array<{ id: string }>).some((g) => g.id === adminsGroup));
    assert.ok(((await call('GET', '/groups?all_tenants=1', admin)).json.groups as Array<{ id: string }>).some((g) => g.id === adminsGroup));

    // A member cannot pull another project's volume into its group, nor make a volume in another's group.
    const adminsVolume = await volume(admin, { name: 'admins-vol' });
    const demosGroup = await group(demo, 'demos');
    const stolen = await call('PUT', `/groups/${demosGroup}`, demo, { group: { add_volumes: adminsVolume.id } });
    assert.equal(stolen.status, 400);
    assert.match(stolen.json.badRequest.message, /cannot be found/);
    assert.equal((await call('POST', '/volumes', demo, { volume: { size: 1, group_id: adminsGroup } })).status, 404);
    // Admins' reset-status: 3.20 for groups.
    assert.equal((await call('POST', `/groups/${demosGroup}/action`, demo, { reset_status: { status: 'error' } })).status, 403);
    assert.equal((await call('POST', `/groups/${demosGroup}/action`, admin, { reset_status: { status: 'error' } }, '3.19')).status, 404);
    assert.equal((await call('POST', `/groups/${demosGroup}/action`, admin, { reset_status: { status: 'sideways' } })).status, 400);
    assert.equal((await call('POST', `/groups/${demosGroup}/action`, admin, { reset_status: { status: 'error' } })).status, 202);
    assert.equal((await call('GET', `/groups/${demosGroup}`, demo)).json.group.status, 'error');
    assert.equal((await call('POST', `/groups/${demosGroup}/action`, demo, { delete: { 'delete-volumes': false } })).status, 202);
    await settle(`/groups/${demosGroup}`, 'group', demo, ['deleted']);
    assert.equal((await call('POST', `/groups/${adminsGroup}/action`, admin, { delete: {} })).status, 202);
    await call('DELETE', `/volumes/${adminsVolume.id}`, admin);
  });

  it('groups volumes, snapshots them together on the backend, makes a group from the snapshot, and deletes it all', async () => {
    const groupId = await group(demo, 'pair');
    const shown = (await call('GET', `/groups/${groupId}`, demo)).json.group as Record<string, unknown>;
    assert.equal(shown.status, 'available');
    assert.equal(shown.group_type, groupTypeId);
    assert.deepEqual(shown.volume_types, [defaultVolumeTypeId]);
    assert.equal(shown.project_id, undefined, 'project_id is for admins');
    assert.equal((await call('GET', `/groups/${groupId}`, admin)).json.group.project_id !== undefined, true);

    // One volume made in the group (group_id, 3.13), one added later.
    const first = await volume(demo, { name: 'g-1', group_id: groupId });
    assert.equal(first.group_id, undefined, 'group_id is shown from 3.13 on; waitFor asks at 3.0');
    assert.equal((await call('GET', `/volumes/${first.id}`, demo)).json.volume.group_id, groupId);
    const otherType = (await call('POST', '/types', admin, { volume_type: { name: 'not-in-group' } })).json.volume_type.id as string;
    const wrongType = await call('POST', '/volumes', demo, { volume: { size: 1, group_id: groupId, volume_type: otherType } });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.badRequest.message, /volume_type/);
    const outsider = await volume(demo, { name: 'g-x', volume_type: otherType });
    const refusedType = await call('PUT', `/groups/${groupId}`, demo, { group: { add_volumes: outsider.id } });
    assert.equal(refusedType.status, 400);
    assert.match(refusedType.json.badRequest.message, /not supported by the group/);
    assert.equal((await call('DELETE', `/volumes/${outsider.id}`, demo)).status, 202);
    const second = await volume(demo, { name: 'g-2' });
    const both = await call('PUT', `/groups/${groupId}`, demo, { group: { add_volumes: second.id, remove_volumes: second.id } });
    assert.equal(both.status, 400);
    assert.equal((await call('PUT', `/groups/${groupId}`, demo, { group: {} })).status, 400);
    assert.equal((await call('PUT', `/groups/${groupId}`, demo, { group: { name: 'pair', add_volumes: `${second.id},` } })).status, 202);
    const members = (await call('GET', `/groups/${groupId}?list_volume=true`, demo)).json.group.volumes as string[];
    assert.deepEqual(members.sort(), [first.id, second.id].sort());
    assert.deepEqual(((await call('GET', `/volumes?group_id=${groupId}`, demo)).json.volumes as Array<{ id: string }>).map((v) => v.id).sort(), [first.id, second.id].sort());
    assert.deepEqual(((await call('GET', '/groups/detail?name=pair', demo)).json.groups as Array<{ id: string }>).map((g) => g.id), [groupId]);
    assert.deepEqual(((await call('GET', '/groups?status=error', demo)).json.groups as unknown[]).length, 0);

    // A volume in a group is not deleted alone.
    const refused = await call('DELETE', `/volumes/${second.id}`, demo);
    assert.equal(refused.status, 400);
    assert.match(refused.json.badRequest.message, /group/);

    const gs = await call('POST', '/group_snapshots', demo, { group_snapshot: { group_id: groupId, name: 'gs-1' } });
    assert.equal(gs.status, 202, JSON.stringify(gs.body));
    const gsId = gs.json.group_snapshot.id as string;
    const done = await settle(`/group_snapshots/${gsId}`, 'group_snapshot', demo, ['available', 'error']);
    assert.equal(done.status, 'available');
    assert.equal(done.group_id, groupId);
    assert.equal(done.group_type_id, groupTypeId);
    const snaps = (await call('GET', `/snapshots/detail`, demo, undefined, '3.14')).json.snapshots as Array<Record<string, any>>;
    const ofGroup = snaps.filter((s) => s.group_snapshot_id === gsId);
    assert.equal(ofGroup.length, 2);
    assert.deepEqual(ofGroup.map((s) => s.volume_id).sort(), [first.id, second.id].sort());
    for (const s of ofGroup) {
      assert.equal(s.status, 'available');
      assert.ok(existsSync(`${dir}/snapshot-${s.id}.qcow2`), `the backend holds snapshot ${s.id}`);
    }
    assert.equal((await call('DELETE', `/snapshots/${ofGroup[0]!.id}`, demo)).status, 400, 'a member snapshot goes with its group snapshot');
    assert.equal((await call('POST', `/groups/${groupId}/action`, demo, { delete: { 'delete-volumes': true } })).status, 400, 'the group has snapshots');
    assert.deepEqual(((await call('GET', `/group_snapshots?group_id=${groupId}`, demo)).json.group_snapshots as Array<{ id: string }>).map((x) => x.id), [gsId]);
    assert.equal((await call('POST', `/group_snapshots/${gsId}/action`, demo, { reset_status: { status: 'error' } })).status, 403);

    // A new group from the group snapshot: one volume per snapshot, made from it.
    const copy = await call('POST', '/groups/action', demo, { 'create-from-src': { name: 'copy', group_snapshot_id: gsId } });
    assert.equal(copy.status, 202, JSON.stringify(copy.body));
    const copyId = copy.json.group.id as string;
    const copied = (await call('GET', `/groups/${copyId}?list_volume=1`, demo)).json.group as Record<string, any>;
    assert.equal(copied.group_snapshot_id, gsId);
    assert.equal(copied.volumes.length, 2);
    for (const id of copied.volumes as string[]) {
      const v = await waitFor(url, demo, `/volumes/${id}`, 'volume', ['available', 'error']);
      assert.equal(v.status, 'available');
      assert.ok(ofGroup.some((s) => s.id === v.snapshot_id));
    }
    assert.equal((await call('POST', '/groups/action', demo, { 'create-from-src': { name: 'neither' } })).status, 400);

    // The group snapshot goes with its snapshots' files.
    assert.equal((await call('DELETE', `/group_snapshots/${gsId}`, demo)).status, 202);
    await settle(`/group_snapshots/${gsId}`, 'group_snapshot', demo, ['deleted']);
    for (const s of ofGroup) assert.equal(existsSync(`${dir}/snapshot-${s.id}.qcow2`), false);

    // Removing a member frees it; deleting the group needs delete-volumes while it has volumes.
    assert.equal((await call('PUT', `/groups/${groupId}`, demo, { group: { remove_volumes: second.id } })).status, 202);
    assert.equal((await call('GET', `/volumes/${second.id}`, demo)).json.volume.group_id, null);
    assert.equal((await call('DELETE', `/volumes/${second.id}`, demo)).status, 202);
    const stillFull = await call('POST', `/groups/${groupId}/action`, demo, { delete: {} });
    assert.equal(stillFull.status, 400);
    assert.match(stillFull.json.badRequest.message, /delete-volumes/);
    for (const id of [groupId, copyId]) {
      assert.equal((await call('POST', `/groups/${id}/action`, demo, { delete: { 'delete-volumes': true } })).status, 202);
      await settle(`/groups/${id}`, 'group', demo, ['deleted']);
    }
    assert.equal(existsSync(`${dir}/volume-${first.id}.qcow2`), false);
    for (const id of copied.volumes as string[]) assert.equal((await call('GET', `/volumes/${id}`, demo)).status, 404);
    assert.equal((await call('DELETE', `/group_types/${groupTypeId}`, admin)).status, 202, 'no group uses the type any more');
    groupTypeId = (await call('POST', '/group_types', admin, { group_type: { name: 'gt-1' } })).json.group_type.id as string;
  });

  it('counts groups against the groups quota', async () => {
    const demoProject = (await api(url, 'GET', '/identity/v3/auth/projects', demo)).json.projects[0].id as string;
    assert.equal((await call('PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { groups: 1 } })).status, 200);
    const one = await group(demo, 'only');
    const over = await call('POST', '/groups', demo, { group: { group_type: groupTypeId, volume_types: ['__DEFAULT__'] } });
    assert.equal(over.status, 413);
    assert.match(over.json.overLimit.message, /groups/);
    const usage = await call('GET', `/os-quota-sets/${demoProject}?usage=true`, demo);
    assert.equal(usage.json.quota_set.groups.in_use, 1);
    assert.equal((await call('POST', `/groups/${one}/action`, demo, { delete: {} })).status, 202);
    await call('PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { groups: 10 } });
  });
});
