// The all-in-one's own external network, with no flags: the tunnel address comes from the
// default route, DevStack's public/private/router1 are made on the first start, public's
// gateway sits on a host bridge Kumo owns (DevStack's br-ex), so the host pings a floating IP,
// and a named uplink lets guests out (NATed). A lab namespace stands in for the host, with a
// default route via a veth to an "upstream" namespace; nothing touches the real host.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandRunner } from '../../src/core/host/commands.js';
import { bridgeName } from '../../src/contracts/host-devices.js';
import { freeRange, pickTunnelIp } from '../../src/agents/network/host-network.js';
import { networkBannerLines } from '../../src/cli/network-banner.js';
import type { TestCloud } from '../helpers/cloud.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';
import { activeImage, boot, waitForServer } from '../services/compute/helpers.js';
import { cloudInLab, NeutronClient, until, type Body } from './helpers/dataplane.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox', 'sysctl']);

describe("the all-in-one's public network on a host bridge of its own", { skip }, () => {
  const lab = new NetLab();
  let node: string;
  let upstream: string;
  let dataDir: string;
  let tunnel: { ip: string; reason: string };
  let tc: TestCloud;
  let demo: NeutronClient;
  let admin: NeutronClient;
  let floatingIp: Body;

  const links = async (ns: string) => JSON.parse(await lab.run(['ip', '-j', '-d', 'link', 'show'], ns)) as Array<{ ifname: string; master?: string }>;
  const addressesOf = async (ns: string, dev: string) => {
    const r = await lab.tryRun(['ip', '-j', '-4', 'addr', 'show', 'dev', dev], ns);
    if (!r.ok) return undefined;
    return (JSON.parse(r.out) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>).flatMap((x) => x.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
  };
  const start = async () => {
    tc = await cloudInLab(lab, node, { tunnelIp: tunnel.ip, defaultNetworks: true, dataDir, publicInterface: 'up0' });
    admin = new NeutronClient(tc, await tc.token('admin'));
    demo = new NeutronClient(tc, await tc.token('demo'));
  };

  before(async () => {
    ({ host: node, upstream } = await lab.hostWithDefaultRoute('node', 'up0', '10.251.0'));
    tunnel = await pickTunnelIp(new CommandRunner({ hostNamespace: node }));
    dataDir = mkdtempSync(join(tmpdir(), 'kumo-public-'));
    await start();
  });

  after(async () => {
    await tc?.stop();
    await lab.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("takes the default route's interface address as the tunnel address, and loopback without a default route", async () => {
    assert.equal(tunnel.ip, '10.251.0.2');
    assert.match(tunnel.reason, /up0/);
    const lonely = await pickTunnelIp(new CommandRunner({ hostNamespace: upstream }));
    assert.equal(lonely.ip, '127.0.0.1');
    assert.match(lonely.reason, /no default route/);
  });

  it("puts public's gateway on the host bridge; the host pings a floating IP and the guest reaches the uplink", async () => {
    const bridge = tc.cloud.publicBridge?.bridge as string;
    assert.match(bridge, /^brex-[0-9a-f]{6}$/);
    await until('172.24.4.1 on the host bridge', async () => (await addressesOf(node, bridge))?.includes('172.24.4.1/24'));
    const [pub] = (await admin.call('GET', '/networks?name=public')) as unknown as Body[];
    const networkSide = tc.cloud.publicBridge?.networkSide as string;
    await until('the veth on public\'s bridge', async () => (await links(node)).find((l) => l.ifname === networkSide)?.master === bridgeName(pub?.id as string));

    // A guest on private, as demo boots it (the fake driver binds, the lab plays the guest).
    const [priv] = (await demo.call('GET', '/networks?name=private')) as unknown as Body[];
    const port = await demo.port(priv?.id as string);
    const image = await activeImage(tc.url, await tc.token('admin'));
    const created = await boot(tc.url, await tc.token('demo'), { name: 'vm1', imageRef: image, flavorRef: '42', networks: [{ port: port.id }] });
    const server = await waitForServer(tc.url, await tc.token('demo'), created.json.server.id as string, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const guest = await lab.guest('vm1', node, { id: port.id as string, macAddress: port.mac_address as string });
    const leased = await until('a lease from private', async () => (await lab.dhcp(guest).catch(() => '')) || undefined);
    assert.match(leased, /^10\.0\.0\.\d+$/);

    floatingIp = await demo.call('POST', '/floatingips', { floatingip: { floating_network_id: pub?.id, port_id: port.id } });
    assert.match(floatingIp.floating_ip_address, /^172\.24\.4\.\d+$/);
    assert.ok(await until('the host pings the floating IP', () => lab.ping(node, floatingIp.floating_ip_address as string, 1)));
    // The upstream namespace has no route to 172.24.4.0/24: only the host's NAT gets replies back.
    assert.ok(await until('the guest reaches the upstream address', () => lab.ping(guest, '10.251.0.1', 1)));
    const nat = await lab.run(['iptables', '-w', '-t', 'nat', '-S'], node);
    assert.match(nat, new RegExp(`-A kumo-pub-[0-9a-f]{6} -s 172\\.24\\.4\\.0/24 -o up0 -j MASQUERADE`));
    assert.match(await lab.run(['sysctl', '-n', 'net.ipv4.ip_forward'], node), /^1/);

    const agent = ((await admin.call('GET', `/agents?host=${encodeURIComponent(tc.cloud.config.hostName)}`)) as unknown as Body[])[0] as Body;
    assert.equal(agent.alive, true);
    assert.equal(agent.agent_type, 'Linux bridge agent');
    assert.equal(agent.configurations.tunneling_ip, '10.251.0.2');
    assert.equal(agent.configurations.interface_mappings.public, networkSide);
    assert.deepEqual(agent.configurations.public_bridge, { physical_network: 'public', bridge, uplink: 'up0' });
    assert.equal(agent.configurations.last_error, null);
  });

  it('chooses the next free /24 when 172.24.4.1 is taken on the host', async () => {
    const other = await lab.namespace('other');
    await lab.run(['ip', '-n', other, 'link', 'add', 'brex-other', 'type', 'bridge']);
    await lab.run(['ip', '-n', other, 'addr', 'add', '172.24.4.1/24', 'dev', 'brex-other']);
    await lab.run(['ip', '-n', other, 'addr', 'add', '172.24.5.1/24', 'dev', 'brex-other']);
    const chosen = await freeRange(new CommandRunner({ hostNamespace: other }), '172.24.4.0/24');
    assert.equal(chosen.cidr, '172.24.6.0/24');
    assert.match(chosen.note ?? '', /172\.24\.4\.0\/24 is in use on this host \(172\.24\.4\.1 on brex-other/);
    assert.deepEqual(await freeRange(new CommandRunner({ hostNamespace: upstream }), '172.24.4.0/24'), { cidr: '172.24.4.0/24' });
  });

  it('leaves a gateway another interface holds off its bridge on restart, and says so', async () => {
    const bridge = tc.cloud.publicBridge?.bridge as string;
    await tc.stop();
    // As if `kumo down` had taken the bridge and another cloud had taken the address since.
    await lab.run(['ip', '-n', node, 'link', 'del', bridge]);
    await lab.run(['ip', '-n', node, 'link', 'add', 'holder0', 'type', 'bridge']);
    await lab.run(['ip', '-n', node, 'addr', 'add', '172.24.4.1/24', 'dev', 'holder0']);
    await start();
    assert.equal(tc.cloud.defaultNetworks.state, 'present');
    const agentOf = async () => ((await admin.call('GET', `/agents?host=${encodeURIComponent(tc.cloud.config.hostName)}`)) as unknown as Body[])[0] as Body;
    const warned = await until('the warning in the agent list', async () => {
      const agent = await agentOf();
      return (agent.configurations.warnings as string[]).find((w) => w.includes('172.24.4.1/24 is already on holder0'));
    });
    assert.match(warned, new RegExp(`left off ${bridge}`));
    assert.deepEqual(await addressesOf(node, bridge), [], 'the bridge is back, without the address');
    const banner = (await networkBannerLines(tc.cloud, undefined)).join('\n');
    assert.match(banner, /172\.24\.4\.1 is already on holder0 \(another cloud\?\), so it stays off this cloud's bridge/);

    await lab.run(['ip', '-n', node, 'link', 'del', 'holder0']);
    await tc.cloud.networkAgent.resync();
    await until('the address back on the bridge', async () => (await addressesOf(node, bridge))?.includes('172.24.4.1/24'));
    await until('the warning cleared', async () => (await agentOf()).configurations.warnings.length === 0);
  });

  it('removes the bridge, its veth and its chains once nothing on public is left here', async () => {
    const { bridge, bridgeSide, natChain, forwardChain, zoneChain } = tc.cloud.publicBridge as NonNullable<TestCloud['cloud']['publicBridge']>;
    const [router] = (await demo.call('GET', '/routers?name=router1')) as unknown as Body[];
    await demo.call('DELETE', `/floatingips/${floatingIp.id}`);
    await demo.call('PUT', `/routers/${router?.id}`, { router: { external_gateway_info: {} } }, 200);
    await until('the bridge gone', async () => !(await links(node)).some((l) => l.ifname === bridge || l.ifname === bridgeSide));
    for (const [table, chain] of [['nat', natChain], ['filter', forwardChain], ['raw', zoneChain]] as const) {
      await until(`${table} chain ${chain} gone`, async () => !(await lab.run(['iptables', '-w', '-t', table, '-S'], node)).includes(chain));
    }
  });
});
