import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { HostState, NetworkState, PortState, SecurityGroupState } from '../../../src/contracts/network-agent.js';
import { CommandRunner } from '../../../src/core/host/commands.js';
import { FirewallUnit } from '../../../src/agents/network/dataplane/linuxbridge/firewall.js';
import { FirewallInputError } from '../../../src/agents/network/dataplane/linuxbridge/firewall-input.js';
import { L2Unit } from '../../../src/agents/network/dataplane/linuxbridge/l2.js';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { MetadataProxies } from '../../../src/agents/network/dataplane/linuxbridge/metadata-proxy.js';
import { Namespaces } from '../../../src/agents/network/dataplane/linuxbridge/names.js';
import type { ReconcileContext } from '../../../src/agents/network/dataplane/linuxbridge/unit.js';
import { createLogger } from '../../../src/core/log.js';
import { NetLab, netlabSkipReason } from '../../helpers/netlab.js';

const skip = netlabSkipReason(['ip', 'bridge', 'busybox', 'iptables-restore', 'ip6tables-restore', 'ipset']);
const log = createLogger('silent');

const NET = '20000001-aaaa-4aaa-8aaa-000000000001';
const SUBNET = '20000002-aaaa-4aaa-8aaa-000000000002';
const P = (n: number) => `${String(n).padStart(8, '0')}-cccc-4ccc-8ccc-000000000000`;
const MAC = (n: number) => `fa:16:3e:00:01:${n.toString(16).padStart(2, '0')}`;
const IP = (n: number) => `10.70.0.${n}`;
const IP6 = (n: number) => `fd00:70::${n}`;
const G = (n: number) => `${String(n).padStart(8, '0')}-dddd-4ddd-8ddd-000000000000`;

type Rule = SecurityGroupState['rules'][number];
const rule = (direction: Rule['direction'], fields: Partial<Rule> = {}): Rule => ({
  direction,
  ethertype: 'IPv4',
  protocol: null,
  portRangeMin: null,
  portRangeMax: null,
  remoteIpPrefix: null,
  remoteGroupId: null,
  ...fields,
});
const group = (id: string, rules: Rule[], memberIps: string[] = []): SecurityGroupState => ({ id, stateful: true, rules, memberIps });

/** Egress anywhere, as Neutron's default group; nothing in. */
const EGRESS = G(1);
const egressOnly = group(EGRESS, [rule('egress'), rule('egress', { ethertype: 'IPv6' })]);
const WEB = G(2);
const web = group(WEB, [rule('ingress', { protocol: 'tcp', portRangeMin: 80, portRangeMax: 80, remoteIpPrefix: '0.0.0.0/0' })]);
const PING = G(3);
const ping = group(PING, [rule('ingress', { protocol: 'icmp' }), rule('ingress', { ethertype: 'IPv6', protocol: 'icmp' })]);
/** The remote group, and a group letting its members ping. */
const MEMBERS = G(4);
const FROM_MEMBERS = G(5);
const fromMembers = group(FROM_MEMBERS, [rule('ingress', { protocol: 'icmp', remoteGroupId: MEMBERS })]);

const net: NetworkState = { id: NET, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] };

function port(n: number, groups: string[], extra: Partial<PortState> = {}): PortState {
  return {
    id: P(n),
    networkId: NET,
    macAddress: MAC(n),
    fixedIps: [{ subnetId: SUBNET, ipAddress: IP(n) }, { subnetId: SUBNET, ipAddress: IP6(n) }],
    deviceOwner: 'compute:nova',
    deviceId: '',
    adminStateUp: true,
    portSecurityEnabled: true,
    securityGroupIds: groups,
    allowedAddressPairs: [],
    ...extra,
  };
}

let generation = 0;
function state(ports: PortState[], securityGroups: SecurityGroupState[]): HostState {
  generation += 1;
  return { host: 'h', generation, networks: [net], ports, dhcp: [], routers: [], securityGroups };
}

describe('linuxbridge firewall (security groups in iptables)', { skip }, () => {
  const lab = new NetLab();
  let h: string;
  let dp: LinuxBridgeDataplane;
  let a: string;
  let b: string;
  let c: string;
  let httpd: ChildProcess | undefined;

  const save = async (tool = 'iptables-save') => lab.run([tool, '-t', 'filter'], h);
  const chainOf = (kind: 'i' | 'o' | 's', n: number) => `kumo-${lab.cloudId}-${kind}${P(n).slice(0, 11)}`;
  const forwardChain = () => `kumo-${lab.cloudId}-forward`;
  /** Packets the last rule (the DROP) of one of our chains has counted. */
  const dropped = async (tool: 'iptables' | 'ip6tables', chain: string) => {
    const last = (await lab.run([tool, '-v', '-S', chain], h)).trim().split('\n').at(-1) ?? '';
    const match = / -c (\d+) \d+ -j DROP$/.exec(last);
    assert.ok(match, last);
    return Number(match[1]);
  };
  const canWget = async (from: string, to: string) => {
    const r = await lab.tryRun(['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', `http://${to}/`], from);
    return r.ok && r.out.includes('hello');
  };

  before(async () => {
    h = await lab.namespace('h');
    a = await lab.guest('a', h, { id: P(1), macAddress: MAC(1) }, 1500);
    b = await lab.guest('b', h, { id: P(2), macAddress: MAC(2) }, 1500);
    c = await lab.guest('c', h, { id: P(3), macAddress: MAC(3) }, 1500);
    for (const [ns, n] of [[a, 1], [b, 2], [c, 3]] as const) {
      await lab.run(['ip', 'addr', 'add', `${IP(n)}/24`, 'dev', 'eth0'], ns);
      await lab.run(['ip', 'addr', 'add', `${IP6(n)}/64`, 'dev', 'eth0', 'nodad'], ns);
    }
    const root = `${lab.tempDir()}/www`;
    mkdirSync(root, { recursive: true });
    writeFileSync(`${root}/index.html`, 'hello\n');
    httpd = spawn('ip', ['netns', 'exec', a, 'busybox', 'httpd', '-f', '-p', '80', '-h', root], { stdio: 'ignore' });
    dp = new LinuxBridgeDataplane({ cloudId: lab.cloudId, physicalInterfaceMappings: {}, hostNamespace: h, namespacePrefix: lab.prefix, stateDir: `${lab.tempDir()}/h` }, log, [new L2Unit(), new FirewallUnit()]);
  });

  /** What the driver hands a unit, built by hand to run the firewall alone. */
  const unitContext = (run: CommandRunner, desired: HostState): ReconcileContext => ({
    desired,
    run,
    namespaces: new Namespaces(lab.prefix),
    config: { cloudId: lab.cloudId, physicalInterfaceMappings: {}, hostNamespace: h, stateDir: lab.tempDir() },
    links: new Map(),
    existingNamespaces: new Set(),
    proxies: new MetadataProxies(run, lab.tempDir(), undefined),
    report: { applied: [], removed: [] },
    log,
  });

  after(async () => {
    httpd?.kill('SIGKILL');
    await lab.cleanup();
  });

  it('lets nothing in without an ingress rule, then exactly what a rule allows', async () => {
    const report = await dp.reconcile(state([port(1, [EGRESS]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly]));
    assert.ok(report.applied.includes(`iptables chain ${chainOf('i', 1)}`), JSON.stringify(report));
    const forward = (await save()).split('\n').filter((l) => l.startsWith('-A FORWARD'));
    assert.deepEqual(forward, [`-A FORWARD -j ${forwardChain()}`]);
    assert.ok((await save()).includes(`-A kumo-${lab.cloudId}-input -m physdev --physdev-in tap${P(1).slice(0, 11)} -j ${chainOf('o', 1)}`));
    assert.equal(await canWget(b, IP(1)), false, 'TCP to a guest without ingress rules');
    assert.equal(await lab.ping(b, IP(1), 1), false, 'ping to a guest without ingress rules');

    await dp.reconcile(state([port(1, [EGRESS, WEB]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly, web]));
    assert.equal(await canWget(b, IP(1)), true, 'tcp 80 is allowed now');
    assert.equal(await lab.ping(b, IP(1), 1), false, 'ping still is not');
  });

  it('allows ICMP from the members of a remote group only, and follows membership', async () => {
    const members = (ips: string[]) => group(MEMBERS, [], ips);
    await dp.reconcile(state([port(1, [EGRESS, FROM_MEMBERS]), port(2, [EGRESS, MEMBERS]), port(3, [EGRESS])], [egressOnly, fromMembers, members([IP(2), IP6(2)])]));
    const setName = `kumo-${lab.cloudId}-4-${MEMBERS.slice(0, 16)}`;
    assert.ok((await lab.run(['ipset', 'list', setName], h)).includes(IP(2)));
    assert.equal((await lab.tryRun(['ipset', 'list', '-n'])).out.includes(setName), false, 'the set lives in the host namespace, not on the machine');
    assert.equal(await lab.ping(b, IP(1), 1), true, 'a member pings');
    assert.equal(await lab.ping(c, IP(1), 1), false, 'a non-member cannot');

    const report = await dp.reconcile(state([port(1, [EGRESS, FROM_MEMBERS]), port(2, [EGRESS]), port(3, [EGRESS, MEMBERS])], [egressOnly, fromMembers, members([IP(3)])]));
    assert.ok(report.applied.includes(`ipset ${setName}`), JSON.stringify(report));
    assert.ok(!report.applied.includes(`iptables chain ${chainOf('i', 1)}`), 'only the set changed for the ingress chain');
    const listed = await lab.run(['ipset', 'list', setName], h);
    assert.ok(listed.includes(IP(3)) && !listed.includes(IP(2)), listed);
    assert.equal(await lab.ping(c, IP(1), 1), true, 'the new member pings');
    assert.equal(await lab.ping(b, IP(1), 1), false, 'the old member no longer');
  });

  it('stops a guest sending from an address that is not its own, unless an address pair allows it', async () => {
    await dp.reconcile(state([port(1, [EGRESS, PING]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly, ping]));
    // The host's own address on the bridge: what a guest sends it passes the guest's egress chain too.
    await lab.run(['ip', 'addr', 'add', `${IP(254)}/24`, 'dev', `brq${NET.slice(0, 11)}`], h);
    assert.equal(await lab.ping(c, IP(1), 1), true);
    assert.equal(await lab.ping(c, IP(254), 1), true, 'the host answers the guest');
    await lab.run(['ip', 'addr', 'flush', 'dev', 'eth0'], c);
    await lab.run(['ip', 'addr', 'add', '10.70.0.99/24', 'dev', 'eth0'], c);
    try {
      const before = await dropped('iptables', chainOf('s', 3));
      assert.equal(await lab.ping(c, IP(1), 1), false, 'a spoofed source is dropped');
      assert.ok((await dropped('iptables', chainOf('s', 3))) > before, 'by the anti-spoofing chain');
      const toGuests = await dropped('iptables', chainOf('s', 3));
      assert.equal(await lab.ping(c, IP(254), 1), false, 'nor does a spoofed source reach the host');
      assert.ok((await dropped('iptables', chainOf('s', 3))) > toGuests, 'the host is guarded by the same chain (INPUT)');
      await dp.reconcile(state([port(1, [EGRESS, PING]), port(2, [EGRESS]), port(3, [EGRESS], { allowedAddressPairs: [{ ipAddress: '10.70.0.96/29', macAddress: '' }] })], [egressOnly, ping]));
      assert.equal(await lab.ping(c, IP(1), 1), true, 'an allowed address pair may send');
    } finally {
      await lab.run(['ip', 'addr', 'flush', 'dev', 'eth0'], c);
      await lab.run(['ip', 'addr', 'add', `${IP(3)}/24`, 'dev', 'eth0'], c);
      await lab.run(['ip', 'addr', 'add', `${IP6(3)}/64`, 'dev', 'eth0', 'nodad'], c);
    }
  });

  it('filters IPv6 as well: ICMPv6 only with a rule, neighbour discovery always, no spoofing', async () => {
    await dp.reconcile(state([port(1, [EGRESS]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly]));
    const ping6 = async (from: string, to: string) => (await lab.tryRun(['busybox', 'ping', '-6', '-c', '1', '-W', '2', to], from)).ok;
    assert.equal(await ping6(b, IP6(1)), false, 'no IPv6 ingress rule');
    await dp.reconcile(state([port(1, [EGRESS, PING]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly, ping]));
    assert.equal(await ping6(b, IP6(1)), true, 'IPv6 ICMP allowed (neighbour discovery passes)');
    await lab.run(['ip', 'addr', 'add', `${IP6(99)}/64`, 'dev', 'eth0', 'nodad'], b);
    try {
      const before = await dropped('ip6tables', chainOf('s', 2));
      const spoofed = await lab.tryRun(['busybox', 'ping', '-6', '-c', '1', '-W', '2', '-I', IP6(99), IP6(1)], b);
      assert.equal(spoofed.ok, false, 'a spoofed IPv6 source is dropped');
      assert.ok((await dropped('ip6tables', chainOf('s', 2))) > before, 'by the anti-spoofing chain');
    } finally {
      await lab.run(['ip', 'addr', 'del', `${IP6(99)}/64`, 'dev', 'eth0'], b);
    }
  });

  it('does not filter ports with port security off', async () => {
    await dp.reconcile(state([port(1, [EGRESS], { portSecurityEnabled: false }), port(2, [EGRESS], { portSecurityEnabled: false }), port(3, [EGRESS])], [egressOnly]));
    assert.equal(await lab.ping(b, IP(1), 1), true);
    const saved = await save();
    assert.ok(!saved.includes(chainOf('i', 1)) && !saved.includes(chainOf('o', 2)), 'no chains for unfiltered ports');
    assert.ok(saved.includes(chainOf('i', 3)));
    assert.equal(await lab.ping(b, IP(3), 1), false, 'the filtered port still is');
  });

  it('mends a rule deleted by hand and a lost FORWARD jump, and leaves others\' rules alone', async () => {
    const wanted = () => state([port(1, [EGRESS, WEB]), port(2, [EGRESS]), port(3, [EGRESS])], [egressOnly, web]);
    await dp.reconcile(wanted());
    await lab.run(['iptables', '-N', 'bystander'], h);
    await lab.run(['iptables', '-A', 'bystander', '-s', '192.0.2.1/32', '-j', 'DROP'], h);
    await lab.run(['iptables', '-A', 'FORWARD', '-j', 'bystander'], h);
    await lab.run(['iptables', '-D', chainOf('i', 1), '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'RETURN'], h);
    await lab.run(['iptables', '-D', 'FORWARD', '-j', forwardChain()], h);
    await lab.run(['iptables', '-A', 'FORWARD', '-j', forwardChain()], h);
    await lab.run(['iptables', '-A', 'FORWARD', '-j', forwardChain()], h);
    assert.equal(await canWget(b, IP(1)), false, 'the rule is gone');

    const report = await dp.reconcile(wanted());
    assert.deepEqual(report.applied.sort(), [`iptables FORWARD -j ${forwardChain()}`, `iptables chain ${chainOf('i', 1)}`].sort(), JSON.stringify(report));
    assert.equal(await canWget(b, IP(1)), true, 'the rule is back');
    const lines = (await save()).split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith('-A FORWARD')), [`-A FORWARD -j ${forwardChain()}`, '-A FORWARD -j bystander']);
    assert.ok(lines.includes('-A bystander -s 192.0.2.1/32 -j DROP'));

    // The same state again: nothing to do, and the firewall only read (ipset, iptables, ip6tables).
    const run = new CommandRunner({ hostNamespace: h });
    const ctx = unitContext(run, wanted());
    await new FirewallUnit().reconcile(ctx);
    assert.deepEqual(ctx.report, { applied: [], removed: [] });
    assert.equal(run.count, 3);
    assert.deepEqual(await dp.reconcile(wanted()), { applied: [], removed: [] });
  });

  it('writes every kind of rule exactly as iptables-save reads it back', async () => {
    const many = group(G(6), [
      rule('ingress', { protocol: 'tcp', portRangeMin: 1000, portRangeMax: 2000, remoteIpPrefix: '10.0.0.7/8' }),
      rule('ingress', { protocol: 'udp', portRangeMin: 53, portRangeMax: 53 }),
      rule('ingress', { protocol: '6', portRangeMin: 1, portRangeMax: 65535 }),
      rule('ingress', { protocol: 'sctp', portRangeMin: 5, portRangeMax: 6 }),
      rule('ingress', { protocol: 'dccp', portRangeMin: 7, portRangeMax: 7 }),
      rule('ingress', { protocol: 'udplite', portRangeMin: 8, portRangeMax: 9 }),
      rule('ingress', { protocol: 'icmp', portRangeMin: 8, portRangeMax: 0 }),
      rule('ingress', { protocol: 'icmp', portRangeMin: 3 }),
      rule('ingress', { protocol: 'icmp', portRangeMin: 255, portRangeMax: 3 }),
      rule('ingress', { ethertype: 'IPv6', protocol: 'icmp', portRangeMin: 255 }),
      rule('ingress', { protocol: 'gre' }),
      rule('ingress', { protocol: '89' }),
      rule('ingress', { protocol: '250', remoteIpPrefix: '192.0.2.5' }),
      rule('ingress', { protocol: 'any', remoteIpPrefix: '0.0.0.0/0' }),
      rule('egress', { protocol: 'tcp', portRangeMin: 443, portRangeMax: 443, remoteIpPrefix: '198.51.100.0/24' }),
      rule('egress', { protocol: 'udp', remoteGroupId: MEMBERS }),
      rule('ingress', { ethertype: 'IPv6', protocol: 'ipv6-icmp', portRangeMin: 128, portRangeMax: 0 }),
      rule('ingress', { ethertype: 'IPv6', protocol: '58', portRangeMin: 1 }),
      rule('ingress', { ethertype: 'IPv6', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '2001:DB8:0:0::5/64', remoteGroupId: null }),
      rule('ingress', { ethertype: 'IPv6', protocol: 'udp', remoteGroupId: MEMBERS }),
      rule('egress', { ethertype: 'IPv6', remoteIpPrefix: '::/0' }),
    ]);
    const stateless = { ...group(G(7), [rule('ingress', { protocol: 'tcp', portRangeMin: 22, portRangeMax: 22 })]), stateful: false };
    const ports = [
      port(1, [G(6)], { allowedAddressPairs: [{ ipAddress: '10.70.1.0/24', macAddress: 'FA:16:3E:00:02:01' }, { ipAddress: '2001:db8::/64', macAddress: '' }, { ipAddress: '0.0.0.0/0', macAddress: '' }] }),
      port(2, [G(7)]),
      port(3, []),
    ];
    const first = await dp.reconcile(state(ports, [many, stateless, group(MEMBERS, [], [IP(2), IP6(2), '10.70.0.0'])]));
    assert.ok(first.applied.some((a) => a.startsWith('ip6tables chain')), JSON.stringify(first));
    assert.deepEqual(await dp.reconcile(state(ports, [many, stateless, group(MEMBERS, [], [IP6(2), '10.70.0.0', IP(2)])])), { applied: [], removed: [] });
    const ingress = (await save()).split('\n').filter((l) => l.startsWith(`-A ${chainOf('i', 2)}`));
    assert.ok(!ingress.some((l) => l.includes('conntrack')), 'a stateless group tracks no connections');
  });

  it('removes the chains of ports that are gone, and everything on teardown', async () => {
    const report = await dp.reconcile(state([port(1, [EGRESS, FROM_MEMBERS]), port(2, [EGRESS])], [egressOnly, fromMembers, group(MEMBERS, [], [IP(2)])]));
    assert.ok(report.removed.includes(`iptables chain ${chainOf('i', 3)}`) && report.removed.includes(`ip6tables chain ${chainOf('s', 3)}`), JSON.stringify(report));
    assert.ok(report.removed.includes(`ipset kumo-${lab.cloudId}-6-${MEMBERS.slice(0, 16)}`), 'no IPv6 rule names the group any more');
    assert.ok(!(await save()).includes(chainOf('o', 3)));

    await dp.teardown();
    for (const tool of ['iptables-save', 'ip6tables-save']) assert.ok(!(await save(tool)).includes('kumo-'), tool);
    assert.ok(!(await lab.run(['ipset', 'list', '-n'], h)).includes('kumo-'));
    assert.ok((await save()).includes('-A bystander -s 192.0.2.1/32 -j DROP'), 'the bystander chain stays');
  });

  it('rejects bad input before any tool runs', async () => {
    const run = new CommandRunner({ hostNamespace: h });
    const bad: Array<[string, HostState]> = [
      ['invalid cidr', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { remoteIpPrefix: '10.0.0.300/24' })])])],
      ['prefix too long', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { remoteIpPrefix: '10.0.0.0/33' })])])],
      ['cidr of the other family', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { remoteIpPrefix: '2001:db8::/64' })])])],
      ['unknown protocol', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'bogus' })])])],
      ['protocol number out of range', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: '256' })])])],
      ['inverted port range', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'tcp', portRangeMin: 90, portRangeMax: 80 })])])],
      ['port out of range', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'udp', portRangeMin: 1, portRangeMax: 70000 })])])],
      ['ports without a protocol', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { portRangeMin: 1, portRangeMax: 2 })])])],
      ['ports on gre', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'gre', portRangeMin: 1, portRangeMax: 2 })])])],
      ['icmp code without a type', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'icmp', portRangeMax: 0 })])])],
      ['injection in a protocol', state([port(1, [G(8)])], [group(G(8), [rule('ingress', { protocol: 'tcp -j ACCEPT' })])])],
      ['bad member address', state([port(1, [G(8)])], [group(G(8), [], ['10.0.0.1 -j ACCEPT'])])],
      ['bad MAC', state([port(1, [], { macAddress: 'fa:16:3e:zz:00:01' })], [])],
      ['bad fixed IP', state([port(1, [], { fixedIps: [{ subnetId: SUBNET, ipAddress: '10.1' }] })], [])],
      ['bad address pair', state([port(1, [], { allowedAddressPairs: [{ ipAddress: '10.0.0.0/8\n-A FORWARD -j ACCEPT', macAddress: '' }] })], [])],
    ];
    for (const [what, desired] of bad) {
      await assert.rejects(new FirewallUnit().reconcile(unitContext(run, desired)), FirewallInputError, what);
    }
    assert.equal(run.count, 0, 'no command ran');
  });
});
