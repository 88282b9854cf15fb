// Three hosts on one machine: the network node (the cloud's own agent) and two compute hosts,
// each a namespace with an agent of its own, joined by a "physical" switch. Guests on two
// hosts share VXLAN and VLAN networks; DHCP crosses the tunnel from the network node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NetworkAgent } from '../../src/agents/network/agent.js';
import { LinuxBridgeDataplane } from '../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { createLogger } from '../../src/core/log.js';
import type { TestCloud } from '../helpers/cloud.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';
import { activeImage, boot, waitForServer } from '../services/compute/helpers.js';
import { cloudInLab, NeutronClient, until, type Body } from './helpers/dataplane.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox']);
const log = createLogger('silent');

/** Can this kernel make 802.1Q devices? (Some minimal VM kernels are built without 8021q.) */
async function vlanSupport(lab: NetLab, ns: string): Promise<string | undefined> {
  const probe = await lab.tryRun(['ip', '-n', ns, 'link', 'add', 'link', 'phys0', 'name', 'vlprobe', 'type', 'vlan', 'id', '4000']);
  if (!probe.ok) return `this kernel cannot create 802.1Q devices (CONFIG_VLAN_8021Q): ${probe.out.trim()}`;
  await lab.run(['ip', '-n', ns, 'link', 'del', 'vlprobe']);
  return undefined;
}

describe('linuxbridge dataplane across hosts', { skip }, () => {
  const lab = new NetLab();
  let tc: TestCloud;
  let admin: NeutronClient;
  let token: string;
  const hosts: Record<string, { ns: string; tunnelIp: string; agent?: NetworkAgent }> = {};
  let computeHosts: string[];
  let image: string;

  before(async () => {
    const sw = await lab.namespace('sw');
    await lab.run(['ip', '-n', sw, 'link', 'add', 'sw0', 'type', 'bridge']);
    await lab.run(['ip', '-n', sw, 'link', 'set', 'sw0', 'up']);
    for (const [name, ip] of [['node', '10.250.0.1'], ['c1', '10.250.0.2'], ['c2', '10.250.0.3']] as const) {
      const ns = await lab.namespace(name);
      await lab.run(['ip', '-n', ns, 'link', 'add', 'phys0', 'type', 'veth', 'peer', 'name', `p-${name}`, 'netns', sw]);
      await lab.run(['ip', '-n', sw, 'link', 'set', `p-${name}`, 'master', 'sw0', 'up']);
      await lab.run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'phys0']);
      await lab.run(['ip', '-n', ns, 'link', 'set', 'phys0', 'up']);
      hosts[name] = { ns, tunnelIp: ip };
    }
    tc = await cloudInLab(lab, hosts.node!.ns, { tunnelIp: hosts.node!.tunnelIp, physnets: { physnet1: 'phys0' }, env: { KUMO_FAKE_HOSTS: '2' } });
    computeHosts = tc.cloud.computeAgents.map((a) => a.host);
    for (const [i, name] of (['c1', 'c2'] as const).entries()) {
      const h = hosts[name]!;
      const dataplane = new LinuxBridgeDataplane(
        // Namespace names are global to the machine: each stand-in host needs a prefix of its
        // own, or it would take the others' qdhcp- namespaces for its own orphans.
        { cloudId: lab.cloudId, physicalInterfaceMappings: { physnet1: 'phys0' }, tunnelIp: h.tunnelIp, hostNamespace: h.ns, namespacePrefix: `${lab.prefix}${name}-`, stateDir: `${lab.tempDir()}/${name}` },
        log,
      );
      h.agent = new NetworkAgent(computeHosts[i] as string, tc.cloud.bus, dataplane, log, { tunnelIp: h.tunnelIp });
      await h.agent.start();
    }
    token = await tc.token('admin');
    admin = new NeutronClient(tc, token);
    image = await activeImage(tc.url, token);
  });

  after(async () => {
    for (const h of Object.values(hosts)) await h.agent?.stop();
    await tc?.stop();
    await lab.cleanup();
  });

  /** An instance forced onto compute host i, plugged in as a guest in that host's namespace. */
  async function guestOn(i: 0 | 1, network: Body, name: string): Promise<{ ns: string; ip: string }> {
    const port = await admin.port(network.id as string, { name });
    const created = await boot(tc.url, token, { name, imageRef: image, flavorRef: '42', networks: [{ port: port.id }], availability_zone: `nova:${computeHosts[i]}` });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const server = await waitForServer(tc.url, token, created.json.server.id as string, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const hostNs = (i === 0 ? hosts.c1 : hosts.c2)!.ns;
    const ns = await lab.guest(name, hostNs, { id: port.id as string, macAddress: port.mac_address as string }, network.mtu as number);
    const ip = port.fixed_ips[0].ip_address as string;
    assert.equal(await until(`a lease for ${name}`, async () => (await lab.dhcp(ns).catch(() => '')) || undefined), ip);
    return { ns, ip };
  }

  it('carries a VXLAN network between two hosts: DHCP from the network node, ping across', async () => {
    const [network] = await admin.tenantNetwork('vx', '10.91.1.0/24');
    assert.equal(network['provider:network_type'], 'vxlan');
    const a = await guestOn(0, network, 'vxa');
    const b = await guestOn(1, network, 'vxb');
    assert.ok(await lab.ping(a.ns, b.ip), 'guests on two hosts ping over VXLAN');
    // l2population: each compute host floods only toward hosts with ports on the network.
    const fdb = await lab.run(['bridge', 'fdb', 'show', 'dev', `vxlan-${network['provider:segmentation_id']}`], hosts.c1!.ns);
    assert.match(fdb, /dst 10\.250\.0\.3/);
    assert.match(fdb, /dst 10\.250\.0\.1/);
  });

  it('carries a VLAN provider network between two hosts', async (t) => {
    const unsupported = await vlanSupport(lab, hosts.c1!.ns);
    if (unsupported) {
      t.skip(unsupported);
      return;
    }
    const network = await admin.network({ name: 'vl', 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1234 });
    await admin.subnet(network.id as string, '10.91.2.0/24');
    const a = await guestOn(0, network, 'vla');
    const b = await guestOn(1, network, 'vlb');
    assert.ok(await lab.ping(a.ns, b.ip), 'guests on two hosts ping over VLAN 1234');
  });
});
