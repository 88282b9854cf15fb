import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NetworkAgent } from '../../../src/agents/network/agent.js';
import { NoopDataplane } from '../../../src/agents/network/dataplane/noop/noop.js';
import { createLogger } from '../../../src/core/log.js';
import type { HostState } from '../../../src/contracts/network-agent.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('desired dataplane state, from the control plane to each host agent', () => {
  let cloud: TestCloud;
  let admin: string;
  let secondAgent: NetworkAgent;
  let secondDataplane: NoopDataplane;
  const net = (path: string) => `/networking/v2.0${path}`;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    secondDataplane = new NoopDataplane();
    secondAgent = new NetworkAgent('compute-2', cloud.cloud.bus, secondDataplane, createLogger('silent'));
    await secondAgent.start();
  });

  after(async () => {
    await secondAgent?.stop();
    await cloud?.stop();
  });

  it('sends each host its bound ports, networks and security groups, and the network node its DHCP entries', async () => {
    const localHost = cloud.cloud.config.hostName;
    const local = cloud.cloud.networkAgent.dataplane as NoopDataplane;
    const network = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'state-net' } });
    assert.equal(network.status, 201);
    const networkId = network.json.network.id as string;
    const subnet = await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: networkId, cidr: '10.20.0.0/24', ip_version: 4 } });
    assert.equal(subnet.status, 201);
    const portOn = async (host: string) => {
      const port = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: networkId, 'binding:host_id': host } });
      assert.equal(port.status, 201);
      return port.json.port as { id: string; mac_address: string; fixed_ips: Array<{ ip_address: string }>; security_groups: string[] };
    };
    const mine = await portOn(localHost);
    const theirs = await portOn('compute-2');

    // Both ports were made before the wait, but a push may have left between the two creates:
    // wait for a state that has seen the second one (in the DHCP entries).
    const localState = await until('both ports in the local state', () => {
      const s = local.current();
      const seenTheirs = s?.dhcp.some((d) => d.hosts.some((h) => h.macAddress === theirs.mac_address));
      return s?.ports.some((p) => p.id === mine.id) && seenTheirs ? s : undefined;
    });
    assert.ok(!localState.ports.some((p) => p.id === theirs.id), 'a host gets only its own instance ports');
    assert.ok(localState.networks.some((n) => n.id === networkId && n.networkType === 'vxlan' && n.segmentationId !== null));
    const dhcp = localState.dhcp.find((d) => d.networkId === networkId);
    assert.ok(dhcp, 'the network node runs the DHCP server');
    for (const port of [mine, theirs]) {
      assert.ok(dhcp.hosts.some((h) => h.macAddress === port.mac_address && h.ipAddress === port.fixed_ips[0]?.ip_address));
    }
    assert.equal(dhcp.subnets[0]?.isolated, true, 'no router yet: metadata goes through DHCP');
    const group = localState.securityGroups.find((g) => g.id === mine.security_groups[0]);
    assert.ok(group, 'the port security group is part of the state');
    assert.ok(group.memberIps.includes(theirs.fixed_ips[0]?.ip_address as string), 'remote-group members span hosts');

    const remote: HostState = await until('the remote port in the remote state', () => {
      const s = secondDataplane.current();
      return s?.ports.some((p) => p.id === theirs.id) ? s : undefined;
    });
    assert.deepEqual(remote.dhcp, [], 'only the network node runs DHCP');
    assert.ok(!remote.ports.some((p) => p.id === mine.id));

    assert.equal((await api(cloud.url, 'DELETE', net(`/ports/${theirs.id}`), admin)).status, 204);
    await until('the deleted port gone from the remote state', () =>
      secondDataplane.current()?.ports.some((p) => p.id === theirs.id) === false ? true : undefined,
    );
  });

  it('describes a remote group with its members even when no port of this host is in it', async () => {
    const localHost = cloud.cloud.config.hostName;
    const local = cloud.cloud.networkAgent.dataplane as NoopDataplane;
    const network = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'remote-group-net' } });
    const networkId = network.json.network.id as string;
    assert.equal((await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: networkId, cidr: '10.21.0.0/24', ip_version: 4 } })).status, 201);
    const groupNamed = async (name: string) => (await api(cloud.url, 'POST', net('/security-groups'), admin, { security_group: { name } })).json.security_group.id as string;
    const web = await groupNamed('web');
    const admins = await groupNamed('admins');
    const rule = await api(cloud.url, 'POST', net('/security-group-rules'), admin, {
      security_group_rule: { security_group_id: web, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_group_id: admins },
    });
    assert.equal(rule.status, 201);
    const portIn = async (host: string, group: string) =>
      (await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: networkId, 'binding:host_id': host, security_groups: [group] } })).json.port as { id: string; fixed_ips: Array<{ ip_address: string }> };
    const server = await portIn(localHost, web);
    const bastion = await portIn('compute-2', admins);
    const state = await until('the admins group in the local state', () => {
      const s = local.current();
      return s?.ports.some((p) => p.id === server.id) && s.securityGroups.some((g) => g.id === admins && g.memberIps.length > 0) ? s : undefined;
    });
    assert.deepEqual(state.securityGroups.find((g) => g.id === admins)?.memberIps, [bastion.fixed_ips[0]?.ip_address]);
    assert.ok(state.securityGroups.find((g) => g.id === web)?.rules.some((r) => r.remoteGroupId === admins));
  });

  it('gives a restarted agent its whole state at once', async () => {
    const dataplane = new NoopDataplane();
    const agent = new NetworkAgent('compute-2', cloud.cloud.bus, dataplane, createLogger('silent'));
    await secondAgent.stop();
    try {
      await agent.start();
      assert.ok(dataplane.current(), 'the state arrived during start, before any change');
      assert.equal(dataplane.current()?.host, 'compute-2');
    } finally {
      await agent.stop();
      secondAgent = new NetworkAgent('compute-2', cloud.cloud.bus, secondDataplane, createLogger('silent'));
      await secondAgent.start();
    }
  });

  it('ends a burst on the newest rows, even when an earlier push reads slowly', async () => {
    const records = cloud.cloud.network.records;
    const listPorts = records.listPorts.bind(records);
    let slowOnce = true;
    // The first push after the next change reads its rows, then dawdles past the next push.
    records.listPorts = async (...args: Parameters<typeof listPorts>) => {
      const rows = await listPorts(...args);
      if (slowOnce && rows.some((p) => p.name === 'burst-a')) {
        slowOnce = false;
        await new Promise((r) => setTimeout(r, 600));
      }
      return rows;
    };
    try {
      const network = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'burst-net' } });
      const networkId = network.json.network.id as string;
      const port = async (name: string) => {
        const made = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: networkId, name, 'binding:host_id': cloud.cloud.config.hostName } });
        assert.equal(made.status, 201);
        return made.json.port.id as string;
      };
      await port('burst-a');
      await new Promise((r) => setTimeout(r, 200));
      const b = await port('burst-b');
      await new Promise((r) => setTimeout(r, 1500));
      const local = cloud.cloud.networkAgent.dataplane as NoopDataplane;
      assert.ok(local.current()?.ports.some((p) => p.id === b), 'the last port created is in the state the agent kept');
    } finally {
      records.listPorts = listPorts;
    }
  });

  it('skips a state older than the one applied', async () => {
    const dataplane = new NoopDataplane();
    const agent = new NetworkAgent('compute-3', cloud.cloud.bus, dataplane, createLogger('silent'));
    const base: HostState = { host: 'compute-3', generation: 10, networks: [], ports: [], dhcp: [], routers: [], securityGroups: [] };
    await agent.apply(base);
    await agent.apply({ ...base, generation: 5, ports: [{ id: 'stale' } as HostState['ports'][number]] });
    assert.equal(dataplane.current()?.generation, 10);
    assert.equal(dataplane.history.length, 1);
  });

  it('tries a failed pass again by itself, with no push or resync to come', async () => {
    class FailsOnce extends NoopDataplane {
      failures = 1;
      override async reconcile(desired: HostState) {
        if (this.failures-- > 0) throw new Error('a command failed for a moment');
        return super.reconcile(desired);
      }
    }
    const dataplane = new FailsOnce();
    const agent = new NetworkAgent('compute-4', cloud.cloud.bus, dataplane, createLogger('silent'), { reportIntervalMs: 0 });
    try {
      const state: HostState = { host: 'compute-4', generation: 3, networks: [], ports: [], dhcp: [], routers: [], securityGroups: [] };
      await agent.apply(state);
      assert.equal(dataplane.current(), undefined, 'the first pass failed');
      await until('the retried pass', () => (dataplane.current()?.generation === 3 ? true : undefined), 5_000);
      assert.equal(agent.configurations().last_error, null, 'the success clears the error');
    } finally {
      await agent.stop();
    }
  });
});
