// The admin and overview APIs Horizon and the SDKs call: os-simple-tenant-usage,
// os-aggregates (an availability_zone zoning its hosts for the scheduler and the server's
// OS-EXT-AZ), os-hypervisors/{pattern}/search and /servers, and /extensions; and what a member
// of another project gets from them (nothing).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('usage, aggregates, hypervisor search and extensions', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let demoProject: string;
  let outsider: ProjectUser;
  let image: string;
  let hosts: string[];
  let spare: string;

  async function active(token: string, name: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const res = await boot(cloud.url, token, { name, imageRef: image, flavorRef: '42', networks: 'none', ...extra });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return waitForServer(cloud.url, token, res.json.server.id, ['ACTIVE', 'ERROR']);
  }

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_HOSTS: '3' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    demoProject = (await cloud.cloud.identity.context.stores.resources.getProjectByName('default', 'demo'))?.id as string;
    outsider = await projectWithMember(cloud.url, admin, 'outsider');
    image = await activeImage(cloud.url, admin);
    hosts = cloud.cloud.computeAgents.map((a) => a.host).sort();
    // The aggregate tests zone a host that must run nothing yet: no boot goes there until then.
    spare = hosts[2] as string;
    assert.equal((await nova(cloud.url, 'PUT', '/os-services/disable', admin, { host: spare, binary: 'nova-compute' })).status, 200);
  });

  after(async () => {
    await cloud.stop();
  });

  describe('os-simple-tenant-usage', () => {
    const window = () => {
      const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
      const end = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19);
      return `start=${start}&end=${end}`;
    };

    it("shows a project its own usage, deleted servers included, with each server's line", async () => {
      const kept = await active(demo, 'usage-kept');
      const gone = await active(demo, 'usage-gone');
      assert.equal((await nova(cloud.url, 'DELETE', `/servers/${gone.id}`, demo)).status, 204);
      await waitForServer(cloud.url, demo, gone.id, ['DELETED']);
      const query = window();
      const end = Date.parse(`${new URLSearchParams(query).get('end')}Z`);
      const res = await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?${query}`, demo);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const usage = res.json.tenant_usage;
      assert.equal(usage.tenant_id, demoProject);
      const lines = new Map<string, any>(usage.server_usages.map((s: any) => [s.instance_id, s]));
      assert.equal(lines.get(kept.id).state, 'active');
      assert.equal(lines.get(kept.id).ended_at, null);
      assert.equal(lines.get(gone.id).state, 'terminated');
      assert.match(lines.get(gone.id).ended_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$/);
      const line = lines.get(kept.id);
      assert.deepEqual([line.vcpus, line.memory_mb, line.local_gb, line.flavor], [1, 128, 1, 'm1.nano']);
      // A running server is charged from its launch to the window's end (Nova's), a deleted one to its deletion.
      const expected = (end - Date.parse(`${line.started_at}Z`)) / 3_600_000;
      assert.ok(Math.abs(line.hours - expected) < 1e-6, `hours ${line.hours}, expected ${expected}`);
      const goneLine = lines.get(gone.id);
      const ran = (Date.parse(`${goneLine.ended_at}Z`) - Date.parse(`${goneLine.started_at}Z`)) / 3_600_000;
      assert.ok(Math.abs(goneLine.hours - ran) < 1e-6 && goneLine.hours < 0.01, `hours ${goneLine.hours}`);
      const hours = usage.server_usages.reduce((t: number, s: any) => t + s.hours, 0);
      assert.ok(Math.abs(usage.total_hours - hours) < 1e-9);
      assert.ok(Math.abs(usage.total_memory_mb_usage - usage.server_usages.reduce((t: number, s: any) => t + s.memory_mb * s.hours, 0)) < 1e-6);
    });

    it('answers an empty usage for a window before anything ran, and 400 for a bad window', async () => {
      const empty = await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?start=2001-01-01T00:00:00&end=2001-02-01T00:00:00`, demo);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.json.tenant_usage, {});
      const reversed = await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?start=2001-02-01T00:00:00&end=2001-01-01T00:00:00`, demo);
      assert.equal(reversed.status, 400);
      const garbage = await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?start=yesterday`, demo);
      assert.equal(garbage.status, 400);
      assert.ok(garbage.json.badRequest.message);
    });

    it('lists every project for an admin, with server lines only when detailed', async () => {
      await active(outsider.token, 'outsider-usage');
      const plain = await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window()}`, admin);
      assert.equal(plain.status, 200);
      const projects = plain.json.tenant_usages.map((u: any) => u.tenant_id);
      assert.ok(projects.includes(demoProject) && projects.includes(outsider.projectId));
      assert.ok(plain.json.tenant_usages.every((u: any) => u.server_usages === undefined));
      const detailed = await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window()}&detailed=1`, admin);
      assert.ok(detailed.json.tenant_usages.every((u: any) => Array.isArray(u.server_usages) && u.server_usages.length > 0));
    });

    it("keeps a member out of the list and of another project's usage", async () => {
      assert.equal((await nova(cloud.url, 'GET', `/os-simple-tenant-usage?${window()}`, outsider.token)).status, 403);
      assert.equal((await nova(cloud.url, 'GET', `/os-simple-tenant-usage/${demoProject}?${window()}`, outsider.token)).status, 403);
    });
  });

  describe('os-aggregates', () => {
    it('creates, shows, lists, renames and deletes an aggregate; names are unique', async () => {
      const made = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'rack-1' } });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const aggregate = made.json.aggregate;
      assert.equal(typeof aggregate.id, 'number');
      assert.equal(aggregate.availability_zone, null);
      assert.equal(aggregate.hosts, undefined);
      assert.equal(aggregate.deleted, false);
      assert.equal((await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'rack-1' } })).status, 409);
      const shown = await nova(cloud.url, 'GET', `/os-aggregates/${aggregate.id}`, admin);
      assert.deepEqual([shown.json.aggregate.hosts, shown.json.aggregate.metadata], [[], {}]);
      const renamed = await nova(cloud.url, 'PUT', `/os-aggregates/${aggregate.id}`, admin, { aggregate: { name: 'rack-one' } });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.json.aggregate.name, 'rack-one');
      assert.ok(renamed.json.aggregate.updated_at);
      const listed = await nova(cloud.url, 'GET', '/os-aggregates', admin);
      assert.deepEqual(listed.json.aggregates.map((a: any) => a.name), ['rack-one']);
      const deleted = await nova(cloud.url, 'DELETE', `/os-aggregates/${aggregate.id}`, admin);
      assert.equal(deleted.status, 200);
      assert.equal((await nova(cloud.url, 'GET', `/os-aggregates/${aggregate.id}`, admin)).status, 404);
    });

    it('refuses bad bodies with 400', async () => {
      assert.equal((await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: {} })).status, 400);
      assert.equal((await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'x', colour: 'red' } })).status, 400);
      assert.equal((await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'x', availability_zone: 'internal' } })).status, 400);
      const made = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'bodies' } });
      const id = made.json.aggregate.id;
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { fly: {} })).status, 400);
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { add_host: {} })).status, 400);
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { add_host: { host: 'nowhere' } })).status, 404);
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { remove_host: { host: hosts[0] } })).status, 404);
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { set_metadata: { metadata: { k: 5 } } })).status, 400);
      assert.equal((await nova(cloud.url, 'DELETE', `/os-aggregates/${id}`, admin)).status, 200);
    });

    it('zones a host by its aggregate: the zone list, the scheduler and OS-EXT-AZ follow', async () => {
      const made = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'zoned', availability_zone: 'az-east' } });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const id = made.json.aggregate.id;
      assert.equal(made.json.aggregate.availability_zone, 'az-east');
      assert.equal((await nova(cloud.url, 'PUT', '/os-services/enable', admin, { host: spare, binary: 'nova-compute' })).status, 200);
      const added = await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { add_host: { host: spare } });
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(added.json.aggregate.hosts, [spare]);
      assert.deepEqual(added.json.aggregate.metadata, { availability_zone: 'az-east' });
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { add_host: { host: spare } })).status, 409);

      const zones = await nova(cloud.url, 'GET', '/os-availability-zone', demo);
      assert.ok(zones.json.availabilityZoneInfo.some((z: any) => z.zoneName === 'az-east'));
      const services = await nova(cloud.url, 'GET', `/os-services?host=${spare}`, admin);
      assert.equal(services.json.services[0].zone, 'az-east');

      // The conductor's view of the hosts is at most a second old.
      await new Promise((r) => setTimeout(r, 1100));
      for (let i = 0; i < 3; i++) {
        const server = await active(demo, `in-east-${i}`, { availability_zone: 'az-east' });
        assert.equal(server.status, 'ACTIVE');
        assert.equal(server['OS-EXT-AZ:availability_zone'], 'az-east');
        const shown = await nova(cloud.url, 'GET', `/servers/${server.id}`, admin);
        assert.equal(shown.json.server['OS-EXT-SRV-ATTR:host'], spare);
      }
      // The host runs instances now: it may not leave its zone, nor the zone change under them.
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { set_metadata: { metadata: { availability_zone: 'az-west' } } })).status, 400);
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { remove_host: { host: spare } })).status, 409);
      // Other metadata is free to change; a null value removes a key.
      const meta = await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { set_metadata: { metadata: { ssd: 'true' } } });
      assert.deepEqual(meta.json.aggregate.metadata, { availability_zone: 'az-east', ssd: 'true' });
      const unset = await nova(cloud.url, 'POST', `/os-aggregates/${id}/action`, admin, { set_metadata: { metadata: { ssd: null } } });
      assert.deepEqual(unset.json.aggregate.metadata, { availability_zone: 'az-east' });
      // An aggregate with hosts is not deleted.
      assert.equal((await nova(cloud.url, 'DELETE', `/os-aggregates/${id}`, admin)).status, 400);
      // A zone nobody is in places nothing.
      const nowhere = await boot(cloud.url, demo, { name: 'nowhere', imageRef: image, flavorRef: '42', networks: 'none', availability_zone: 'az-none' });
      if (nowhere.status === 202) assert.equal((await waitForServer(cloud.url, demo, nowhere.json.server.id, ['ACTIVE', 'ERROR'])).status, 'ERROR');
      else assert.equal(nowhere.status, 400);
    });

    it('keeps a host in one zone only', async () => {
      const other = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'west', availability_zone: 'az-west' } });
      const res = await nova(cloud.url, 'POST', `/os-aggregates/${other.json.aggregate.id}/action`, admin, { add_host: { host: spare } });
      assert.equal(res.status, 409, JSON.stringify(res.body));
      // A zoneless aggregate may hold it too.
      const plain = await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'plain' } });
      assert.equal((await nova(cloud.url, 'POST', `/os-aggregates/${plain.json.aggregate.id}/action`, admin, { add_host: { host: spare } })).status, 200);
    });

    it('is admin-only, for a member of any project', async () => {
      for (const token of [demo, outsider.token]) {
        assert.equal((await nova(cloud.url, 'GET', '/os-aggregates', token)).status, 403);
        assert.equal((await nova(cloud.url, 'POST', '/os-aggregates', token, { aggregate: { name: 'mine' } })).status, 403);
        assert.equal((await nova(cloud.url, 'POST', '/os-aggregates/1/action', token, { add_host: { host: hosts[0] } })).status, 403);
      }
    });
  });

  describe('os-hypervisors search and servers', () => {
    it("finds hypervisors by a part of their name, with their servers' names and ids", async () => {
      const server = await active(demo, 'on-a-hypervisor');
      const shown = await nova(cloud.url, 'GET', `/servers/${server.id}`, admin);
      const host = shown.json.server['OS-EXT-SRV-ATTR:host'] as string;
      const found = await nova(cloud.url, 'GET', `/os-hypervisors/${encodeURIComponent(host)}/servers`, admin);
      assert.equal(found.status, 200, JSON.stringify(found.body));
      const entry = found.json.hypervisors.find((h: any) => h.hypervisor_hostname === host);
      assert.ok(entry.servers.some((s: any) => s.uuid === server.id && s.name === 'on-a-hypervisor'));
      const search = await nova(cloud.url, 'GET', `/os-hypervisors/${encodeURIComponent(host.slice(0, -1))}/search`, admin);
      assert.equal(search.status, 200);
      assert.ok(search.json.hypervisors.some((h: any) => h.hypervisor_hostname === host && h.servers === undefined));
      assert.equal((await nova(cloud.url, 'GET', '/os-hypervisors/no-such-host/search', admin)).status, 404);
      assert.equal((await nova(cloud.url, 'GET', '/os-hypervisors/no-such-host/servers', admin)).status, 404);
    });

    it('is admin-only', async () => {
      assert.equal((await nova(cloud.url, 'GET', `/os-hypervisors/${hosts[0]}/servers`, demo)).status, 403);
      assert.equal((await nova(cloud.url, 'GET', `/os-hypervisors/${hosts[0]}/search`, outsider.token)).status, 403);
    });
  });

  describe('os-services', () => {
    it('lists the conductor and the scheduler in the internal zone besides the compute services', async () => {
      const res = await nova(cloud.url, 'GET', '/os-services', admin, undefined, '2.11');
      const services = res.json.services as Array<Record<string, any>>;
      const control = services.filter((s) => s.binary !== 'nova-compute');
      assert.deepEqual(control.map((s) => s.binary).sort(), ['nova-conductor', 'nova-scheduler']);
      for (const s of control) {
        assert.deepEqual([s.zone, s.status, s.state, s.forced_down, s.disabled_reason], ['internal', 'enabled', 'up', false, null]);
        assert.equal(typeof s.id, 'number');
      }
      assert.deepEqual(services.filter((s) => s.binary === 'nova-compute').map((s) => s.host).sort(), hosts);
      const only = await nova(cloud.url, 'GET', '/os-services?binary=nova-scheduler', admin);
      assert.deepEqual(only.json.services.map((s: any) => s.binary), ['nova-scheduler']);
    });

    it('shows them down once their heartbeat is older than the service down time', async () => {
      const db = cloud.cloud.compute.db;
      await db.updateTable('compute_control_service').set({ last_heartbeat: new Date(Date.now() - 3_600_000).toISOString() }).execute();
      const res = await nova(cloud.url, 'GET', '/os-services?binary=nova-conductor', admin);
      assert.equal(res.json.services[0].state, 'down');
      await db.updateTable('compute_control_service').set({ last_heartbeat: new Date().toISOString() }).execute();
    });
  });

  describe('the images proxy before 2.36', () => {
    it("lists the images the caller may see, briefly or in detail, pages with limit, and is gone at 2.36", async () => {
      const mine = await api(cloud.url, 'POST', '/image/v2/images', demo, { name: 'demo-private', disk_format: 'qcow2', container_format: 'bare' });
      assert.equal(mine.status, 201);
      const brief = await nova(cloud.url, 'GET', '/images', demo);
      assert.equal(brief.status, 200, JSON.stringify(brief.body));
      const ids = brief.json.images.map((i: any) => i.id);
      assert.ok(ids.includes(image) && ids.includes(mine.json.id));
      assert.deepEqual(Object.keys(brief.json.images[0]).sort(), ['id', 'links', 'name']);
      const detail = await nova(cloud.url, 'GET', '/images/detail', demo);
      const shown = detail.json.images.find((i: any) => i.id === image);
      assert.deepEqual([shown.status, shown.progress], ['ACTIVE', 100]);
      const page = await nova(cloud.url, 'GET', '/images?limit=1', demo);
      assert.equal(page.json.images.length, 1);
      assert.match(page.json.images_links[0].href, /marker=/);
      const theirs = await nova(cloud.url, 'GET', '/images', outsider.token);
      assert.ok(!theirs.json.images.some((i: any) => i.id === mine.json.id), "another project's private image is not listed");
      assert.equal((await nova(cloud.url, 'GET', '/images', demo, undefined, '2.36')).status, 404);
      assert.equal((await nova(cloud.url, 'GET', '/images?limit=-1', demo)).status, 400);
    });
  });

  describe('/extensions', () => {
    it('lists and shows the extensions by alias', async () => {
      const list = await nova(cloud.url, 'GET', '/extensions', demo);
      assert.equal(list.status, 200);
      const aliases = list.json.extensions.map((e: any) => e.alias);
      assert.ok(aliases.includes('os-simple-tenant-usage') && aliases.includes('os-aggregates') && aliases.includes('OS-EXT-IPS'));
      const one = await nova(cloud.url, 'GET', '/extensions/os-aggregates', demo);
      assert.deepEqual(Object.keys(one.json.extension).sort(), ['alias', 'description', 'links', 'name', 'namespace', 'updated']);
      assert.equal((await nova(cloud.url, 'GET', '/extensions/os-nothing', demo)).status, 404);
    });
  });
});
