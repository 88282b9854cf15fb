import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { HostState, NetworkState, PortState } from '../../../src/contracts/network-agent.js';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { createLogger } from '../../../src/core/log.js';
import { NetLab, netlabSkipReason } from '../../helpers/netlab.js';

const skip = netlabSkipReason(['ip', 'bridge', 'busybox']);
const log = createLogger('silent');

function port(id: string, networkId: string, mac: string): PortState {
  return { id, networkId, macAddress: mac, fixedIps: [], deviceOwner: 'compute:nova', deviceId: '', adminStateUp: true, portSecurityEnabled: false, securityGroupIds: [], allowedAddressPairs: [] };
}

function state(host: string, networks: NetworkState[], ports: PortState[], generation = 1): HostState {
  return { host, generation, networks, ports, dhcp: [], routers: [], securityGroups: [] };
}

const NET_LOCAL = '10000001-aaaa-4aaa-8aaa-000000000001';
const NET_VXLAN = '10000002-aaaa-4aaa-8aaa-000000000002';
const NET_FLAT = '10000003-aaaa-4aaa-8aaa-000000000003';
const P = (n: number) => `${String(n).padStart(8, '0')}-bbbb-4bbb-8bbb-000000000000`;
const MAC = (n: number) => `fa:16:3e:00:00:${n.toString(16).padStart(2, '0')}`;

describe('linuxbridge L2', { skip }, () => {
  const lab = new NetLab();
  let h1: string;
  let h2: string;
  let dp1: LinuxBridgeDataplane;
  let dp2: LinuxBridgeDataplane;

  before(async () => {
    h1 = await lab.namespace('h1');
    h2 = await lab.namespace('h2');
    // The hosts' "physical" link, which carries tunnels and the flat network.
    await lab.run(['ip', '-n', h1, 'link', 'add', 'phys0', 'type', 'veth', 'peer', 'name', 'phys0', 'netns', h2]);
    for (const [ns, ip] of [[h1, '10.250.0.1'], [h2, '10.250.0.2']] as const) {
      await lab.run(['ip', '-n', ns, 'link', 'set', 'phys0', 'up']);
      await lab.run(['ip', '-n', ns, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'phys1']);
      await lab.run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'phys0']);
    }
    await lab.run(['ip', '-n', h2, 'link', 'del', 'uplink']);
    await lab.run(['ip', '-n', h1, 'link', 'del', 'uplink']);
    const common = { cloudId: lab.cloudId, physicalInterfaceMappings: {}, namespacePrefix: lab.prefix };
    dp1 = new LinuxBridgeDataplane({ ...common, hostNamespace: h1, tunnelIp: '10.250.0.1', stateDir: `${lab.tempDir()}/h1` }, log);
    dp2 = new LinuxBridgeDataplane({ ...common, hostNamespace: h2, tunnelIp: '10.250.0.2', stateDir: `${lab.tempDir()}/h2` }, log);
  });

  after(async () => {
    await lab.cleanup();
  });

  it('plugs two guests on a local network into one bridge, and they ping', async () => {
    const net: NetworkState = { id: NET_LOCAL, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] };
    const g1 = await lab.guest('g1', h1, { id: P(1), macAddress: MAC(1) }, 1500);
    const g2 = await lab.guest('g2', h1, { id: P(2), macAddress: MAC(2) }, 1500);
    await lab.run(['ip', '-n', g1, 'addr', 'add', '10.251.0.1/24', 'dev', 'eth0']);
    await lab.run(['ip', '-n', g2, 'addr', 'add', '10.251.0.2/24', 'dev', 'eth0']);
    assert.equal(await lab.ping(g1, '10.251.0.2', 1), false, 'unplugged taps must not carry traffic');
    const report = await dp1.reconcile(state('h1', [net], [port(P(1), NET_LOCAL, MAC(1)), port(P(2), NET_LOCAL, MAC(2))]));
    assert.ok(report.applied.some((a) => a.startsWith('bridge brq10000001-aa')), JSON.stringify(report));
    assert.ok(await lab.ping(g1, '10.251.0.2'));
    // A second pass with the same state changes nothing.
    const again = await dp1.reconcile(state('h1', [net], [port(P(1), NET_LOCAL, MAC(1)), port(P(2), NET_LOCAL, MAC(2))], 2));
    assert.deepEqual(again, { applied: [], removed: [] });
  });

  it('carries a VXLAN network between two hosts with head-end replication', async () => {
    const net = (peer: string): NetworkState => ({ id: NET_VXLAN, networkType: 'vxlan', physicalNetwork: null, segmentationId: 4242, mtu: 1450, peers: [peer] });
    const g3 = await lab.guest('g3', h1, { id: P(3), macAddress: MAC(3) });
    const g4 = await lab.guest('g4', h2, { id: P(4), macAddress: MAC(4) });
    await lab.run(['ip', '-n', g3, 'addr', 'add', '10.252.0.3/24', 'dev', 'eth0']);
    await lab.run(['ip', '-n', g4, 'addr', 'add', '10.252.0.4/24', 'dev', 'eth0']);
    await dp1.reconcile(state('h1', [net('10.250.0.2')], [port(P(3), NET_VXLAN, MAC(3))], 3));
    await dp2.reconcile(state('h2', [net('10.250.0.1')], [port(P(4), NET_VXLAN, MAC(4))], 3));
    assert.ok(await lab.ping(g3, '10.252.0.4'));
    // The local network and its bridge were dropped from h1's state: they are removed.
    const links = await lab.run(['ip', '-j', 'link', 'show'], h1);
    assert.ok(!links.includes('brq10000001-aa'), links);
  });

  it('removes what the state no longer wants, and never what it does not own', async () => {
    await lab.run(['ip', '-n', h1, 'link', 'add', 'brqbystander', 'type', 'veth', 'peer', 'name', 'other0']);
    const report = await dp1.reconcile(state('h1', [], [], 4));
    assert.ok(report.removed.some((r) => r.includes('vxlan-4242')), JSON.stringify(report));
    const links = await lab.run(['ip', '-j', 'link', 'show'], h1);
    assert.ok(links.includes('brqbystander'), 'a veth named like a bridge is not ours');
    assert.ok(!links.includes('vxlan-4242'));
  });

  it('joins a flat network to the mapped interface', async () => {
    const flat: NetworkState = { id: NET_FLAT, networkType: 'flat', physicalNetwork: 'physnet1', segmentationId: null, mtu: 1500, peers: [] };
    const mapped = new LinuxBridgeDataplane({ cloudId: lab.cloudId, physicalInterfaceMappings: { physnet1: 'phys0' }, namespacePrefix: lab.prefix, hostNamespace: h2, stateDir: `${lab.tempDir()}/h2b` }, log);
    await mapped.reconcile(state('h2', [flat], [], 5));
    const link = JSON.parse(await lab.run(['ip', '-j', 'link', 'show', 'phys0'], h2)) as Array<{ master?: string }>;
    assert.equal(link[0]?.master, `brq${NET_FLAT.slice(0, 11)}`);
  });
});
