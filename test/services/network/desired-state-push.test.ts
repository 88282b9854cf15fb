// Every port change pushes desired state at once to every network agent that has reported
// (issue 15), also to one that asked another control-plane process for its state: in a split
// deployment the conductor makes a boot's ports, and the agent that will plug them may have
// asked the API process. Without the push, DHCP would wait for the agent's periodic resync.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NETWORK_AGENT_TOPIC, type AgentConfigurations, type HostState } from '../../../src/contracts/network-agent.js';
import { recordAgentReport } from '../../../src/services/network/agents.js';
import { forwardChanges } from '../../../src/services/network/desired-state.js';
import { createLogger } from '../../../src/core/log.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

describe('desired state reaches agents that asked another process', () => {
  let cloud: TestCloud;
  before(async () => {
    cloud = await startTestCloud();
  });
  after(() => cloud?.stop());

  it('a port made here is pushed at once to a reported host that never asked this process', async () => {
    const host = 'far-host';
    const received: HostState[] = [];
    const listener = await cloud.cloud.bus.listen(NETWORK_AGENT_TOPIC, host, (method, args) => {
      if (method === 'reconcile') received.push(args as HostState);
    });
    try {
      // Its agent reported (to whichever control-plane process took the report), and asked no one here.
      // It can bind what this cloud's own agent binds: the same configuration.
      const own = await cloud.cloud.network.records.db.selectFrom('network_agent').select('configurations').executeTakeFirstOrThrow();
      const configurations = JSON.parse(own.configurations) as AgentConfigurations;
      await recordAgentReport(cloud.cloud.network, { host, agentType: 'Linux bridge agent', binary: 'kumo-network-agent', starting: true, configurations });
      const admin = await cloud.token('admin');
      const network = await api(cloud.url, 'POST', '/networking/v2.0/networks', admin, { network: { name: 'push-net' } });
      await api(cloud.url, 'POST', '/networking/v2.0/subnets', admin, { subnet: { network_id: network.json.network.id, cidr: '10.77.0.0/24', ip_version: 4 } });
      const port = await api(cloud.url, 'POST', '/networking/v2.0/ports', admin, { port: { network_id: network.json.network.id, 'binding:host_id': host, device_owner: 'compute:nova', device_id: 'a-server' } });
      assert.equal(port.status, 201, JSON.stringify(port.body));
      const deadline = Date.now() + 5000;
      while (!received.some((s) => s.ports.some((p) => p.id === port.json.port.id))) {
        assert.ok(Date.now() < deadline, `no push with the port reached ${host}: ${JSON.stringify(received.map((s) => s.ports.map((p) => p.id)))}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await listener.close();
    }
  });
  it("a change another control-plane process made (the conductor's binding) is pushed by this one when that process says so", async () => {
    const host = 'bound-by-conductor';
    const received: HostState[] = [];
    const listener = await cloud.cloud.bus.listen(NETWORK_AGENT_TOPIC, host, (method, args) => {
      if (method === 'reconcile') received.push(args as HostState);
    });
    try {
      const db = cloud.cloud.network.records.db;
      const own = await db.selectFrom('network_agent').select('configurations').executeTakeFirstOrThrow();
      await recordAgentReport(cloud.cloud.network, { host, agentType: 'Linux bridge agent', binary: 'kumo-network-agent', starting: true, configurations: JSON.parse(own.configurations) as AgentConfigurations });
      const admin = await cloud.token('admin');
      const network = await api(cloud.url, 'POST', '/networking/v2.0/networks', admin, { network: { name: 'conductor-net' } });
      await api(cloud.url, 'POST', '/networking/v2.0/subnets', admin, { subnet: { network_id: network.json.network.id, cidr: '10.78.0.0/24', ip_version: 4 } });
      const port = await api(cloud.url, 'POST', '/networking/v2.0/ports', admin, { port: { network_id: network.json.network.id, device_owner: 'compute:nova', device_id: 'a-server' } });
      assert.equal(port.status, 201, JSON.stringify(port.body));
      // The conductor's process bound it: this process's publisher knows nothing of it...
      await db.updateTable('network_port').set({ binding_host_id: host }).where('id', '=', port.json.port.id).execute();
      // ...until the conductor passes its change on, as control-plane.ts has it do.
      forwardChanges(cloud.cloud.bus, createLogger('silent'))();
      const deadline = Date.now() + 5000;
      while (!received.some((s) => s.ports.some((p) => p.id === port.json.port.id))) {
        assert.ok(Date.now() < deadline, `no push with the conductor's port reached ${host}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      await listener.close();
    }
  });
});
