import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DhcpState, HostState, NetworkState, PortState, SubnetState } from '../../../src/contracts/network-agent.js';
import { DhcpUnit } from '../../../src/agents/network/dataplane/linuxbridge/dhcp.js';
import { dnsmasqConfig, dnsmasqFiles } from '../../../src/agents/network/dataplane/linuxbridge/dhcp-config.js';
import { L2Unit } from '../../../src/agents/network/dataplane/linuxbridge/l2.js';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { alive } from '../../../src/core/host/daemons.js';
import { createLogger } from '../../../src/core/log.js';
import { NetLab, netlabSkipReason } from '../../helpers/netlab.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'busybox', 'haproxy']);
const log = createLogger('silent');

const NET_A = '20000001-aaaa-4aaa-8aaa-000000000001';
const NET_B = '20000002-aaaa-4aaa-8aaa-000000000002';
const SUB_A = '30000001-cccc-4ccc-8ccc-000000000001';
const SUB_B = '30000002-cccc-4ccc-8ccc-000000000002';
const P = (n: number) => `${String(n).padStart(8, '0')}-dddd-4ddd-8ddd-000000000000`;
const MAC = (n: number) => `fa:16:3e:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;

/** One network's part of a host state: the network, its DHCP port, guest ports, the DHCP entry. */
interface Net {
  id: string;
  subnet: SubnetState;
  dhcpPort: number;
  dhcpIp: string;
  guests: Array<{ port: number; ip: string }>;
}

function net(id: string, subnetId: string, prefix: string, guests: Array<{ port: number; ip: string }>, dhcpPort: number, isolated = false): Net {
  return {
    id,
    subnet: { id: subnetId, cidr: `${prefix}.0/24`, ipVersion: 4, gatewayIp: `${prefix}.1`, dnsNameservers: [], hostRoutes: [], isolated },
    dhcpPort,
    dhcpIp: `${prefix}.2`,
    guests,
  };
}

function port(n: number, networkId: string, subnetId: string, ip: string, deviceOwner = 'compute:nova'): PortState {
  return {
    id: P(n),
    networkId,
    macAddress: MAC(n),
    fixedIps: [{ subnetId, ipAddress: ip }],
    deviceOwner,
    deviceId: '',
    adminStateUp: true,
    portSecurityEnabled: false,
    securityGroupIds: [],
    allowedAddressPairs: [],
  };
}

const hostname = (ip: string) => `host-${ip.replaceAll('.', '-')}`;

function dhcpEntry(n: Net, extraHosts: DhcpState['hosts'] = []): DhcpState {
  return {
    networkId: n.id,
    portMac: MAC(n.dhcpPort),
    portIps: [n.dhcpIp],
    subnets: [n.subnet],
    hosts: [...n.guests.map((g) => ({ macAddress: MAC(g.port), ipAddress: g.ip, hostname: hostname(g.ip) })), ...extraHosts],
  };
}

function state(nets: Net[], generation: number, extraHosts: Record<string, DhcpState['hosts']> = {}): HostState {
  const networks: NetworkState[] = nets.map((n) => ({ id: n.id, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] }));
  const ports = nets.flatMap((n) => [
    port(n.dhcpPort, n.id, n.subnet.id, n.dhcpIp, 'network:dhcp'),
    ...n.guests.map((g) => port(g.port, n.id, n.subnet.id, g.ip)),
  ]);
  return { host: 'h1', generation, networks, ports, dhcp: nets.map((n) => dhcpEntry(n, extraHosts[n.id])), routers: [], securityGroups: [] };
}

describe('linuxbridge DHCP configuration (no root needed)', () => {
  const files = dnsmasqFiles('/var/lib/kumo/dataplane', NET_A);
  const base = dhcpEntry(net(NET_A, SUB_A, '10.9.0', [{ port: 1, ip: '10.9.0.11' }], 100));

  it('renders Neutron-style static DHCP', () => {
    const c = dnsmasqConfig(base, 'ns-00000100-dd', 1450, files);
    assert.ok(c.argv?.includes(`--dhcp-range=set:subnet-${SUB_A},10.9.0.0,static,255.255.255.0,86400s`), JSON.stringify(c.argv));
    assert.ok(c.argv?.includes('--dhcp-option-force=option:mtu,1450'));
    assert.ok(c.argv?.includes('--dhcp-lease-max=256'));
    assert.equal(c.hosts, `${MAC(1)},host-10-9-0-11,10.9.0.11\n`);
    assert.equal(c.opts, `tag:subnet-${SUB_A},option:router,10.9.0.1\n`);
    assert.deepEqual(c.legAddresses, ['10.9.0.2/24']);
    assert.equal(c.isolated, false);
  });

  it('routes metadata through the DHCP port on an isolated subnet, repeating the default route', () => {
    const isolated = { ...base, subnets: [{ ...base.subnets[0]!, isolated: true, dnsNameservers: ['192.0.2.53'] }] };
    const c = dnsmasqConfig(isolated, 'ns-00000100-dd', 1500, files);
    assert.match(c.opts, /option:classless-static-route,169\.254\.169\.254\/32,10\.9\.0\.2,0\.0\.0\.0\/0,10\.9\.0\.1\n/);
    assert.match(c.opts, /option:dns-server,192\.0\.2\.53\n/);
    assert.deepEqual(c.legAddresses, ['10.9.0.2/24', '169.254.169.254/32']);
    // No gateway: an empty router option, so dnsmasq does not offer itself as the router.
    const noGateway = { ...base, subnets: [{ ...base.subnets[0]!, isolated: true, gatewayIp: null }] };
    const opts = dnsmasqConfig(noGateway, 'ns-00000100-dd', 1500, files).opts;
    assert.match(opts, new RegExp(`^tag:subnet-${SUB_A},option:router\\n`, 'm'));
    assert.ok(!opts.includes('0.0.0.0/0'), opts);
  });

  it('refuses malformed MACs, addresses, names and CIDRs', () => {
    const bad: Array<[string, DhcpState]> = [
      ['MAC', { ...base, hosts: [{ macAddress: 'fa:16:3e:00:00', ipAddress: '10.9.0.11', hostname: 'a' }] }],
      ['MAC', { ...base, hosts: [{ macAddress: 'fa:16:3e:00:00:01\n--dhcp-script=/bin/sh', ipAddress: '10.9.0.11', hostname: 'a' }] }],
      ['IP', { ...base, hosts: [{ macAddress: MAC(1), ipAddress: '10.9.0.300', hostname: 'a' }] }],
      ['IP', { ...base, hosts: [{ macAddress: MAC(1), ipAddress: '10.9.0.11,10.9.0.12', hostname: 'a' }] }],
      ['host name', { ...base, hosts: [{ macAddress: MAC(1), ipAddress: '10.9.0.11', hostname: 'a,10.9.0.99' }] }],
      ['MAC', { ...base, portMac: 'nope' }],
      ['IP', { ...base, portIps: ['10.9.0'] }],
      ['CIDR', { ...base, subnets: [{ ...base.subnets[0]!, cidr: '10.9.0.0/33' }] }],
      ['IP', { ...base, subnets: [{ ...base.subnets[0]!, gatewayIp: 'gw' }] }],
      ['subnet id', { ...base, subnets: [{ ...base.subnets[0]!, id: '../x' }] }],
    ];
    for (const [what, entry] of bad) assert.throws(() => dnsmasqConfig(entry, 'ns-00000100-dd', 1500, files), new RegExp(what), JSON.stringify(entry));
    assert.throws(() => dnsmasqFiles('/var/lib/kumo', '../../etc'), /network id/);
  });

  it("tags a port with options of its own and hangs them on that tag (extra_dhcp_opts)", () => {
    const host = { macAddress: MAC(5), ipAddress: '10.9.0.15', hostname: 'host-10-9-0-15', portId: P(5) };
    const options = [
      { name: 'domain-name', value: 'example.org' },
      { name: '252', value: 'http://192.0.2.1/wpad.dat' },
    ];
    const c = dnsmasqConfig({ ...base, hosts: [...base.hosts, { ...host, options }] }, 'ns-00000100-dd', 1500, files);
    assert.ok(c.hosts.includes(`${MAC(5)},host-10-9-0-15,10.9.0.15,set:port-${P(5)}\n`), c.hosts);
    assert.ok(c.hosts.includes(`${MAC(1)},host-10-9-0-11,10.9.0.11\n`), c.hosts);
    assert.ok(c.opts.includes(`tag:port-${P(5)},option:domain-name,example.org\n`), c.opts);
    assert.ok(c.opts.includes(`tag:port-${P(5)},252,http://192.0.2.1/wpad.dat\n`), c.opts);
    // What could start another dnsmasq line or option never reaches the file.
    for (const bad of [{ name: 'domain-name', value: 'a\ndhcp-script=/bin/sh' }, { name: 'x,y', value: 'v' }, { name: '', value: 'v' }]) {
      assert.throws(() => dnsmasqConfig({ ...base, hosts: [{ ...host, options: [bad] }] }, 'ns-00000100-dd', 1500, files), /DHCP option/);
    }
    assert.throws(() => dnsmasqConfig({ ...base, hosts: [{ ...host, portId: '../x', options }] }, 'ns-00000100-dd', 1500, files), /port id/);
  });
});

describe('linuxbridge DHCP', { skip }, () => {
  const lab = new NetLab();
  let h1: string;
  let stateDir: string;
  let dp: LinuxBridgeDataplane;
  const a = net(NET_A, SUB_A, '10.253.0', [{ port: 1, ip: '10.253.0.11' }, { port: 2, ip: '10.253.0.12' }], 100);
  const b = net(NET_B, SUB_B, '10.254.0', [{ port: 4, ip: '10.254.0.14' }], 101);
  const pidOf = (id: string) => Number(readFileSync(dnsmasqFiles(stateDir, id).pid, 'utf8').trim());
  const nsOf = (id: string) => `${lab.prefix}qdhcp-${id}`;
  const make = () =>
    new LinuxBridgeDataplane(
      { cloudId: lab.cloudId, physicalInterfaceMappings: {}, namespacePrefix: lab.prefix, hostNamespace: h1, stateDir, metadataSocket: `${lab.tempDir()}/relay.sock` },
      log,
      [new L2Unit(), new DhcpUnit()],
    );

  before(async () => {
    h1 = await lab.namespace('h1');
    stateDir = `${lab.tempDir()}/h1`;
    dp = make();
  });

  after(async () => {
    await lab.cleanup();
  });

  it('gives two guests exactly their fixed addresses, and they ping each other', async () => {
    const g1 = await lab.guest('g1', h1, { id: P(1), macAddress: MAC(1) }, 1500);
    const g2 = await lab.guest('g2', h1, { id: P(2), macAddress: MAC(2) }, 1500);
    const report = await dp.reconcile(state([a, b], 1));
    assert.ok(report.applied.includes(`dnsmasq ${NET_A} started`), JSON.stringify(report));
    assert.equal(await lab.dhcp(g1), '10.253.0.11');
    assert.equal(await lab.dhcp(g2), '10.253.0.12');
    assert.ok(await lab.ping(g1, '10.253.0.12'));
    const route = await lab.run(['ip', 'route', 'show', 'default'], g1);
    assert.match(route, /default via 10\.253\.0\.1 dev eth0/);
    // The same state again: nothing to do.
    assert.deepEqual(await dp.reconcile(state([a, b], 2)), { applied: [], removed: [] });
  });

  it('adds a host by rewriting the hosts file and a SIGHUP: no dnsmasq restarts', async () => {
    const pidA = pidOf(NET_A);
    const pidB = pidOf(NET_B);
    const g3 = await lab.guest('g3', h1, { id: P(3), macAddress: MAC(3) }, 1500);
    const a3 = { ...a, guests: [...a.guests, { port: 3, ip: '10.253.0.13' }] };
    const report = await dp.reconcile(state([a3, b], 3));
    // (L2 plugs the new guest's tap; DHCP only reloads.)
    assert.deepEqual(report.applied.filter((x) => x.startsWith('dnsmasq')), [`dnsmasq ${NET_A} reloaded`], JSON.stringify(report));
    assert.equal(await lab.dhcp(g3), '10.253.0.13');
    assert.equal(pidOf(NET_A), pidA);
    assert.equal(pidOf(NET_B), pidB);
    assert.ok(alive(pidA) && alive(pidB));
  });

  it('serves metadata on an isolated subnet: a route via the DHCP port, the address on its leg', async () => {
    const g4 = await lab.guest('g4', h1, { id: P(4), macAddress: MAC(4) }, 1500);
    const isolated = { ...b, subnet: { ...b.subnet, isolated: true } };
    const report = await dp.reconcile(state([a, isolated], 4));
    assert.ok(report.applied.includes(`metadata proxy network-${NET_B}`), JSON.stringify(report));
    assert.equal(await lab.dhcp(g4), '10.254.0.14');
    const routes = await lab.run(['ip', 'route', 'show'], g4);
    assert.match(routes, /169\.254\.169\.254 via 10\.254\.0\.2 dev eth0/);
    assert.match(routes, /default via 10\.254\.0\.1 dev eth0/);
    const leg = `ns-${P(101).slice(0, 11)}`;
    assert.match(await lab.run(['ip', '-4', 'addr', 'show', 'dev', leg], nsOf(NET_B)), /169\.254\.169\.254\/32/);
    const haproxyIn = async () => {
      const pids = (await lab.run(['ip', 'netns', 'pids', nsOf(NET_B)])).split('\n').filter(Boolean);
      return pids.filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('haproxy')).length;
    };
    assert.equal(await haproxyIn(), 1);
    assert.deepEqual(await dp.reconcile(state([a, isolated], 5)), { applied: [], removed: [] });
    // A router arrives: the address and the proxy go.
    const routed = await dp.reconcile(state([a, b], 6));
    assert.ok(routed.removed.includes(`metadata proxy network-${NET_B}`), JSON.stringify(routed));
    assert.doesNotMatch(await lab.run(['ip', '-4', 'addr', 'show', 'dev', leg], nsOf(NET_B)), /169\.254/);
    assert.equal(await haproxyIn(), 0);
  });

  it('keeps up with a burst of 200 hosts and back to none, without restarting', async () => {
    const pid = pidOf(NET_A);
    const many = Array.from({ length: 200 }, (_, i) => ({ macAddress: MAC(1000 + i), ipAddress: `10.253.0.${20 + i}`, hostname: `many-${i}` }));
    const hostsPath = dnsmasqFiles(stateDir, NET_A).hosts;
    assert.deepEqual(await dp.reconcile(state([a, b], 7, { [NET_A]: many })), { applied: [`dnsmasq ${NET_A} reloaded`], removed: [] });
    assert.equal(readFileSync(hostsPath, 'utf8').trim().split('\n').length, 202);
    const none = state([a, b], 8);
    none.dhcp[0]!.hosts = [];
    const report = await dp.reconcile(none);
    assert.deepEqual(report, { applied: [`dnsmasq ${NET_A} reloaded`], removed: [] });
    assert.equal(readFileSync(hostsPath, 'utf8'), '');
    assert.equal(pidOf(NET_A), pid);
    await dp.reconcile(state([a, b], 9));
  });

  it('refuses a malformed MAC or address before it reaches dnsmasq', async () => {
    const pid = pidOf(NET_A);
    const hostsPath = dnsmasqFiles(stateDir, NET_A).hosts;
    const before = readFileSync(hostsPath, 'utf8');
    const badMac = state([a, b], 10, { [NET_A]: [{ macAddress: 'fa:16:3e:zz:00:01', ipAddress: '10.253.0.50', hostname: 'bad' }] });
    const refused = (pattern: RegExp) => (err: unknown) => err instanceof AggregateError && err.errors.some((e: unknown) => e instanceof Error && pattern.test(e.message));
    await assert.rejects(dp.reconcile(badMac), refused(/not a valid MAC address/));
    const badIp = state([a, b], 11, { [NET_A]: [{ macAddress: MAC(50), ipAddress: '10.253.0.50\ndhcp-script=/bin/sh', hostname: 'bad' }] });
    await assert.rejects(dp.reconcile(badIp), refused(/not a valid IP address/));
    assert.equal(readFileSync(hostsPath, 'utf8'), before);
    assert.equal(pidOf(NET_A), pid);
    // The other network kept its namespace and dnsmasq.
    assert.ok(alive(pidOf(NET_B)));
  });

  it("hands a port its own DHCP options (extra_dhcp_opts): a real client receives them, its neighbour does not", async () => {
    const g5 = await lab.guest('g5', h1, { id: P(5), macAddress: MAC(5) }, 1500);
    const g6 = await lab.guest('g6', h1, { id: P(6), macAddress: MAC(6) }, 1500);
    const a56 = { ...a, guests: [...a.guests, { port: 5, ip: '10.253.0.15' }, { port: 6, ip: '10.253.0.16' }] };
    const withOptions = state([a56, b], 20);
    const entry = withOptions.dhcp.find((d) => d.networkId === NET_A)!;
    entry.hosts = entry.hosts.map((h) => (h.macAddress === MAC(5) ? { ...h, portId: P(5), options: [{ name: 'domain-name', value: 'kumo-opts.example' }] } : h));
    const report = await dp.reconcile(withOptions);
    // Tagged host lines mean a restart, not a SIGHUP (dnsmasq 2.90 dies reloading them under a lease).
    assert.ok(report.applied.includes(`dnsmasq ${NET_A} restarted`), JSON.stringify(report));
    const files = dnsmasqFiles(stateDir, NET_A);
    assert.match(readFileSync(files.opts, 'utf8'), new RegExp(`^tag:port-${P(5)},option:domain-name,kumo-opts\\.example$`, 'm'));
    assert.match(readFileSync(files.hosts, 'utf8'), new RegExp(`^${MAC(5)},host-10-253-0-15,10\\.253\\.0\\.15,set:port-${P(5)}$`, 'm'));
    const lease5 = await lab.dhcpLease(g5);
    assert.equal(lease5.ip, '10.253.0.15');
    assert.equal(lease5.domain, 'kumo-opts.example');
    const lease6 = await lab.dhcpLease(g6);
    assert.equal(lease6.ip, '10.253.0.16');
    assert.equal(lease6.domain, undefined);
    // Back to the state the next tests start from: the options go, and dnsmasq lives on.
    const back = await dp.reconcile(state([a, b], 21));
    assert.ok(back.applied.includes(`dnsmasq ${NET_A} restarted`), JSON.stringify(back));
    assert.doesNotMatch(readFileSync(files.opts, 'utf8'), /port-/);
    await lab.run(['ip', 'netns', 'del', g5]);
    await lab.run(['ip', 'netns', 'del', g6]);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(alive(pidOf(NET_A)), 'dnsmasq survives');
  });

  it('a restarted agent adopts the running dnsmasq', async () => {
    const pid = pidOf(NET_A);
    const again = make();
    assert.deepEqual(await again.reconcile(state([a, b], 12)), { applied: [], removed: [] });
    assert.equal(pidOf(NET_A), pid);
    assert.ok(alive(pid));
  });

  it('mends a leg deleted by hand, restarting only that dnsmasq', async () => {
    const pidA = pidOf(NET_A);
    const pidB = pidOf(NET_B);
    await lab.run(['ip', 'link', 'del', `ns-${P(100).slice(0, 11)}`], nsOf(NET_A));
    const report = await dp.reconcile(state([a, b], 13));
    assert.ok(report.applied.includes(`dnsmasq ${NET_A} restarted`), JSON.stringify(report));
    assert.ok(!alive(pidA));
    assert.equal(pidOf(NET_B), pidB);
    assert.equal(await lab.dhcp(`${lab.prefix}g1`), '10.253.0.11');
  });

  it('says so when dnsmasq, once it drops to nobody, could not read its files', async () => {
    const h2 = await lab.namespace('h2');
    const hidden = mkdtempSync(join(lab.tempDir(), 'private-')); // 0700
    const other = new LinuxBridgeDataplane({ cloudId: lab.cloudId, physicalInterfaceMappings: {}, namespacePrefix: `${lab.prefix}o-`, hostNamespace: h2, stateDir: `${hidden}/state` }, log, [new L2Unit(), new DhcpUnit()]);
    const err = await other.reconcile(state([b], 1)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AggregateError && /not searchable by others/.test(String(err.errors[0])), String(err));
    await other.teardown();
  });

  it('removes the namespace and dnsmasq of a network no longer served here, and nothing else', async () => {
    const pidA = pidOf(NET_A);
    const pidB = pidOf(NET_B);
    const report = await dp.reconcile(state([b], 14));
    assert.ok(report.removed.includes(`namespace ${nsOf(NET_A)}`), JSON.stringify(report));
    assert.ok(!alive(pidA), 'dnsmasq of the removed network is gone');
    assert.ok(!existsSync(dnsmasqFiles(stateDir, NET_A).dir));
    const namespaces = await lab.run(['ip', 'netns', 'list']);
    assert.ok(!namespaces.includes(nsOf(NET_A)), namespaces);
    assert.ok(!(await lab.run(['ip', 'link', 'show'], h1)).includes(`tap${P(100).slice(0, 11)}`), 'the host side of the leg is gone');
    assert.equal(pidOf(NET_B), pidB);
    assert.deepEqual(await dp.reconcile(state([b], 15)), { applied: [], removed: [] });
  });

  it('teardown removes every DHCP namespace and daemon', async () => {
    const pidB = pidOf(NET_B);
    await dp.teardown();
    assert.ok(!alive(pidB));
    assert.ok(!(await lab.run(['ip', 'netns', 'list'])).includes(`${lab.prefix}qdhcp-`));
  });
});
