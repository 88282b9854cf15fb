import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HostState, NetworkState, PortState, RouterState } from '../../../src/contracts/network-agent.js';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { createLogger } from '../../../src/core/log.js';
import { NetLab, netlabSkipReason } from '../../helpers/netlab.js';

const skip = netlabSkipReason(['ip', 'bridge', 'busybox', 'iptables', 'conntrack', 'haproxy']);
const log = createLogger('silent');

const EXT = '50000001-aaaa-4aaa-8aaa-000000000001';
const NET_A = '50000002-aaaa-4aaa-8aaa-000000000002';
const NET_B = '50000003-aaaa-4aaa-8aaa-000000000003';
const ROUTER = '60000001-cccc-4ccc-8ccc-000000000001';
const ROUTER_BAD = '60000002-cccc-4ccc-8ccc-000000000002';
const GA = '70000001-bbbb-4bbb-8bbb-000000000001';
const GB = '70000002-bbbb-4bbb-8bbb-000000000002';
const RA = '80000001-dddd-4ddd-8ddd-000000000001';
const RB = '80000002-dddd-4ddd-8ddd-000000000002';
const RG = '80000003-dddd-4ddd-8ddd-000000000003';
const MAC = (n: number) => `fa:16:3e:00:02:${n.toString(16).padStart(2, '0')}`;
const QG = `qg-${RG.slice(0, 11)}`;

const networks: NetworkState[] = [
  { id: EXT, networkType: 'flat', physicalNetwork: 'physnet1', segmentationId: null, mtu: 1500, peers: [] },
  { id: NET_A, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] },
  { id: NET_B, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] },
];

function port(id: string, networkId: string, mac: string, ip: string, deviceOwner = 'compute:nova', deviceId = ''): PortState {
  return {
    id, networkId, macAddress: mac, fixedIps: [{ subnetId: `subnet-${networkId}`, ipAddress: ip }], deviceOwner, deviceId,
    adminStateUp: true, portSecurityEnabled: false, securityGroupIds: [], allowedAddressPairs: [],
  };
}

const guestPorts = [port(GA, NET_A, MAC(1), '10.60.1.10'), port(GB, NET_B, MAC(2), '10.60.2.10')];
const routerPorts = [
  port(RA, NET_A, MAC(11), '10.60.1.1', 'network:router_interface', ROUTER),
  port(RB, NET_B, MAC(12), '10.60.2.1', 'network:router_interface', ROUTER),
  port(RG, EXT, MAC(13), '203.0.113.10', 'network:router_gateway', ROUTER),
];

interface RouterOptions {
  gateway?: boolean;
  floatingIp?: boolean;
  adminStateUp?: boolean;
}

function router(options: RouterOptions = {}): RouterState {
  return {
    id: ROUTER,
    adminStateUp: options.adminStateUp ?? true,
    gateway: options.gateway
      ? { networkId: EXT, portMac: MAC(13), ips: [{ ipAddress: '203.0.113.10', cidr: '203.0.113.0/24', gatewayIp: '203.0.113.254' }], enableSnat: true }
      : null,
    interfaces: [
      { portId: RA, portMac: MAC(11), subnetId: `subnet-${NET_A}`, ipAddress: '10.60.1.1', cidr: '10.60.1.0/24' },
      { portId: RB, portMac: MAC(12), subnetId: `subnet-${NET_B}`, ipAddress: '10.60.2.1', cidr: '10.60.2.0/24' },
    ],
    routes: [],
    floatingIps: options.floatingIp ? [{ id: 'fip-1', floatingIp: '203.0.113.20', fixedIp: '10.60.1.10', portId: GA }] : [],
  };
}

let generation = 0;
function state(routers: RouterState[], ports = routers.length > 0 ? routerPorts : []): HostState {
  generation += 1;
  return { host: 'h', generation, networks, ports: [...guestPorts, ...ports], dhcp: [], routers, securityGroups: [] };
}

describe('linuxbridge L3', { skip }, () => {
  const lab = new NetLab();
  let h: string;
  let x: string;
  let ga: string;
  let gb: string;
  let dp: LinuxBridgeDataplane;
  let relay: Server;
  const rns = () => `${lab.prefix}qrouter-${ROUTER}`;

  /** busybox httpd in `ns` whose /cgi-bin/addr answers with the client's address. */
  async function httpd(ns: string, name: string): Promise<void> {
    const root = join(lab.tempDir(), `www-${name}`);
    mkdirSync(join(root, 'cgi-bin'), { recursive: true });
    writeFileSync(join(root, 'index.html'), `hello from ${name}\n`);
    writeFileSync(join(root, 'cgi-bin', 'addr'), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n%s\\n" "$REMOTE_ADDR"\n', { mode: 0o755 });
    await lab.run(['busybox', 'httpd', '-p', '8080', '-h', root], ns);
  }

  async function fetch(ns: string, url: string, seconds = 4): Promise<string | undefined> {
    const r = await lab.tryRun(['timeout', String(seconds), 'busybox', 'wget', '-q', '-O', '-', url], ns);
    // busybox httpd reports IPv4 clients as v4-mapped IPv6 ("[::ffff:a.b.c.d]").
    return r.ok ? r.out.trim().replace(/^\[::ffff:(.*)\]$/, '$1') : undefined;
  }

  before(async () => {
    h = await lab.namespace('h');
    x = await lab.namespace('x');
    // The "physical" external network: ext0 in the host, its peer in the outside world x.
    await lab.run(['ip', '-n', h, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', x]);
    await lab.run(['ip', '-n', h, 'link', 'set', 'ext0', 'up']);
    await lab.run(['ip', '-n', x, 'addr', 'add', '203.0.113.254/24', 'dev', 'eth0']);
    await lab.run(['ip', '-n', x, 'link', 'set', 'eth0', 'up']);
    ga = await lab.guest('ga', h, { id: GA, macAddress: MAC(1) }, 1500);
    gb = await lab.guest('gb', h, { id: GB, macAddress: MAC(2) }, 1500);
    for (const [ns, ip, gw] of [[ga, '10.60.1.10/24', '10.60.1.1'], [gb, '10.60.2.10/24', '10.60.2.1']] as const) {
      await lab.run(['ip', 'addr', 'add', ip, 'dev', 'eth0'], ns);
      await lab.run(['ip', 'route', 'add', 'default', 'via', gw], ns);
    }
    await httpd(x, 'x');
    await httpd(ga, 'ga');
    await httpd(gb, 'gb');
    // The metadata relay stand-in: answers with the identity haproxy added.
    const socket = join(lab.tempDir(), 'relay.sock');
    relay = createServer((req, res) => res.end(`router=${String(req.headers['x-neutron-router-id'])} for=${String(req.headers['x-forwarded-for'])}\n`));
    await new Promise<void>((resolve) => relay.listen(socket, resolve));
    dp = new LinuxBridgeDataplane(
      { cloudId: lab.cloudId, physicalInterfaceMappings: { physnet1: 'ext0' }, namespacePrefix: lab.prefix, hostNamespace: h, stateDir: join(lab.tempDir(), 'state'), metadataSocket: socket },
      log,
    );
  });

  after(async () => {
    await dp?.teardown().catch(() => undefined);
    relay?.close();
    await lab.cleanup();
  });

  it('routes between two tenant networks once the router has both interfaces', async () => {
    await dp.reconcile(state([]));
    assert.equal(await lab.ping(ga, '10.60.2.10', 1), false, 'no router yet');
    const report = await dp.reconcile(state([router()]));
    assert.ok(report.applied.includes(`router namespace ${rns()}`), JSON.stringify(report));
    assert.ok(await lab.ping(ga, '10.60.2.10'));
    // Between internal subnets the source address is kept (no SNAT).
    assert.equal(await fetch(ga, 'http://10.60.2.10:8080/cgi-bin/addr'), '10.60.1.10');
    const forwarding = await lab.run(['sysctl', '-n', 'net.ipv4.ip_forward'], rns());
    assert.equal(forwarding.trim(), '1');
  });

  it('SNATs the tenant networks out of the gateway to its address', async () => {
    await dp.reconcile(state([router({ gateway: true })]));
    assert.ok(await lab.ping(ga, '203.0.113.254'));
    assert.equal(await fetch(ga, 'http://203.0.113.254:8080/cgi-bin/addr'), '203.0.113.10');
    assert.equal(await fetch(gb, 'http://203.0.113.254:8080/cgi-bin/addr'), '203.0.113.10');
    const routes = await lab.run(['ip', 'route', 'show', 'default'], rns());
    assert.match(routes, /default via 203\.0\.113\.254 dev qg-/);
  });

  it('proxies metadata requests to the relay with the router id', async () => {
    const body = await fetch(ga, 'http://169.254.169.254/latest/meta-data/instance-id');
    assert.equal(body, `router=${ROUTER} for=10.60.1.10`);
  });

  it('maps a floating IP both ways', async () => {
    const report = await dp.reconcile(state([router({ gateway: true, floatingIp: true })]));
    assert.ok(report.applied.includes(`address ${QG} 203.0.113.20/32`), JSON.stringify(report));
    assert.ok(await lab.ping(x, '203.0.113.20'));
    assert.equal(await fetch(x, 'http://203.0.113.20:8080/'), 'hello from ga');
    assert.equal(await fetch(x, 'http://203.0.113.20:8080/cgi-bin/addr'), '203.0.113.254');
    // Leaving, the guest with a floating IP is seen as it; the other still as the router.
    assert.equal(await fetch(ga, 'http://203.0.113.254:8080/cgi-bin/addr'), '203.0.113.20');
    assert.equal(await fetch(gb, 'http://203.0.113.254:8080/cgi-bin/addr'), '203.0.113.10');
  });

  it('mends a nat rule deleted by hand, and a second pass changes nothing', async () => {
    await lab.run(['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-s', '10.60.1.0/24', '-o', QG, '-j', 'SNAT', '--to-source', '203.0.113.10'], rns());
    const mended = await dp.reconcile(state([router({ gateway: true, floatingIp: true })]));
    assert.deepEqual(mended, { applied: [`nat ${rns()}`], removed: [] });
    assert.match(await lab.run(['iptables-save', '-t', 'nat'], rns()), /-A POSTROUTING -s 10\.60\.1\.0\/24 -o qg-\S+ -j SNAT --to-source 203\.0\.113\.10/);
    const again = await dp.reconcile(state([router({ gateway: true, floatingIp: true })]));
    assert.deepEqual(again, { applied: [], removed: [] });
  });

  it('cuts traffic through a floating IP at once when it is disassociated', async () => {
    // A ping stream from outside, alive through the floating IP before it goes.
    const stream = spawn('ip', ['netns', 'exec', x, 'busybox', 'ping', '-i', '0.2', '203.0.113.20'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const replies: number[] = [];
    stream.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.includes('bytes from')) replies.push(Date.now());
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(replies.length >= 3, `the stream runs before: ${replies.length} replies`);
      const report = await dp.reconcile(state([router({ gateway: true })]));
      const done = Date.now();
      assert.ok(report.removed.includes('floating ip 203.0.113.20 -> 10.60.1.10'), JSON.stringify(report));
      assert.ok(report.removed.includes(`address ${QG} 203.0.113.20/32`), JSON.stringify(report));
      assert.equal(await fetch(x, 'http://203.0.113.20:8080/', 2), undefined, 'no new connection reaches the guest');
      await new Promise((r) => setTimeout(r, 1500));
      const late = replies.filter((t) => t > done + 200);
      assert.equal(late.length, 0, `${late.length} replies after the floating IP went`);
    } finally {
      stream.kill('SIGKILL');
    }
    const nat = await lab.run(['iptables-save', '-t', 'nat'], rns());
    assert.ok(!nat.includes('203.0.113.20'), nat);
    // The router's own SNAT still works for the guest.
    assert.equal(await fetch(ga, 'http://203.0.113.254:8080/cgi-bin/addr'), '203.0.113.10');
  });

  it('rejects a router with a bad address before it reaches ip or iptables', async () => {
    const commands: string[][] = [];
    const run = dp.run.run.bind(dp.run);
    dp.run.run = (argv, options) => {
      commands.push([...argv]);
      return run(argv, options);
    };
    try {
      const bad: RouterState = {
        ...router({ gateway: true }),
        id: ROUTER_BAD,
        interfaces: [],
        floatingIps: [{ id: 'fip-2', floatingIp: '203.0.113.21 -j ACCEPT', fixedIp: '10.60.1.10', portId: GA }],
      };
      await assert.rejects(dp.reconcile(state([router({ gateway: true }), bad])), (err: AggregateError) => {
        const messages = err.errors.flatMap((e: unknown) => (e instanceof AggregateError ? e.errors : [e])).map((e: unknown) => String(e));
        return messages.some((m) => m.includes('not an IP address') && m.includes('203.0.113.21 -j ACCEPT'));
      });
    } finally {
      dp.run.run = run;
    }
    assert.ok(!commands.some((argv) => argv.join(' ').includes('203.0.113.21')), 'the bad address never reached a tool');
    assert.ok(!commands.some((argv) => argv.join(' ').includes(ROUTER_BAD)), 'nothing was created for the bad router');
    // The good router in the same state was left as it was.
    const again = await dp.reconcile(state([router({ gateway: true })]));
    assert.deepEqual(again, { applied: [], removed: [] });
  });

  it('drops the extra route, the interface and the gateway the state no longer has', async () => {
    const withRoute: RouterState = { ...router({ gateway: true }), routes: [{ destination: '10.99.0.0/16', nexthop: '10.60.2.10' }] };
    const added = await dp.reconcile(state([withRoute]));
    assert.deepEqual(added, { applied: [`route ${rns()} 10.99.0.0/16 via 10.60.2.10`], removed: [] });
    assert.match(await lab.run(['ip', 'route', 'show'], rns()), /10\.99\.0\.0\/16 via 10\.60\.2\.10/);

    const onlyA: RouterState = { ...router(), interfaces: router().interfaces.filter((i) => i.portId === RA) };
    const report = await dp.reconcile(state([onlyA], routerPorts.filter((p) => p.id === RA)));
    for (const expected of [`router leg ${rns()}/qr-${RB.slice(0, 11)}`, `router leg ${rns()}/${QG}`, `route ${rns()} 10.99.0.0/16`, `route ${rns()} 0.0.0.0/0`]) {
      assert.ok(report.removed.includes(expected), `${expected} in ${JSON.stringify(report)}`);
    }
    assert.equal(await lab.ping(ga, '10.60.2.10', 1), false, 'network B has no router leg any more');
    assert.equal(await lab.ping(ga, '203.0.113.254', 1), false, 'no gateway any more');
    assert.ok(!(await lab.run(['iptables-save', '-t', 'nat'], rns())).includes('SNAT'));
    const links = await lab.run(['ip', '-o', 'link', 'show'], h);
    assert.ok(!links.includes(`tap${RB.slice(0, 11)}`) && !links.includes(`tap${RG.slice(0, 11)}`), links);
    assert.ok(links.includes(`tap${RA.slice(0, 11)}`));
    assert.deepEqual(await dp.reconcile(state([onlyA], routerPorts.filter((p) => p.id === RA))), { applied: [], removed: [] });
  });

  it('removes an administratively down router, and a deleted one', async () => {
    const down = await dp.reconcile(state([router({ gateway: true, adminStateUp: false })]));
    assert.ok(down.removed.includes(`router namespace ${rns()}`), JSON.stringify(down));
    const namespaces = await lab.run(['ip', 'netns', 'list']);
    assert.ok(!namespaces.includes(rns()), namespaces);
    const links = await lab.run(['ip', '-o', 'link', 'show'], h);
    assert.ok(!links.includes(`tap${RA.slice(0, 11)}`), 'the legs went with the namespace');
    assert.equal(await lab.ping(ga, '10.60.2.10', 1), false);

    await dp.reconcile(state([router({ gateway: true })]));
    assert.ok(await lab.ping(ga, '10.60.2.10'));
    const gone = await dp.reconcile(state([]));
    assert.ok(gone.removed.includes(`router namespace ${rns()}`), JSON.stringify(gone));
    assert.ok(!(await lab.run(['ip', 'netns', 'list'])).includes(rns()));
    assert.ok(!existsSync(join(lab.tempDir(), 'state', `haproxy-router-${ROUTER}.pid`)), 'its metadata proxy was stopped');
    assert.deepEqual(await dp.reconcile(state([])), { applied: [], removed: [] });
  });
});
