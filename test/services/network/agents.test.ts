// Network agents through the API (Neutron's agents extension, admin only) and port binding
// that reads what they report: a segment a host cannot realise is a binding failure, and a
// server asking for it ends in ERROR with Nova's PortBindingFailed fault, never ACTIVE.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NetworkAgent } from '../../../src/agents/network/agent.js';
import type { Dataplane } from '../../../src/agents/network/dataplane/driver.js';
import { NoopDataplane } from '../../../src/agents/network/dataplane/noop/noop.js';
import { createLogger } from '../../../src/core/log.js';
import { whyUnbindable } from '../../../src/services/network/ml2/binding.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from '../compute/helpers.js';

const V2 = '/networking/v2.0';
type Body = Record<string, any>;
const log = createLogger('silent');

/** A dataplane whose every reconcile fails, as one with a broken host would. */
class BrokenDataplane implements Dataplane {
  readonly name = 'broken';
  describe() {
    return { agentType: 'Broken agent', interfaceMappings: {}, networkTypes: ['local'] };
  }
  async reconcile(): Promise<never> {
    throw new Error('physical interface eth9 of physnet9 is missing');
  }
  async teardown(): Promise<void> {}
}

describe('network agents and port binding', () => {
  let tc: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  const extra: NetworkAgent[] = [];

  const neutron = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V2}${path}`, token, body);
  const agents = async (query = '') => (await neutron('GET', `/agents${query}`, admin)).json.agents as Body[];
  const agentOn = async (host: string) => (await agents()).find((a) => a.host === host);

  before(async () => {
    tc = await startTestCloud();
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    image = await activeImage(tc.url, admin);
  });
  after(async () => {
    for (const agent of extra) await agent.stop();
    await tc?.stop();
  });

  it("lists the host's agent for admins, alive, with what it can realise", async () => {
    const listed = await neutron('GET', '/agents', admin);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const agent = (listed.json.agents as Body[]).find((a) => a.host === tc.cloud.config.hostName);
    assert.ok(agent, JSON.stringify(listed.body));
    assert.match(agent.id, /^[0-9a-f-]{36}$/);
    assert.equal(agent.agent_type, 'Noop agent');
    assert.equal(agent.binary, 'kumo-network-agent');
    assert.equal(agent.alive, true);
    assert.equal(agent.admin_state_up, true);
    assert.match(agent.heartbeat_timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.match(agent.started_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    for (const key of ['topic', 'description', 'availability_zone', 'created_at', 'resources_synced']) assert.ok(key in agent, key);
    const config = agent.configurations as Body;
    assert.equal(config.dataplane, 'noop');
    assert.deepEqual(config.network_types, ['local', 'flat', 'vlan', 'vxlan', 'gre']);
    assert.ok('public' in config.interface_mappings, 'the all-in-one maps physnet public');
    assert.equal(config.last_error, null);
    const shown = await neutron('GET', `/agents/${agent.id}`, admin);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.agent.host, agent.host);
    assert.deepEqual((await agents(`?host=${encodeURIComponent(agent.host)}&alive=true`)).map((a) => a.id), [agent.id]);
    assert.deepEqual(await agents('?host=no-such-host'), []);
  });

  it('hides agents from everyone but admins, as Neutron does', async () => {
    const agent = (await agentOn(tc.cloud.config.hostName)) as Body;
    const listed = await neutron('GET', '/agents', demo);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.agents, []);
    for (const [method, body] of [['GET', undefined], ['PUT', { agent: { admin_state_up: false } }], ['DELETE', undefined]] as const) {
      const res = await neutron(method, `/agents/${agent.id}`, demo, body);
      assert.equal(res.status, 404, `${method}: ${JSON.stringify(res.body)}`);
      assert.equal(res.json.NeutronError.type, 'HTTPNotFound');
    }
    assert.equal((await agentOn(tc.cloud.config.hostName))?.admin_state_up, true, 'nothing changed');
    assert.equal((await neutron('POST', '/agents', admin, { agent: { host: 'x' } })).status, 405);
  });

  it('lets an admin set admin_state_up and the description, and nothing else', async () => {
    const agent = (await agentOn(tc.cloud.config.hostName)) as Body;
    const updated = await neutron('PUT', `/agents/${agent.id}`, admin, { agent: { admin_state_up: false, description: 'in maintenance' } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.json.agent.admin_state_up, false);
    assert.equal(updated.json.agent.description, 'in maintenance');
    assert.equal((await agentOn(tc.cloud.config.hostName))?.description, 'in maintenance');
    for (const body of [{ host: 'elsewhere' }, { alive: false }, { configurations: {} }, { bogus: 1 }, { admin_state_up: 'maybe' }]) {
      const refused = await neutron('PUT', `/agents/${agent.id}`, admin, { agent: body });
      assert.equal(refused.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`);
    }
    assert.equal((await neutron('PUT', '/agents/00000000-0000-4000-8000-000000000000', admin, { agent: { description: 'x' } })).json.NeutronError?.type, 'AgentNotFound');
    const restored = await neutron('PUT', `/agents/${agent.id}`, admin, { agent: { admin_state_up: true, description: null } });
    assert.equal(restored.json.agent.admin_state_up, true);
    assert.equal(restored.json.agent.description, null);
  });

  it('shows the last reconcile error of an agent whose host fails', async () => {
    const broken = new NetworkAgent('broken-host', tc.cloud.bus, new BrokenDataplane(), log, { reportIntervalMs: 0 });
    extra.push(broken);
    await broken.start();
    // The failure is reported as soon as it happens, not at the next interval.
    let agent: Body | undefined;
    for (let i = 0; i < 100 && !agent?.configurations.last_error; i++) {
      agent = await agentOn('broken-host');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(agent, 'the agent registered');
    assert.equal(agent.agent_type, 'Broken agent');
    assert.equal(agent.configurations.last_error, 'physical interface eth9 of physnet9 is missing');
    assert.match(agent.configurations.last_error_at, /^\d{4}-/);
  });

  it('forgets a deleted agent until it reports again', async () => {
    const reporter = new NetworkAgent('compute-7', tc.cloud.bus, new NoopDataplane(), log, { reportIntervalMs: 0 });
    extra.push(reporter);
    await reporter.start();
    const before = (await agentOn('compute-7')) as Body;
    assert.equal((await neutron('DELETE', `/agents/${before.id}`, admin)).status, 204);
    assert.equal(await agentOn('compute-7'), undefined);
    assert.equal((await neutron('GET', `/agents/${before.id}`, admin)).status, 404);
    await reporter.report();
    const again = (await agentOn('compute-7')) as Body;
    assert.ok(again, 'registered again');
    assert.notEqual(again.id, before.id);
  });

  it('binds a port only where the segment can be realised', async () => {
    const host = tc.cloud.config.hostName;
    const vlan = await neutron('POST', '/networks', admin, {
      network: { name: 'unmapped-vlan', 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1234 },
    });
    assert.equal(vlan.status, 201, JSON.stringify(vlan.body));
    const port = await neutron('POST', '/ports', admin, { port: { network_id: vlan.json.network.id, 'binding:host_id': host } });
    assert.equal(port.status, 201);
    assert.equal(port.json.port['binding:vif_type'], 'binding_failed', 'physnet1 has no interface on this host');
    assert.equal(port.json.port.status, 'DOWN');
    const state = (tc.cloud.networkAgent.dataplane as NoopDataplane).current();
    assert.ok(!state?.ports.some((p) => p.id === port.json.port.id), 'a failed binding is not sent to the host');

    const tenant = await neutron('POST', '/networks', admin, { network: { name: 'tenant' } });
    const bound = await neutron('POST', '/ports', admin, { port: { network_id: tenant.json.network.id, 'binding:host_id': host } });
    assert.equal(bound.json.port['binding:vif_type'], 'bridge');
    const pub = await neutron('POST', '/networks', admin, { network: { name: 'flat-public', 'provider:network_type': 'flat', 'provider:physical_network': 'public' } });
    const onPublic = await neutron('POST', '/ports', admin, { port: { network_id: pub.json.network.id, 'binding:host_id': host } });
    assert.equal(onPublic.json.port['binding:vif_type'], 'bridge', 'public is mapped in the all-in-one');
  });

  it('refuses hosts whose agent is dead, and segments the agent cannot carry', () => {
    const live = { id: 'a', host: 'h', alive: true, heartbeatAt: null, configurations: { network_types: ['local', 'flat', 'vlan'], interface_mappings: { physnet1: 'eth1' }, tunneling_ip: null } };
    assert.equal(whyUnbindable({ networkType: 'vlan', physicalNetwork: 'physnet1', segmentationId: 5 }, 'h', live), undefined);
    assert.equal(whyUnbindable({ networkType: 'local', physicalNetwork: null, segmentationId: null }, 'h', live), undefined);
    assert.match(whyUnbindable({ networkType: 'flat', physicalNetwork: 'physnet2', segmentationId: null }, 'h', live) ?? '', /physical network physnet2 is not mapped/);
    assert.match(whyUnbindable({ networkType: 'vxlan', physicalNetwork: null, segmentationId: 7 }, 'h', live) ?? '', /no tunnel address for vxlan/);
    assert.match(whyUnbindable({ networkType: 'vxlan', physicalNetwork: null, segmentationId: 7 }, 'h', { ...live, alive: false }) ?? '', /not alive/);
    assert.match(whyUnbindable({ networkType: 'local', physicalNetwork: null, segmentationId: null }, 'h', undefined) ?? '', /no network agent/);
  });

  it('fails the boot of a server on an unrealisable segment with a clear fault, never ACTIVE', async () => {
    const network = await neutron('POST', '/networks', admin, {
      network: { name: 'nowhere', shared: true, 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1500 },
    });
    assert.equal(network.status, 201, JSON.stringify(network.body));
    const networkId = network.json.network.id as string;
    assert.equal((await neutron('POST', '/subnets', admin, { subnet: { network_id: networkId, cidr: '10.77.0.0/24', ip_version: 4 } })).status, 201);
    const created = await boot(tc.url, demo, { name: 'stranded', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    const seen = new Set<string>();
    let server: Body | undefined;
    for (let i = 0; i < 400; i++) {
      server = (await nova(tc.url, 'GET', `/servers/${id}`, demo, undefined, '2.15')).json.server as Body;
      seen.add(server.status);
      if (server.status === 'ERROR') break;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(server?.status, 'ERROR', JSON.stringify(server));
    assert.ok(!seen.has('ACTIVE'), `never ACTIVE (saw ${[...seen].join(', ')})`);
    assert.match(server.fault.message, new RegExp(`^Build of instance ${id} aborted: Binding failed for port [0-9a-f-]{36}, please check neutron logs for more information\\.$`));
    assert.equal(server.fault.code, 500);
    const ports = (await neutron('GET', `/ports?device_id=${id}`, admin)).json.ports as Body[];
    assert.deepEqual(ports, [], 'the port made for it went with the failed build');
    const actions = await nova(tc.url, 'GET', `/servers/${id}/os-instance-actions`, demo);
    assert.equal(actions.status, 200);
  });

  it('refuses to attach an interface on an unrealisable segment with a 409 that says why', async () => {
    const tenant = (await neutron('POST', '/networks', demo, { network: { name: 'ok-net' } })).json.network as Body;
    await neutron('POST', '/subnets', demo, { subnet: { network_id: tenant.id, cidr: '10.78.0.0/24', ip_version: 4 } });
    const created = await boot(tc.url, demo, { name: 'attach-me', imageRef: image, flavorRef: '42', networks: [{ uuid: tenant.id }] });
    const server = await waitForServer(tc.url, demo, created.json.server.id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const nowhere = ((await neutron('GET', '/networks?name=nowhere', admin)).json.networks as Body[])[0] as Body;
    const attach = await nova(tc.url, 'POST', `/servers/${server.id}/os-interface`, demo, { interfaceAttachment: { net_id: nowhere.id } });
    assert.equal(attach.status, 409, JSON.stringify(attach.body));
    assert.match(attach.json.conflictingRequest.message, /Binding failed for port/);
    const ports = (await neutron('GET', `/ports?device_id=${server.id}`, admin)).json.ports as Body[];
    assert.deepEqual(ports.map((p) => p.network_id), [tenant.id], 'the failed port was removed');
  });
});
