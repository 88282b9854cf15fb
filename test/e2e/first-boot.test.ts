// A clean checkout's first minutes, as root: `kumo up` with only --data-dir and --port (no
// tunnel, physnet or driver flags) in a "host" that is a lab namespace (entered as
// `ip netns exec` would, see startKumo's netns) with a default route via
// a veth to an "upstream" namespace (so nothing touches the real host's network). demo, through
// the openstack CLI on that host, boots kumo-tiny on DevStack's `private`, reads the ready line
// with its fixed address, and pings a floating IP from `public` from the host itself. A network
// the host cannot realise fails the boot with PortBindingFailed's fault, never ACTIVE.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config.js';
import { NetLab } from '../helpers/netlab.js';
import { processesMentioning } from '../helpers/processes.js';
import { freePort, startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { NetnsRelay } from './helpers/netns-relay.js';
import { OpenStackCli } from './helpers/openstack-cli.js';
import { ec2Id, KumoRest, kumoTinyFile, qemuPrerequisites, readyLine, skipUnless, until, type Json } from './helpers/qemu-guests.js';

const prerequisites = await qemuPrerequisites();
const skip = skipUnless(prerequisites, 'the first-boot suite');

const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];
const STEP = { timeout: 300_000 };

describe('a clean checkout: kumo up with no flags, the seeds, a guest pinged through a floating IP', { skip, timeout: 1_200_000 }, () => {
  const lab = new NetLab();
  let host = '';
  let root = '';
  let kumo: KumoProcess | undefined;
  let relay: NetnsRelay | undefined;
  let cli: OpenStackCli;
  let rest: KumoRest;
  const bootSeconds: number[] = [];

  /** Creates a server on `private` and waits for its ready line; returns its id, fixed IP and the seconds to the ready line. */
  async function bootOnPrivate(name: string): Promise<{ id: string; fixedIp: string; seconds: number }> {
    const started = Date.now();
    const created = await cli
      .json<Json>([...DEMO, 'server', 'create', '--image', 'kumo-tiny', '--flavor', 'm1.nano', '--network', 'private', '--wait', name], { timeoutMs: 300_000 })
      .catch(async (error: unknown) => {
        throw new Error(`${String(error)}\nthe cloud's servers: ${JSON.stringify(await rest.call('GET', '/compute/v2.1/servers/detail', undefined, { user: 'admin', microversion: '2.15' }).then((r) => r.json))}\nits output: ${kumo?.output().slice(-4000)}`);
      });
    assert.equal(created.status, 'ACTIVE');
    const id = created.id as string;
    const server = (await rest.server(id)) as Json;
    const fixedIp = (server.addresses?.private as Array<{ addr: string }> | undefined)?.[0]?.addr as string;
    assert.match(fixedIp ?? '', /^10\.0\.0\.\d+$/, JSON.stringify(server.addresses));
    const console_ = await rest.waitConsole(id, `${name}'s ready line`, (text) => readyLine(text, 1) !== undefined, 240_000);
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(readyLine(console_, 1), [fixedIp, ec2Id(id)], 'the guest got its fixed IP by DHCP and its id from the metadata service');
    return { id, fixedIp, seconds };
  }

  before(async () => {
    if (prerequisites.missing.length > 0) {
      throw new Error(`CI is set and QEMU is present, but the first-boot suite also needs: ${prerequisites.missing.join('; ')}`);
    }
    // Built once into the user's cache, where `kumo up` looks for it on its first start.
    await kumoTinyFile();
    ({ host } = await lab.hostWithDefaultRoute('host', 'eth0', '10.252.0'));
    root = mkdtempSync(join(tmpdir(), 'kumo-first-boot-'));
    const port = await freePort();
    kumo = await startKumo({
      dataDir: join(root, 'data'),
      port,
      netns: host,
      asUser: true,
      // Not a setting of the cloud: the qdhcp-/qrouter- namespaces (global to the machine) carry
      // the lab's prefix, so that cleanup finds them and no other cloud's are taken for orphans.
      env: { KUMO_DATAPLANE_NAMESPACE_PREFIX: lab.prefix },
      // The KVM probe (about 15 s on a host whose /dev/kvm cannot boot) comes before the banner.
      timeoutMs: 120_000,
    });
    relay = await NetnsRelay.open(host, port);
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'), host);
    rest = new KumoRest(kumo.url, kumo.dataDir);
    await rest.waitImage('kumo-tiny');
  });

  after(async () => {
    if (cli) await cli.killAll();
    await kumo?.stop('SIGTERM', 30_000).catch(() => kumo?.kill());
    await relay?.close();
    // Kills what still runs in the lab's namespaces (QEMU, dnsmasq, haproxy) and deletes them.
    await lab.cleanup();
    if (root) {
      rmSync(loadConfig({ dataDir: join(root, 'data') }, {}).dataplane.stateDir, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
    if (bootSeconds.length > 0) process.stdout.write(`# first-boot: seconds from server create to the ready line: ${bootSeconds.map((s) => s.toFixed(1)).join(', ')}\n`);
  });

  it('starts with no flags: the tunnel address from the default route, the seeds, a live agent', STEP, async () => {
    const banner = kumo?.output() ?? '';
    assert.match(banner, /driver qemu/, banner);
    assert.match(banner, /dataplane linuxbridge/);
    assert.match(banner, /tunnel address 10\.252\.0\.2: the address of eth0, the default route's interface/);
    assert.match(banner, /public 172\.24\.4\.0\/24 \(external, physnet public; gateway 172\.24\.4\.1 on host bridge brex-[0-9a-f]{6}, so this host reaches floating IPs\)/);
    assert.match(banner, /demo: private 10\.0\.0\.0\/26 and router1 to public \(made now\)/);
    assert.match(banner, /server create --image kumo-tiny --flavor m1\.nano --network private/);

    const networks = await cli.json<Json[]>([...DEMO, 'network', 'list']);
    assert.deepEqual(networks.map((n) => n.Name).sort(), ['private', 'public']);
    const agents = await cli.json<Json[]>([...ADMIN, 'network', 'agent', 'list']);
    assert.equal(agents.length, 1, JSON.stringify(agents));
    assert.equal(agents[0]?.['Agent Type'], 'Linux bridge agent');
    assert.ok(agents[0]?.Alive === true || agents[0]?.Alive === ':-)', JSON.stringify(agents[0]));
    const shown = await cli.json<Json>([...ADMIN, 'network', 'agent', 'show', agents[0]?.ID as string]);
    const configuration = (shown.configuration ?? shown.configurations) as Json;
    assert.equal(configuration.tunneling_ip, '10.252.0.2');
    assert.ok(configuration.interface_mappings.public, 'physnet public is mapped with no --physnet');
    const refused = await cli.run([...DEMO, 'network', 'agent', 'list', '-f', 'json']);
    assert.deepEqual(JSON.parse(refused.stdout || '[]'), [], 'agents are for admins only');
  });

  it('boots kumo-tiny on private: the ready line has its fixed IP; the host pings its floating IP from public', STEP, async () => {
    const first = await bootOnPrivate('vm1');
    bootSeconds.push(first.seconds);
    const fip = await cli.json<Json>([...DEMO, 'floating', 'ip', 'create', 'public']);
    const address = fip.floating_ip_address as string;
    assert.match(address, /^172\.24\.4\.\d+$/);
    await cli.ok([...DEMO, 'server', 'add', 'floating', 'ip', 'vm1', address]);
    assert.ok(await until('the floating IP answers the host', () => lab.ping(host, address, 1), 60_000, 500));
  });

  it('boots a second guest (the image cached): the time to its ready line', STEP, async () => {
    const second = await bootOnPrivate('vm2');
    bootSeconds.push(second.seconds);
    assert.ok(second.seconds > 0);
  });

  it('fails a boot on a network this host cannot realise, with a clear fault, never ACTIVE', STEP, async () => {
    await cli.ok([...ADMIN, 'network', 'create', '--share', '--provider-network-type', 'vlan', '--provider-physical-network', 'physnet1', '--provider-segment', '1234', 'nowhere']);
    await cli.ok([...ADMIN, 'subnet', 'create', '--network', 'nowhere', '--subnet-range', '10.93.0.0/24', 'nowhere-subnet']);
    const created = await cli.run([...DEMO, 'server', 'create', '--image', 'kumo-tiny', '--flavor', 'm1.nano', '--network', 'nowhere', '--wait', 'stranded'], { timeoutMs: 300_000 });
    // python3-openstackclient 6.0 says so and exits 0 when --wait sees ERROR.
    assert.ok(created.code !== 0 || /^Error creating server/m.test(created.stdout + created.stderr), created.stdout);
    const server = await cli.json<Json>([...DEMO, 'server', 'show', 'stranded']);
    assert.equal(server.status, 'ERROR');
    assert.match(JSON.stringify(server.fault), /aborted: Binding failed for port [0-9a-f-]{36}, please check neutron logs/);
    // The network node still serves the network's DHCP port, on a bridge of its own: the agent says so.
    const agentId = (await cli.json<Json[]>([...ADMIN, 'network', 'agent', 'list']))[0]?.ID as string;
    const warned = await until('the unmapped physnet in the agent\'s warnings', async () => {
      const shown = await cli.json<Json>([...ADMIN, 'network', 'agent', 'show', agentId]);
      const warnings = ((shown.configuration ?? shown.configurations) as Json).warnings as string[];
      return warnings.find((w) => w.includes('physical network physnet1 has no interface on this host'));
    }, 30_000, 1_000);
    assert.ok(warned);
  });

  it("leaves none of this cloud's processes once it is stopped and the lab removed", STEP, async () => {
    await cli.killAll();
    await kumo?.stop('SIGTERM', 30_000);
    await lab.cleanup();
    const stateDir = loadConfig({ dataDir: join(root, 'data') }, {}).dataplane.stateDir;
    await until('no process of this cloud left', () => processesMentioning(stateDir).length === 0, 10_000);
  });
});
