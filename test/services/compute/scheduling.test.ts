// Where instances land: server group policies, disabled and dead compute services, and a
// host whose spawns fail (the boot is rescheduled elsewhere, or ends in ERROR when every
// attempt failed), and a failure no other host would avoid (ERROR at once, no reschedule).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ComputeAgent } from '../../../src/agents/compute/agent.js';
import { ComputeHostClient } from '../../../src/agents/compute/host-client.js';
import { BuildAbortError, type InstanceSpec } from '../../../src/agents/compute/virt/driver.js';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/fake.js';
import { ComputeHosts } from '../../../src/services/compute/hosts.js';
import { InstanceActions } from '../../../src/services/compute/store/instance-actions.js';
import { InstanceRecords } from '../../../src/services/compute/store/instances.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

describe('scheduling on two fake hosts', () => {
  let cloud: TestCloud;
  let admin: string;
  let image: string;
  let hosts: string[];
  const extraAgents: ComputeAgent[] = [];

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_HOSTS: '2' } });
    admin = await cloud.token('admin');
    image = await activeImage(cloud.url, admin);
    hosts = cloud.cloud.computeAgents.map((a) => a.host);
    const projectId = (await cloud.cloud.identity.context.stores.resources.getProjectByName('default', 'admin'))?.id as string;
    await nova(cloud.url, 'PUT', `/os-quota-sets/${projectId}`, admin, { quota_set: { instances: -1, cores: -1, ram: -1 } });
  });
  after(async () => {
    for (const agent of extraAgents) await agent.stop();
    await cloud?.stop();
  });

  const bootAndSettle = async (name: string, hints?: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const created = await boot(cloud.url, admin, { name, imageRef: image, flavorRef: '42', networks: 'none', ...extra }, hints);
    assert.equal(created.status, 202, JSON.stringify(created.body));
    return waitForServer(cloud.url, admin, created.json.server.id, ['ACTIVE', 'ERROR']);
  };
  const group = async (policy: string) => {
    const made = await nova(cloud.url, 'POST', '/os-server-groups', admin, { server_group: { name: policy, policies: [policy] } }, '2.15');
    assert.equal(made.status, 200, JSON.stringify(made.body));
    return made.json.server_group.id as string;
  };

  it('spreads an anti-affinity group over both hosts, and has no room for a third member', async () => {
    const id = await group('anti-affinity');
    // Both at once: the late check keeps them apart even when they are decided together.
    const [a, b] = await Promise.all([bootAndSettle('anti-a', { group: id }), bootAndSettle('anti-b', { group: id })]);
    assert.equal(a?.status, 'ACTIVE', JSON.stringify(a?.fault));
    assert.equal(b?.status, 'ACTIVE', JSON.stringify(b?.fault));
    assert.notEqual(a?.['OS-EXT-SRV-ATTR:host'], b?.['OS-EXT-SRV-ATTR:host']);
    const c = await bootAndSettle('anti-c', { group: id });
    assert.equal(c.status, 'ERROR');
    assert.match(c.fault.message, /No valid host was found/);
    const shown = await nova(cloud.url, 'GET', `/os-server-groups/${id}`, admin);
    assert.equal(shown.json.server_group.members.length, 3);
  });

  it('keeps an affinity group together, and a soft-anti-affinity one apart while it can', async () => {
    const id = await group('affinity');
    const a = await bootAndSettle('aff-a', { group: id });
    const b = await bootAndSettle('aff-b', { group: id });
    assert.equal(a['OS-EXT-SRV-ATTR:host'], b['OS-EXT-SRV-ATTR:host']);
    const soft = await group('soft-anti-affinity');
    const placed = [];
    for (const name of ['soft-a', 'soft-b', 'soft-c']) placed.push(await bootAndSettle(name, { group: soft }));
    assert.ok(placed.every((s) => s.status === 'ACTIVE'), 'soft policies never refuse');
    assert.equal(new Set(placed.slice(0, 2).map((s) => s['OS-EXT-SRV-ATTR:host'])).size, 2);
  });

  it('honours same_host and different_host hints', async () => {
    const first = await bootAndSettle('anchor');
    const same = await bootAndSettle('same', { same_host: [first.id] });
    const different = await bootAndSettle('different', { different_host: [first.id] });
    assert.equal(same['OS-EXT-SRV-ATTR:host'], first['OS-EXT-SRV-ATTR:host']);
    assert.notEqual(different['OS-EXT-SRV-ATTR:host'], first['OS-EXT-SRV-ATTR:host']);
  });

  it('sends nothing to a disabled compute service', async () => {
    const [off, on] = hosts as [string, string];
    const disabled = await nova(cloud.url, 'PUT', '/os-services/disable', admin, { host: off, binary: 'nova-compute' });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    const services = (await nova(cloud.url, 'GET', '/os-services', admin)).json.services as Array<Record<string, any>>;
    assert.equal(services.find((s) => s.host === off)?.status, 'disabled');
    for (const name of ['d1', 'd2', 'd3']) assert.equal((await bootAndSettle(name))['OS-EXT-SRV-ATTR:host'], on);
    assert.equal((await nova(cloud.url, 'PUT', '/os-services/enable', admin, { host: off, binary: 'nova-compute' })).status, 200);
  });

  it('marks a host without heartbeats down and schedules around it', async () => {
    const [alive, dead] = hosts as [string, string];
    await cloud.cloud.compute.db.updateTable('compute_host').set({ last_heartbeat: new Date(Date.now() - 3_600_000).toISOString() }).where('host', '=', dead).execute();
    const services = (await nova(cloud.url, 'GET', '/os-services', admin)).json.services as Array<Record<string, any>>;
    assert.equal(services.find((s) => s.host === dead)?.state, 'down');
    assert.equal(services.find((s) => s.host === alive)?.state, 'up');
    // The conductor's view of the hosts is at most a second old.
    await new Promise((r) => setTimeout(r, 1100));
    for (const name of ['h1', 'h2']) assert.equal((await bootAndSettle(name))['OS-EXT-SRV-ATTR:host'], alive);
    await cloud.cloud.compute.db.updateTable('compute_host').set({ last_heartbeat: new Date().toISOString() }).where('host', '=', dead).execute();
  });

  it('reschedules a failed spawn to another host, and gives up after the last attempt', async () => {
    // A third host that is the scheduler's first choice (the most free RAM) and fails every spawn.
    const db = cloud.cloud.compute.db;
    const flaky = new ComputeAgent(
      { host: 'flaky', availabilityZone: 'nova', cpuAllocationRatio: 4, ramAllocationRatio: 1, diskAllocationRatio: 1, reservedHostMemoryMb: 0, heartbeatIntervalSeconds: 10, powerSyncIntervalSeconds: 60 },
      {
        bus: cloud.cloud.bus,
        driver: new FakeDriver({ vcpus: 64, memoryMb: 1_000_000, localGb: 1000, failSpawnFor: () => true }),
        control: new ComputeHostClient(cloud.cloud.bus),
        images: cloud.cloud.compute.images,
        log: cloud.cloud.compute.log,
      },
    );
    await flaky.start();
    extraAgents.push(flaky);
    await new Promise((r) => setTimeout(r, 1100));
    const rescued = await bootAndSettle('rescued');
    assert.equal(rescued.status, 'ACTIVE');
    assert.notEqual(rescued['OS-EXT-SRV-ATTR:host'], 'flaky');
    const events = await nova(cloud.url, 'GET', `/servers/${rescued.id}/os-instance-actions`, admin);
    const detail = await nova(cloud.url, 'GET', `/servers/${rescued.id}/os-instance-actions/${events.json.instanceActions[0].request_id}`, admin);
    const results = (detail.json.instanceAction.events as Array<{ event: string; result: string }>).filter((e) => e.event === 'compute__do_build_and_run_instance').map((e) => e.result);
    assert.deepEqual(results, ['Error', 'Success'], 'one failed attempt on flaky, then success');
    const usage = (await nova(cloud.url, 'GET', '/os-hypervisors/detail', admin)).json.hypervisors.find((h: { hypervisor_hostname: string }) => h.hypervisor_hostname === 'flaky');
    assert.equal(usage.vcpus_used, 0, 'the failed attempt gave its claim back');

    // Only flaky is left: every attempt fails, and the boot ends in ERROR with its reason.
    for (const host of hosts) await nova(cloud.url, 'PUT', '/os-services/disable', admin, { host, binary: 'nova-compute' });
    await new Promise((r) => setTimeout(r, 1100));
    const doomed = await bootAndSettle('doomed');
    assert.equal(doomed.status, 'ERROR');
    assert.match(doomed.fault.message, /No valid host was found|Exceeded maximum number of retries/);
    for (const host of hosts) await nova(cloud.url, 'PUT', '/os-services/enable', admin, { host, binary: 'nova-compute' });
  });

  it('places a boot held for the hosts once, when the held build and the restart sweep both name it', async () => {
    // The all-in-one's start: builds wait for the KVM probe, then the restart sweep runs too.
    let hostsUp = () => {};
    cloud.cloud.conductor.holdBuildsUntil(new Promise<void>((resolve) => (hostsUp = resolve)));
    const created = await boot(cloud.url, admin, { name: 'held', imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    await new Promise((r) => setTimeout(r, 200));
    hostsUp();
    await cloud.cloud.conductor.recover();
    const server = await waitForServer(cloud.url, admin, created.json.server.id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const events = await nova(cloud.url, 'GET', `/servers/${server.id}/os-instance-actions`, admin);
    const detail = await nova(cloud.url, 'GET', `/servers/${server.id}/os-instance-actions/${events.json.instanceActions[0].request_id}`, admin);
    const events_ = detail.json.instanceAction.events as Array<{ event: string; result: string }>;
    const placements = events_.filter((e) => e.event === 'conductor_schedule_and_build_instances');
    const spawns = events_.filter((e) => e.event === 'compute__do_build_and_run_instance');
    // A host that fails spawns (an earlier test's) may send it round again; never two at once.
    assert.ok(placements.every((e) => e.result === 'Success'), JSON.stringify(events_));
    assert.equal(placements.length, spawns.length, `one placement per spawn: ${JSON.stringify(events_)}`);
  });

  it('does not reschedule a build the driver aborts (Nova\'s BuildAbortException): ERROR with its reason', async () => {
    const reason = "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, image is 2147483648 bytes.";
    class AbortingDriver extends FakeDriver {
      override async spawn(_instance: InstanceSpec): Promise<void> {
        throw new BuildAbortError(reason);
      }
    }
    const db = cloud.cloud.compute.db;
    // The scheduler's first choice (the most free RAM); the other hosts could take the boot.
    const picky = new ComputeAgent(
      { host: 'picky', availabilityZone: 'nova', cpuAllocationRatio: 4, ramAllocationRatio: 1, diskAllocationRatio: 1, reservedHostMemoryMb: 0, heartbeatIntervalSeconds: 10, powerSyncIntervalSeconds: 60 },
      {
        bus: cloud.cloud.bus,
        driver: new AbortingDriver({ vcpus: 64, memoryMb: 2_000_000, localGb: 1000 }),
        control: new ComputeHostClient(cloud.cloud.bus),
        images: cloud.cloud.compute.images,
        log: cloud.cloud.compute.log,
      },
    );
    await picky.start();
    extraAgents.push(picky);
    await new Promise((r) => setTimeout(r, 1100));
    const aborted = await bootAndSettle('aborted');
    assert.equal(aborted.status, 'ERROR');
    assert.equal(aborted.fault.message, `Build of instance ${aborted.id} aborted: ${reason}`);
    const events = await nova(cloud.url, 'GET', `/servers/${aborted.id}/os-instance-actions`, admin);
    const detail = await nova(cloud.url, 'GET', `/servers/${aborted.id}/os-instance-actions/${events.json.instanceActions[0].request_id}`, admin);
    const builds = (detail.json.instanceAction.events as Array<{ event: string; result: string }>).filter((e) => e.event === 'compute__do_build_and_run_instance');
    assert.deepEqual(builds.map((e) => e.result), ['Error'], 'one attempt, not rescheduled');
    const usage = (await nova(cloud.url, 'GET', '/os-hypervisors/detail', admin)).json.hypervisors.find((h: { hypervisor_hostname: string }) => h.hypervisor_hostname === 'picky');
    assert.equal(usage.vcpus_used, 0, 'the aborted build gave its claim back');
    const deleted = await nova(cloud.url, 'DELETE', `/servers/${aborted.id}`, admin);
    assert.equal(deleted.status, 204);
    await waitForServer(cloud.url, admin, aborted.id, ['DELETED']);
  });
});
