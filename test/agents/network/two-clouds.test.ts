// Two clouds on one host (one lab namespace standing for it), each with its own cloud id and
// no namespace prefix of a test's: each reconciles, and removes orphans, as if alone, and the
// other's bridges, taps, DHCP and router namespaces, dnsmasq, chains and sets stay, and its
// guest keeps getting DHCP and answering. A VNI both want is refused clearly, never shared.
// Removing one cloud removes exactly what carries its id.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DhcpState, HostState, NetworkState, PortState, RouterState, SecurityGroupState } from '../../../src/contracts/network-agent.js';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { createLogger } from '../../../src/core/log.js';
import { NetLab, netlabSkipReason } from '../../helpers/netlab.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'ipset', 'busybox']);
const log = createLogger('silent');

interface Cloud {
  id: string;
  dp: LinuxBridgeDataplane;
  net: string;
  subnet: string;
  router: string;
  group: string;
  prefix: string;
  guestPort: string;
  dhcpPort: string;
  routerPort: string;
}

const uuid = () => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const mac = () => `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)?.join(':')}`;

function port(id: string, c: Cloud, macAddress: string, ip: string, deviceOwner: string, filtered: boolean): PortState {
  return {
    id,
    networkId: c.net,
    macAddress,
    fixedIps: [{ subnetId: c.subnet, ipAddress: ip }],
    deviceOwner,
    deviceId: '',
    adminStateUp: true,
    portSecurityEnabled: filtered,
    securityGroupIds: filtered ? [c.group] : [],
    allowedAddressPairs: [],
  };
}

describe('two clouds on one host', { skip, timeout: 180_000 }, () => {
  const lab = new NetLab();
  let host: string;
  const macs = new Map<string, string>();
  const macOf = (id: string) => macs.get(id) ?? (macs.set(id, mac()), macs.get(id) as string);
  const clouds: Cloud[] = [];
  const guests: string[] = [];

  const make = (prefix: string): Cloud => {
    const id = randomBytes(3).toString('hex');
    return {
      id,
      // No namespacePrefix: the cloud id alone keeps the clouds apart, as on a real host.
      dp: new LinuxBridgeDataplane({ cloudId: id, physicalInterfaceMappings: {}, hostNamespace: host, tunnelIp: '10.250.9.1', stateDir: `${lab.tempDir()}/${id}` }, log),
      net: uuid(),
      subnet: uuid(),
      router: uuid(),
      group: uuid(),
      prefix,
      guestPort: uuid(),
      dhcpPort: uuid(),
      routerPort: uuid(),
    };
  };

  function state(c: Cloud, generation: number, vni: number | null = null): HostState {
    const network: NetworkState = vni === null
      ? { id: c.net, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1450, peers: [] }
      : { id: c.net, networkType: 'vxlan', physicalNetwork: null, segmentationId: vni, mtu: 1450, peers: [] };
    const subnet = { id: c.subnet, cidr: `${c.prefix}.0/24`, ipVersion: 4 as const, gatewayIp: `${c.prefix}.1`, dnsNameservers: [], hostRoutes: [], isolated: false };
    const dhcp: DhcpState = {
      networkId: c.net,
      portMac: macOf(c.dhcpPort),
      portIps: [`${c.prefix}.2`],
      subnets: [subnet],
      hosts: [{ macAddress: macOf(c.guestPort), ipAddress: `${c.prefix}.10`, hostname: 'guest' }],
    };
    const router: RouterState = {
      id: c.router,
      adminStateUp: true,
      gateway: null,
      interfaces: [{ portId: c.routerPort, portMac: macOf(c.routerPort), subnetId: c.subnet, ipAddress: `${c.prefix}.1`, cidr: `${c.prefix}.0/24` }],
      routes: [],
      floatingIps: [],
    };
    const group: SecurityGroupState = {
      id: c.group,
      stateful: true,
      memberIps: [`${c.prefix}.10`],
      rules: [
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: c.group },
        { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', portRangeMin: null, portRangeMax: null, remoteIpPrefix: '0.0.0.0/0', remoteGroupId: null },
        { direction: 'egress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
      ],
    };
    return {
      host: 'h',
      generation,
      networks: [network],
      ports: [
        port(c.guestPort, c, macOf(c.guestPort), `${c.prefix}.10`, 'compute:nova', true),
        port(c.dhcpPort, c, macOf(c.dhcpPort), `${c.prefix}.2`, 'network:dhcp', false),
        port(c.routerPort, c, macOf(c.routerPort), `${c.prefix}.1`, 'network:router_interface', false),
      ],
      dhcp: [dhcp],
      routers: [router],
      securityGroups: [group],
    };
  }

  /** Everything on the host that carries a cloud's id: marked devices, namespaces, chains, sets. */
  async function objectsOf(cloudId: string): Promise<string[]> {
    const links = JSON.parse(await lab.run(['ip', '-j', 'link', 'show'], host)) as Array<{ ifname: string; ifalias?: string }>;
    const namespaces = JSON.parse((await lab.run(['ip', '-j', 'netns', 'list'])).trim() || '[]') as Array<{ name: string }>;
    const chains = (await lab.run(['iptables-save', '-t', 'filter'], host)).split('\n').filter((l) => l.startsWith(`:kumo-${cloudId}-`));
    const sets = (await lab.run(['ipset', 'list', '-n'], host)).split('\n').filter((l) => l.startsWith(`kumo-${cloudId}-`));
    return [
      ...links.filter((l) => l.ifalias === `kumo:${cloudId}`).map((l) => `link ${l.ifname}`),
      ...namespaces.filter((n) => n.name.startsWith(`kumo-${cloudId}-`)).map((n) => `netns ${n.name}`),
      ...chains.map((c) => `chain ${c.slice(1).split(' ')[0]}`),
      ...sets.map((s) => `set ${s}`),
    ].sort();
  }

  before(async () => {
    host = await lab.namespace('host');
    await lab.run(['ip', '-n', host, 'addr', 'add', '10.250.9.1/32', 'dev', 'lo']);
    clouds.push(make('10.61.1'), make('10.61.2'));
    for (const c of clouds) guests.push(await lab.guest(`g-${c.id}`, host, { id: c.guestPort, macAddress: macOf(c.guestPort) }, 1450));
  });

  after(async () => {
    for (const c of clouds) await c.dp.removeAll().catch(() => undefined);
    // Should a step have failed: the clouds' namespaces are not under the lab's prefix.
    const { out } = await lab.tryRun(['ip', '-j', 'netns', 'list']);
    for (const { name } of (out.trim() ? JSON.parse(out) : []) as Array<{ name: string }>) {
      if (clouds.some((c) => name.startsWith(`kumo-${c.id}-`))) await lab.tryRun(['ip', 'netns', 'del', name]);
    }
    await lab.cleanup();
  });

  it("each reconciles as if alone, and neither removes the other's", async () => {
    const [a, b] = clouds as [Cloud, Cloud];
    await a.dp.reconcile(state(a, 1));
    const aObjects = await objectsOf(a.id);
    assert.ok(aObjects.includes(`netns kumo-${a.id}-qdhcp-${a.net}`) && aObjects.includes(`netns kumo-${a.id}-qrouter-${a.router}`), aObjects.join('\n'));
    assert.ok(aObjects.includes(`link brq${a.net.slice(0, 11)}`) && aObjects.some((o) => o.startsWith(`chain kumo-${a.id}-i`)) && aObjects.some((o) => o.startsWith('set ')), aObjects.join('\n'));
    assert.equal(await lab.dhcp(guests[0] as string), `${a.prefix}.10`);

    const report = await b.dp.reconcile(state(b, 1));
    assert.ok(!report.removed.some((r) => r.includes(a.net.slice(0, 11)) || r.includes(a.router) || r.includes(a.id)), JSON.stringify(report.removed));
    assert.deepEqual(await objectsOf(a.id), aObjects, "B's pass left every one of A's objects");
    assert.equal(await lab.dhcp(guests[1] as string), `${b.prefix}.10`);
    assert.equal(await lab.dhcp(guests[0] as string), `${a.prefix}.10`, "A's dnsmasq still answers");
    assert.ok(await lab.ping(guests[0] as string, `${a.prefix}.1`), "A's guest reaches its router through A's filter");
    assert.ok(await lab.ping(guests[1] as string, `${b.prefix}.1`));

    // Passes over the same states change nothing: the two clouds' FORWARD jumps do not fight.
    for (let generation = 2; generation < 4; generation++) {
      assert.deepEqual(await a.dp.reconcile(state(a, generation)), { applied: [], removed: [] });
      assert.deepEqual(await b.dp.reconcile(state(b, generation)), { applied: [], removed: [] });
    }
    const forward = (await lab.run(['iptables-save', '-t', 'filter'], host)).split('\n').filter((l) => l.startsWith('-A FORWARD'));
    assert.deepEqual(forward.sort(), [`-A FORWARD -j kumo-${a.id}-forward`, `-A FORWARD -j kumo-${b.id}-forward`].sort());
  });

  it("refuses a VNI the other cloud has, saying which setting parts them, and leaves the other's device", async () => {
    const [a, b] = clouds as [Cloud, Cloud];
    await a.dp.reconcile(state(a, 10, 4711));
    await assert.rejects(b.dp.reconcile(state(b, 10, 4711)), (error: AggregateError) => {
      const text = error.errors.map((e: Error) => e.message).join('\n');
      assert.match(text, /VXLAN VNI 4711 is another cloud's on this host .*KUMO_NETWORK_VNI_RANGES/);
      return true;
    });
    const vxlan = JSON.parse(await lab.run(['ip', '-j', 'link', 'show', 'vxlan-4711'], host)) as Array<{ master?: string; ifalias?: string }>;
    assert.equal(vxlan[0]?.master, `brq${a.net.slice(0, 11)}`, "still on A's bridge");
    assert.equal(vxlan[0]?.ifalias, `kumo:${a.id}`);
    await a.dp.reconcile(state(a, 11));
    await b.dp.reconcile(state(b, 11));
  });

  it("removing one cloud removes what carries its id and nothing of the other's", async () => {
    const [a, b] = clouds as [Cloud, Cloud];
    await lab.run(['ip', '-n', host, 'link', 'add', 'brqbystander', 'type', 'bridge']);
    const aObjects = await objectsOf(a.id);
    const removed = await b.dp.removeAll();
    assert.ok(removed.length > 0);
    assert.deepEqual(await objectsOf(b.id), [], 'nothing of B is left');
    assert.deepEqual(await objectsOf(a.id), aObjects);
    assert.equal(await lab.dhcp(guests[0] as string), `${a.prefix}.10`);
    assert.ok(await lab.ping(guests[0] as string, `${a.prefix}.1`));
    await a.dp.removeAll();
    assert.deepEqual(await objectsOf(a.id), []);
    const left = await lab.run(['ip', '-j', 'link', 'show'], host);
    assert.ok(left.includes('brqbystander'), 'an unmarked bridge named like ours is not ours');
    const forward = (await lab.run(['iptables-save', '-t', 'filter'], host)).split('\n').filter((l) => l.startsWith('-A FORWARD') || l.startsWith('-A INPUT'));
    assert.deepEqual(forward, []);
    assert.deepEqual(await a.dp.removeAll(), [], 'a second removal finds nothing');
  });
});
