// Nova's quotas (os-quota-sets, os-quota-class-sets, /limits and the checks other code calls),
// server groups and availability zones over raw HTTP against the whole cloud in this process,
// on SQLite and, when KUMO_TEST_DATABASE_URL is set, PostgreSQL. Instances and hosts are
// written straight into their tables: the servers API is not this suite's subject.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, type TestCloud } from '../../helpers/cloud.js';
import { projectId } from '../image/helpers.js';
import type { ComputeContext } from '../../../src/services/compute/context.js';
import { checkQuota } from '../../../src/services/compute/quotas.js';
import { getServerGroup } from '../../../src/services/compute/server-groups.js';
import { cloudOn, ENGINES, nova, ok, refused, type Body, memberCaller } from './resource-helpers.js';

const RESOURCES = [
  'cores', 'fixed_ips', 'floating_ips', 'injected_file_content_bytes', 'injected_file_path_bytes', 'injected_files',
  'instances', 'key_pairs', 'metadata_items', 'ram', 'security_group_rules', 'security_groups', 'server_group_members', 'server_groups',
];

async function addInstance(ctx: ComputeContext, project: string, user: string, vcpus: number, memoryMb: number, deleted = 0): Promise<string> {
  const id = randomUUID();
  const now = new Date().toISOString();
  await ctx.db
    .insertInto('compute_instance')
    .values({
      id, project_id: project, user_id: user, name: `vm-${id.slice(0, 4)}`, description: null,
      flavor: JSON.stringify({ id: 'x', vcpus, memoryMb }), vcpus, memory_mb: memoryMb, new_flavor: null, old_flavor: null, image_ref: 'img', host: null,
      availability_zone: null, vm_state: 'active', task_state: null, power_state: 1, key_name: null, key_data: null, user_data: null,
      metadata: '{}', tags: '[]', security_groups: '[]', requested_networks: '"auto"', scheduler_hints: '{}', config_drive: '',
      locked: 0, locked_by: null, reservation_id: 'r-1', launch_index: 0, fault: null, attempted_hosts: '[]',
      access_ip_v4: '', access_ip_v6: '', created_at: now, updated_at: now, launched_at: now, terminated_at: null, deleted,
    })
    .execute();
  return id;
}

async function addHost(ctx: ComputeContext, host: string, zone: string, options: { disabled?: boolean; heartbeatAgoSeconds?: number } = {}): Promise<void> {
  const now = new Date().toISOString();
  const beat = new Date(Date.now() - (options.heartbeatAgoSeconds ?? 0) * 1000).toISOString();
  await ctx.db
    .insertInto('compute_host')
    .values({
      host, service_id: randomUUID(), node_id: randomUUID(), availability_zone: zone, hypervisor_type: 'fake', hypervisor_version: 1,
      host_ip: '127.0.0.1', vcpus: 8, memory_mb: 16384, local_gb: 100, vcpus_used: 0, memory_mb_used: 0, local_gb_used: 0,
      running_vms: 0, cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1, reserved_host_memory_mb: 512,
      disabled: options.disabled ? 1 : 0, disabled_reason: null, forced_down: 0, last_heartbeat: beat, created_at: now, updated_at: beat,
    })
    .execute();
}

for (const engine of ENGINES) {
  describe(`compute quotas, server groups and zones on ${engine.name}`, { skip: engine.skip, timeout: 180_000 }, () => {
    let tc: TestCloud;
    let stop: () => Promise<void>;
    let admin: string;
    let demo: string;
    let demoProject: string;
    let adminProject: string;
    let demoUser: string;

    before(async () => {
      ({ tc, stop } = await cloudOn(engine.name));
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      demoProject = await projectId(tc.url, admin, 'demo');
      adminProject = await projectId(tc.url, admin, 'admin');
      const users = await api(tc.url, 'GET', '/identity/v3/users?name=demo', admin);
      demoUser = users.json.users[0].id as string;
    });
    after(async () => stop?.());

    const demoCaller = () => memberCaller(demoProject, demoUser);

    describe('quota sets', () => {
      it("shows a project's quotas, Nova's defaults until changed", async () => {
        const set = (await ok(tc, 'GET', `/os-quota-sets/${demoProject}`, demo, undefined, 200)).quota_set;
        assert.deepEqual(Object.keys(set).sort(), ['id', ...RESOURCES].sort());
        assert.equal(set.id, demoProject);
        assert.deepEqual(
          [set.instances, set.cores, set.ram, set.key_pairs, set.server_groups, set.server_group_members, set.metadata_items],
          [10, 20, 51200, 100, 10, 10, 128],
        );
        assert.deepEqual([set.injected_files, set.injected_file_content_bytes, set.injected_file_path_bytes], [5, 10240, 255]);
        const defaults = (await ok(tc, 'GET', `/os-quota-sets/${demoProject}/defaults`, demo, undefined, 200)).quota_set;
        assert.deepEqual(defaults, set);
      });

      it('counts usage from live instances in /detail', async () => {
        const ctx = tc.cloud.compute;
        await addInstance(ctx, demoProject, demoUser, 2, 2048);
        await addInstance(ctx, demoProject, demoUser, 1, 512);
        await addInstance(ctx, demoProject, demoUser, 8, 8192, 1); // deleted: not counted
        await addInstance(ctx, adminProject, demoUser, 4, 4096); // another project
        const detail = (await ok(tc, 'GET', `/os-quota-sets/${demoProject}/detail`, demo, undefined, 200)).quota_set;
        assert.equal(detail.id, demoProject);
        assert.deepEqual(detail.instances, { in_use: 2, limit: 10, reserved: 0 });
        assert.deepEqual(detail.cores, { in_use: 3, limit: 20, reserved: 0 });
        assert.deepEqual(detail.ram, { in_use: 2560, limit: 51200, reserved: 0 });
        assert.deepEqual(detail.metadata_items, { in_use: 0, limit: 128, reserved: 0 });
      });

      it("keeps other projects' quotas from non-admins (403)", async () => {
        await refused(tc, 'GET', `/os-quota-sets/${adminProject}`, demo, undefined, 403);
        await refused(tc, 'GET', `/os-quota-sets/${adminProject}/detail`, demo, undefined, 403);
        await ok(tc, 'GET', `/os-quota-sets/${demoProject}`, admin, undefined, 200);
      });

      it('lets an admin change limits, refusing bad values with 400', async () => {
        const updated = (await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { instances: 5, cores: '12', ram: -1 } }, 200)).quota_set;
        assert.equal(updated.id, undefined);
        assert.deepEqual([updated.instances, updated.cores, updated.ram], [5, 12, -1]);
        const shown = (await ok(tc, 'GET', `/os-quota-sets/${demoProject}`, demo, undefined, 200)).quota_set;
        assert.deepEqual([shown.instances, shown.cores, shown.ram, shown.key_pairs], [5, 12, -1, 100]);
        for (const body of [
          { quota_set: { instances: -2 } },
          { quota_set: { instances: 'many' } },
          { quota_set: { instances: 1.5 } },
          { quota_set: { instances: null } },
          { quota_set: { instances: 2147483648 } },
          { quota_set: { bananas: 1 } },
          { quota_set: { force: 'sometimes' } },
          { quota_set: [] },
          { quotas: {} },
          'x',
        ]) {
          await refused(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, body, 400);
        }
        await refused(tc, 'PUT', `/os-quota-sets/${demoProject}`, demo, { quota_set: { instances: 50 } }, 403);
        await refused(tc, 'PUT', `/os-quota-sets/${'p'.repeat(300)}`, admin, { quota_set: { instances: 1 } }, 400);
        await refused(tc, 'PUT', `/os-quota-class-sets/${'c'.repeat(300)}`, admin, { quota_class_set: { instances: 1 } }, 400);
      });

      it('refuses a limit below usage unless forced', async () => {
        assert.equal(
          await refused(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { instances: 1 } }, 400),
          'Quota limit 1 for instances must be greater than or equal to already used and reserved 2.',
        );
        const forced = (await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { instances: 1, force: true } }, 200)).quota_set;
        assert.equal(forced.instances, 1);
      });

      it("checks requests against limits with Nova's messages", async () => {
        const ctx = tc.cloud.compute;
        await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { instances: 2, cores: 3, ram: 51200 } }, 200);
        await assert.rejects(
          checkQuota(ctx, demoProject, demoUser, { instances: 1, cores: 1, ram: 512 }),
          (e: Error & { status?: number }) =>
            e.status === 403 &&
            e.message === 'Quota exceeded for cores, instances: Requested 1, 1, but already used 3, 2 of 3, 2 cores, instances',
        );
        await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { instances: 10, cores: 20 } }, 200);
        await checkQuota(ctx, demoProject, demoUser, { instances: 1, cores: 2, ram: 512 });
        await assert.rejects(
          checkQuota(ctx, demoProject, demoUser, { instances: 9 }),
          { message: 'Quota exceeded for instances: Requested 9, but already used 2 of 10 instances' },
        );
        await assert.rejects(
          checkQuota(ctx, demoProject, demoUser, { cores: 18 }),
          { message: 'Quota exceeded for cores: Requested 18, but already used 3 of 20 cores' },
        );
        await assert.rejects(
          checkQuota(ctx, demoProject, demoUser, { ram: 50000 }),
          { message: 'Quota exceeded for ram: Requested 50000, but already used 2560 of 51200 ram' },
        );
        // Unlimited is never exceeded.
        await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { ram: -1 } }, 200);
        await checkQuota(ctx, demoProject, demoUser, { ram: 10_000_000 });
      });

      it('resets to the defaults on DELETE (202, admin only)', async () => {
        await refused(tc, 'DELETE', `/os-quota-sets/${demoProject}`, demo, undefined, 403);
        assert.equal((await nova(tc, 'DELETE', `/os-quota-sets/${demoProject}`, admin)).status, 202);
        const shown = (await ok(tc, 'GET', `/os-quota-sets/${demoProject}`, demo, undefined, 200)).quota_set;
        assert.deepEqual([shown.instances, shown.cores, shown.ram], [10, 20, 51200]);
      });

      it('takes cloud-wide defaults from the default quota class', async () => {
        const shown = (await ok(tc, 'GET', '/os-quota-class-sets/default', admin, undefined, 200)).quota_class_set;
        assert.equal(shown.id, 'default');
        assert.equal(shown.metadata_items, 128);
        const updated = (await ok(tc, 'PUT', '/os-quota-class-sets/default', admin, { quota_class_set: { metadata_items: 64 } }, 200)).quota_class_set;
        assert.equal(updated.metadata_items, 64);
        assert.equal(updated.id, undefined);
        assert.equal((await ok(tc, 'GET', `/os-quota-sets/${demoProject}`, demo, undefined, 200)).quota_set.metadata_items, 64);
        assert.equal((await ok(tc, 'GET', `/os-quota-sets/${demoProject}/defaults`, demo, undefined, 200)).quota_set.metadata_items, 64);
        await refused(tc, 'PUT', '/os-quota-class-sets/default', demo, { quota_class_set: { metadata_items: 1 } }, 403);
        await refused(tc, 'PUT', '/os-quota-class-sets/default', admin, { quota_class_set: { force: true } }, 400);
        await ok(tc, 'PUT', '/os-quota-class-sets/default', admin, { quota_class_set: { metadata_items: 128 } }, 200);
      });

      it('enforces the key pair quota per user', async () => {
        await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { key_pairs: 1 } }, 200);
        await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'only' } }, 200);
        assert.equal(await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'second' } }, 403), 'Quota exceeded, too many key pairs.');
        await nova(tc, 'DELETE', `/os-quota-sets/${demoProject}`, admin);
        await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'second' } }, 200);
      });
    });

    describe('limits', () => {
      it('shows absolute limits and usage, no rate limits', async () => {
        const limits = (await ok(tc, 'GET', '/limits', demo, undefined, 200)).limits;
        assert.deepEqual(limits.rate, []);
        const a = limits.absolute;
        assert.deepEqual(
          [a.maxTotalInstances, a.maxTotalCores, a.maxTotalRAMSize, a.maxTotalKeypairs, a.maxServerMeta, a.maxImageMeta],
          [10, 20, 51200, 100, 128, 128],
        );
        assert.deepEqual([a.maxPersonality, a.maxPersonalitySize, a.maxServerGroups, a.maxServerGroupMembers, a.maxSecurityGroups], [5, 10240, 10, 10, -1]);
        assert.deepEqual([a.totalInstancesUsed, a.totalCoresUsed, a.totalRAMUsed, a.totalServerGroupsUsed], [2, 3, 2560, 0]);
        const other = (await ok(tc, 'GET', `/limits?tenant_id=${adminProject}`, admin, undefined, 200)).limits.absolute;
        assert.equal(other.totalInstancesUsed, 1);
        await refused(tc, 'GET', `/limits?tenant_id=${adminProject}`, demo, undefined, 403);
      });
    });

    describe('server groups', () => {
      it('creates groups with the 2.1 shape, owners from 2.13', async () => {
        const group = (await ok(tc, 'POST', '/os-server-groups', demo, { server_group: { name: 'web', policies: ['anti-affinity'] } }, 200)).server_group;
        assert.deepEqual(Object.keys(group).sort(), ['id', 'members', 'metadata', 'name', 'policies']);
        assert.deepEqual([group.name, group.policies, group.members, group.metadata], ['web', ['anti-affinity'], [], {}]);
        const newer = (await ok(tc, 'GET', `/os-server-groups/${group.id}`, demo, undefined, 200, '2.13')).server_group;
        assert.equal(newer.project_id, demoProject);
        assert.equal(newer.user_id, demoUser);
        const found = await getServerGroup(tc.cloud.compute, demoCaller(), group.id);
        assert.deepEqual([found.policy, found.projectId], ['anti-affinity', demoProject]);
      });

      it('takes the soft policies only from 2.15', async () => {
        await refused(tc, 'POST', '/os-server-groups', demo, { server_group: { name: 'soft', policies: ['soft-affinity'] } }, 400, '2.14');
        const soft = (await ok(tc, 'POST', '/os-server-groups', demo, { server_group: { name: 'soft', policies: ['soft-anti-affinity'] } }, 200, '2.15')).server_group;
        assert.deepEqual(soft.policies, ['soft-anti-affinity']);
      });

      it('refuses bad bodies with 400', async () => {
        for (const body of [
          { server_group: { name: 'x', policies: [] } },
          { server_group: { name: 'x', policies: ['affinity', 'anti-affinity'] } },
          { server_group: { name: 'x', policies: ['bogus'] } },
          { server_group: { name: 'x', policies: 'affinity' } },
          { server_group: { name: 'x', policies: [1] } },
          { server_group: { policies: ['affinity'] } },
          { server_group: { name: '', policies: ['affinity'] } },
          { server_group: { name: 5, policies: ['affinity'] } },
          { server_group: { name: 'x', policies: ['affinity'], rules: {} } },
          { server_group: 'x' },
          {},
          'nope',
        ]) {
          await refused(tc, 'POST', '/os-server-groups', demo, body, 400);
        }
      });

      it('lists members, own project by default and all projects for an admin', async () => {
        const group = (await ok(tc, 'POST', '/os-server-groups', demo, { server_group: { name: 'db', policies: ['affinity'] } }, 200)).server_group;
        const vm = randomUUID();
        await tc.cloud.compute.db.insertInto('compute_server_group_member').values({ group_id: group.id, instance_id: vm }).execute();
        assert.deepEqual((await ok(tc, 'GET', `/os-server-groups/${group.id}`, demo, undefined, 200)).server_group.members, [vm]);
        const mine = (await ok(tc, 'GET', '/os-server-groups', demo, undefined, 200)).server_groups;
        assert.deepEqual(mine.map((g: Body) => g.name), ['web', 'soft', 'db']);
        assert.deepEqual((await ok(tc, 'GET', '/os-server-groups?limit=1&offset=1', demo, undefined, 200)).server_groups.map((g: Body) => g.name), ['soft']);
        await refused(tc, 'GET', '/os-server-groups?limit=x', demo, undefined, 400);
        assert.deepEqual((await ok(tc, 'GET', '/os-server-groups', admin, undefined, 200)).server_groups, []);
        const all = (await ok(tc, 'GET', '/os-server-groups?all_projects=True', admin, undefined, 200)).server_groups;
        assert.equal(all.length, 3);
        // Nova ignores all_projects from a non-admin: their own project's groups, no error.
        assert.deepEqual((await ok(tc, 'GET', '/os-server-groups?all_projects=True', demo, undefined, 200)).server_groups.map((g: Body) => g.name), ['web', 'soft', 'db']);
        assert.deepEqual((await ok(tc, 'GET', `/os-server-groups/${group.id}`, admin, undefined, 200)).server_group.members, [vm]);
      });

      it("keeps other projects' groups from non-admins and answers unknown ids with 404", async () => {
        const theirs = (await ok(tc, 'POST', '/os-server-groups', admin, { server_group: { name: 'adm', policies: ['affinity'] } }, 200)).server_group;
        await refused(tc, 'GET', `/os-server-groups/${theirs.id}`, demo, undefined, 403);
        await refused(tc, 'DELETE', `/os-server-groups/${theirs.id}`, demo, undefined, 403);
        const missing = randomUUID();
        assert.equal(await refused(tc, 'GET', `/os-server-groups/${missing}`, demo, undefined, 404), `Instance group ${missing} could not be found.`);
        await refused(tc, 'DELETE', `/os-server-groups/${missing}`, demo, undefined, 404);
        assert.equal((await nova(tc, 'DELETE', `/os-server-groups/${theirs.id}`, admin)).status, 204);
        await refused(tc, 'GET', `/os-server-groups/${theirs.id}`, admin, undefined, 404);
      });

      it('enforces the server group quota', async () => {
        await ok(tc, 'PUT', `/os-quota-sets/${demoProject}`, admin, { quota_set: { server_groups: 3 } }, 200);
        assert.equal(
          await refused(tc, 'POST', '/os-server-groups', demo, { server_group: { name: 'one-too-many', policies: ['affinity'] } }, 403),
          'Quota exceeded, too many server groups.',
        );
        const limits = (await ok(tc, 'GET', '/limits', demo, undefined, 200)).limits.absolute;
        assert.deepEqual([limits.maxServerGroups, limits.totalServerGroupsUsed], [3, 3]);
        const groups = (await ok(tc, 'GET', '/os-server-groups', demo, undefined, 200)).server_groups;
        await assert.rejects(
          checkQuota(tc.cloud.compute, demoProject, demoUser, { server_group_members: 10 }, { serverGroupId: groups[2].id }),
          { message: 'Quota exceeded, too many servers in group' },
        );
        await checkQuota(tc.cloud.compute, demoProject, demoUser, { server_group_members: 9 }, { serverGroupId: groups[2].id });
        await nova(tc, 'DELETE', `/os-quota-sets/${demoProject}`, admin);
      });
    });

    describe('availability zones', () => {
      it("lists the zone of the cloud's own compute host", async () => {
        assert.deepEqual(await ok(tc, 'GET', '/os-availability-zone', demo, undefined, 200), {
          availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }],
        });
      });

      it('lists the zones of hosts, and their hosts to admins', async () => {
        const ctx = tc.cloud.compute;
        await addHost(ctx, 'cmp-1', 'nova');
        await addHost(ctx, 'cmp-2', 'nova', { heartbeatAgoSeconds: 3600 });
        await addHost(ctx, 'cmp-3', 'edge', { disabled: true });
        const zones = (await ok(tc, 'GET', '/os-availability-zone', demo, undefined, 200)).availabilityZoneInfo;
        assert.deepEqual(zones, [
          { zoneName: 'nova', zoneState: { available: true }, hosts: null },
          { zoneName: 'edge', zoneState: { available: false }, hosts: null },
        ]);
        await refused(tc, 'GET', '/os-availability-zone/detail', demo, undefined, 403);
        const detail = (await ok(tc, 'GET', '/os-availability-zone/detail', admin, undefined, 200)).availabilityZoneInfo;
        assert.deepEqual(detail.map((z: Body) => z.zoneName), ['internal', 'nova', 'edge']);
        const nova1 = detail[1].hosts;
        assert.deepEqual(Object.keys(nova1).sort(), ['cmp-1', 'cmp-2', tc.cloud.config.hostName].sort());
        assert.equal(nova1['cmp-1']['nova-compute'].available, true);
        assert.equal(nova1['cmp-1']['nova-compute'].active, true);
        assert.match(nova1['cmp-1']['nova-compute'].updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
        assert.equal(nova1['cmp-2']['nova-compute'].available, false, 'no heartbeat for an hour: down');
        assert.deepEqual(detail[2].hosts['cmp-3']['nova-compute'].active, false);
        assert.ok(detail[0].hosts[tc.cloud.config.hostName]['nova-scheduler']);
      });
    });
  });
}
