// The Networking service driven end to end by the real `openstack` CLI against a real `kumo up`
// process: an external flat provider network with a pooled subnet (admin), a project network
// of the tenant type with a subnet and a port (demo), security groups and rules, the
// attributes a project may not set (on its own network, and on a network admin shared), and
// demo's router r1 between int and ext with a floating IP on the port (the seeds' scenario),
// taken apart again in the order Neutron requires; the host's network agent as
// `openstack network agent` shows and changes it; address scopes, subnet pools, RBAC
// policies, IP availability, zones, service providers and auto-allocated topologies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli, type CliResult } from './helpers/openstack-cli.js';

/** Each CLI call costs about a second of Python start-up: a test gets two minutes so that only a hang fails it. */
const SLOW = { timeout: 120_000 };
const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Shown = Record<string, any>;

/** The CLI prints e.g. `HttpException: 403, (rule:create_network:shared) is disallowed by policy`. */
function assertRefused(result: CliResult, status: number, message?: RegExp): void {
  assert.match(result.stderr, new RegExp(`\\b${status}\\b`), `expected HTTP ${status} in: ${result.stderr}`);
  if (message) assert.match(result.stderr, message);
}

const lastOctet = (address: string) => Number(address.split('.').at(-1));

describe('networking through the openstack CLI', { skip: cliSkip, timeout: 600_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  const ids: Record<string, string> = {};

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-network-'));
    kumo = await startKumo({ dataDir: join(root, 'data'), env: { KUMO_GUEST_IMAGE: 'skip' } });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
  });

  after(async () => {
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const show = (cloud: string[], kind: string, name: string) => cli.json<Shown>([...cloud, kind, 'show', name]);

  it('admin creates the external flat provider network ext', SLOW, async () => {
    const ext = await cli.json<Shown>([
      ...ADMIN, 'network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'physnet1', 'ext',
    ]);
    assert.match(ext.id as string, UUID);
    ids.ext = ext.id as string;
    assert.equal(ext.name, 'ext');
    assert.equal(ext['router:external'], true);
    assert.equal(ext['provider:network_type'], 'flat');
    assert.equal(ext['provider:physical_network'], 'physnet1');
    assert.equal(ext['provider:segmentation_id'], null);
    assert.equal(ext.mtu, 1500);
    assert.equal(ext.shared, false);
    assert.equal(ext.status, 'ACTIVE');
    // A second flat network on the same physnet is refused.
    const again = await cli.fails([...ADMIN, 'network', 'create', '--provider-network-type', 'flat', '--provider-physical-network', 'physnet1', 'ext2']);
    assertRefused(again, 409, /physnet1 is in use/);
  });

  it('admin gives ext a subnet with an allocation pool', SLOW, async () => {
    const subnet = await cli.json<Shown>([
      ...ADMIN, 'subnet', 'create', '--subnet-range', '203.0.113.0/24', '--allocation-pool', 'start=203.0.113.100,end=203.0.113.200', '--network', 'ext', 'ext-subnet',
    ]);
    ids.extSubnet = subnet.id as string;
    assert.equal(subnet.network_id, ids.ext);
    assert.equal(subnet.cidr, '203.0.113.0/24');
    assert.equal(subnet.ip_version, 4);
    assert.equal(subnet.gateway_ip, '203.0.113.1');
    assert.deepEqual(subnet.allocation_pools, [{ start: '203.0.113.100', end: '203.0.113.200' }]);
    assert.equal(subnet.enable_dhcp, true);
    const shown = await show(ADMIN, 'subnet', 'ext-subnet');
    assert.deepEqual(shown.allocation_pools, [{ start: '203.0.113.100', end: '203.0.113.200' }]);
    const network = await show(ADMIN, 'network', 'ext');
    assert.deepEqual(network.subnets, [ids.extSubnet]);
  });

  it('demo creates int, of the tenant type vxlan as admin sees it', SLOW, async () => {
    const int = await cli.json<Shown>([...DEMO, 'network', 'create', 'int']);
    ids.int = int.id as string;
    assert.equal(int.name, 'int');
    assert.equal(int.mtu, 1450);
    assert.equal(int['router:external'], false);
    const byAdmin = await show(ADMIN, 'network', 'int');
    assert.equal(byAdmin.id, ids.int);
    assert.equal(byAdmin['provider:network_type'], 'vxlan');
    assert.equal(byAdmin['provider:physical_network'], null);
    const vni = byAdmin['provider:segmentation_id'] as number;
    assert.ok(Number.isInteger(vni) && vni >= 1 && vni <= 1000, `VNI ${vni}`);
    // Demo is not shown the provider attributes.
    const byDemo = await show(DEMO, 'network', 'int');
    assert.equal(byDemo['provider:network_type'] ?? null, null);
    assert.equal(byDemo['provider:segmentation_id'] ?? null, null);
  });

  it('demo gives int the subnet 10.0.0.0/24', SLOW, async () => {
    const subnet = await cli.json<Shown>([...DEMO, 'subnet', 'create', '--subnet-range', '10.0.0.0/24', '--network', 'int', 'int-subnet']);
    ids.intSubnet = subnet.id as string;
    assert.equal(subnet.cidr, '10.0.0.0/24');
    assert.equal(subnet.gateway_ip, '10.0.0.1');
    assert.deepEqual(subnet.allocation_pools, [{ start: '10.0.0.2', end: '10.0.0.254' }]);
    assert.equal(subnet.network_id, ids.int);
    await cli.ok([...DEMO, 'subnet', 'set', '--dns-nameserver', '8.8.8.8', 'int-subnet']);
    const shown = await show(DEMO, 'subnet', 'int-subnet');
    assert.equal(shown.id, ids.intSubnet);
    assert.equal(shown.name, 'int-subnet');
    assert.equal(shown.ip_version, 4);
    assert.equal(shown.enable_dhcp, true);
    assert.deepEqual(shown.dns_nameservers, ['8.8.8.8']);
  });

  it('demo creates the port p1 with a fixed IP from int-subnet and the default security group', SLOW, async () => {
    const port = await cli.json<Shown>([...DEMO, 'port', 'create', '--network', 'int', 'p1']);
    ids.p1 = port.id as string;
    assert.equal(port.name, 'p1');
    assert.equal(port.network_id, ids.int);
    assert.match(port.mac_address as string, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    const fixed = port.fixed_ips as Array<{ subnet_id: string; ip_address: string }>;
    assert.equal(fixed.length, 1);
    assert.equal(fixed[0]!.subnet_id, ids.intSubnet);
    assert.match(fixed[0]!.ip_address, /^10\.0\.0\.\d+$/);
    assert.ok(lastOctet(fixed[0]!.ip_address) >= 2 && lastOctet(fixed[0]!.ip_address) <= 254);
    const groups = await cli.json<Array<{ ID: string; Name: string }>>([...DEMO, 'security', 'group', 'list']);
    const defaults = groups.filter((g) => g.Name === 'default');
    assert.equal(defaults.length, 1, JSON.stringify(groups));
    assert.deepEqual(port.security_group_ids, [defaults[0]!.ID]);

    const shown = await show(DEMO, 'port', 'p1');
    assert.equal(shown.id, ids.p1);
    assert.deepEqual(shown.fixed_ips, fixed);
    assert.equal(shown.mac_address, port.mac_address);
    assert.equal(shown.status, 'DOWN');
    assert.equal(shown.port_security_enabled, true);

    // A chosen address, then gone again. Addresses are handed out at random, as Neutron's IPAM
    // does, so choose one neither p1 nor the DHCP port happened to get.
    const inUse = JSON.stringify(await cli.json([...ADMIN, 'port', 'list', '--network', 'int', '--long']));
    const chosen = ['10.0.0.50', '10.0.0.51', '10.0.0.52'].find((a) => !new RegExp(`${a.replace(/\./g, '\\.')}(?![0-9])`).test(inUse)) as string;
    const p2 = await cli.json<Shown>([...DEMO, 'port', 'create', '--network', 'int', '--fixed-ip', `subnet=int-subnet,ip-address=${chosen}`, 'p2']);
    assert.deepEqual(p2.fixed_ips, [{ subnet_id: ids.intSubnet, ip_address: chosen }]);
    const taken = await cli.fails([...DEMO, 'port', 'create', '--network', 'int', '--fixed-ip', `subnet=int-subnet,ip-address=${chosen}`, 'p3']);
    assertRefused(taken, 409);
    await cli.ok([...DEMO, 'port', 'delete', 'p2']);
    const p3 = await cli.json<Shown>([...DEMO, 'port', 'create', '--network', 'int', '--fixed-ip', `ip-address=${chosen}`, 'p3']);
    assert.deepEqual(p3.fixed_ips, [{ subnet_id: ids.intSubnet, ip_address: chosen }]);
    const ports = await cli.json<Array<{ Name: string; 'Fixed IP Addresses': unknown }>>([...DEMO, 'port', 'list', '--network', 'int']);
    assert.deepEqual(ports.map((p) => p.Name).filter(Boolean).sort(), ['p1', 'p3']);
  });

  it('demo creates a security group with rules and lists them', SLOW, async () => {
    const group = await cli.json<Shown>([...DEMO, 'security', 'group', 'create', '--description', 'web servers', 'web']);
    assert.equal(group.name, 'web');
    assert.equal(group.description, 'web servers');
    const egress = (group.rules as Array<{ direction: string; ethertype: string }>).map((r) => `${r.direction}/${r.ethertype}`).sort();
    assert.deepEqual(egress, ['egress/IPv4', 'egress/IPv6']);

    const ssh = await cli.json<Shown>([...DEMO, 'security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'web']);
    assert.equal(ssh.direction, 'ingress');
    assert.equal(ssh.protocol, 'tcp');
    assert.equal(ssh.port_range_min, 22);
    assert.equal(ssh.port_range_max, 22);
    assert.equal(ssh.remote_ip_prefix, '0.0.0.0/0');
    assert.equal(ssh.security_group_id, group.id);
    const dns = await cli.json<Shown>([
      ...DEMO, 'security', 'group', 'rule', 'create', '--protocol', 'udp', '--dst-port', '53:53', '--remote-ip', '10.0.0.0/8', 'web',
    ]);
    assert.equal(dns.remote_ip_prefix, '10.0.0.0/8');
    const ping = await cli.json<Shown>([...DEMO, 'security', 'group', 'rule', 'create', '--protocol', 'icmp', '--icmp-type', '8', '--icmp-code', '0', 'web']);
    assert.equal(ping.protocol, 'icmp');
    assert.equal(ping.port_range_min, 8);
    assert.equal(ping.port_range_max, 0);

    const rules = await cli.json<Array<Record<string, unknown>>>([...DEMO, 'security', 'group', 'rule', 'list', 'web']);
    assert.equal(rules.length, 5, JSON.stringify(rules));
    const row = rules.find((r) => r.ID === ssh.id);
    assert.ok(row, JSON.stringify(rules));
    assert.equal(row['IP Protocol'], 'tcp');
    assert.equal(row['Port Range'], '22:22');
    assert.equal(row['IP Range'], '0.0.0.0/0');
    assert.equal(row.Direction, 'ingress');

    // The same rule twice, and the CLI's spelled-out version of a default egress rule, are 409.
    assertRefused(await cli.fails([...DEMO, 'security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'web']), 409, /already exists/);
    assertRefused(await cli.fails([...DEMO, 'security', 'group', 'rule', 'create', '--egress', 'web']), 409, /already exists/);
    // A port range on a protocol without ports is 400.
    assertRefused(await cli.fails([...DEMO, 'security', 'group', 'rule', 'create', '--protocol', 'gre', '--dst-port', '10', 'web']), 400);

    await cli.ok([...DEMO, 'security', 'group', 'rule', 'delete', dns.id as string]);
    assert.equal((await cli.json<unknown[]>([...DEMO, 'security', 'group', 'rule', 'list', 'web'])).length, 4);
    const shown = await cli.json<Shown>([...DEMO, 'security', 'group', 'show', 'web']);
    assert.equal(shown.id, group.id);
  });

  it('refuses demo a shared, external or provider network with 403', SLOW, async () => {
    assertRefused(await cli.fails([...DEMO, 'network', 'create', '--share', 'demo-shared']), 403, /create_network:shared/);
    assertRefused(await cli.fails([...DEMO, 'network', 'create', '--provider-network-type', 'vxlan', 'demo-provider']), 403, /provider:network_type/);
    assertRefused(await cli.fails([...DEMO, 'network', 'create', '--external', 'demo-external']), 403, /router:external/);
    const names = (await cli.json<Array<{ Name: string }>>([...DEMO, 'network', 'list'])).map((n) => n.Name).sort();
    assert.deepEqual(names, ['ext', 'int'], 'demo sees its own network and the external one, nothing it was refused');
  });

  it("demo sets its own ports' MAC, address pairs and port security, but not on admin's shared network (403)", SLOW, async () => {
    const own = await cli.json<Shown>([...DEMO, 'port', 'create', '--network', 'int', '--mac-address', 'fa:16:3e:00:e2:01', '--allowed-address', 'ip-address=10.0.0.200', 'own-attrs']);
    assert.equal(own.mac_address, 'fa:16:3e:00:e2:01');
    assert.deepEqual(own.allowed_address_pairs, [{ ip_address: '10.0.0.200', mac_address: 'fa:16:3e:00:e2:01' }]);
    await cli.ok([...DEMO, 'port', 'set', '--no-allowed-address', '--no-security-group', '--disable-port-security', 'own-attrs']);
    assert.equal((await show(DEMO, 'port', 'own-attrs')).port_security_enabled, false);
    await cli.ok([...DEMO, 'port', 'delete', 'own-attrs']);

    await cli.ok([...ADMIN, 'network', 'create', '--share', 'shared-net']);
    await cli.ok([...ADMIN, 'subnet', 'create', '--network', 'shared-net', '--subnet-range', '10.9.0.0/24', 'shared-subnet']);
    assertRefused(await cli.fails([...DEMO, 'port', 'create', '--network', 'shared-net', '--fixed-ip', 'ip-address=10.9.0.1', 'taker']), 403, /fixed_ips:ip_address/);
    assertRefused(await cli.fails([...DEMO, 'port', 'create', '--network', 'shared-net', '--disable-port-security', 'taker']), 403, /port_security_enabled/);
    const guest = await cli.json<Shown>([...DEMO, 'port', 'create', '--network', 'shared-net', '--fixed-ip', 'subnet=shared-subnet', 'guest']);
    assert.equal((guest.fixed_ips as Array<{ subnet_id: string }>)[0]!.subnet_id, (await show(ADMIN, 'subnet', 'shared-subnet')).id);
    assertRefused(await cli.fails([...DEMO, 'port', 'set', '--allowed-address', 'ip-address=0.0.0.0/0', 'guest']), 403, /allowed_address_pairs/);
    await cli.ok([...DEMO, 'port', 'delete', 'guest']);
    await cli.ok([...ADMIN, 'network', 'delete', 'shared-net']);
  });

  it('demo routes int to ext through r1 and gives p1 a floating IP, then takes them apart', SLOW, async () => {
    const created = await cli.json<Shown>([...DEMO, 'router', 'create', 'r1']);
    const r1 = created.id as string;
    assert.match(r1, UUID);
    assert.equal(created.name, 'r1');
    assert.equal(created.external_gateway_info ?? null, null);
    await cli.ok([...DEMO, 'router', 'set', '--external-gateway', 'ext', 'r1']);
    await cli.ok([...DEMO, 'router', 'add', 'subnet', 'r1', ids.intSubnet as string]);

    const fip = await cli.json<Shown>([...DEMO, 'floating', 'ip', 'create', 'ext']);
    const fipId = fip.id as string;
    assert.match(fipId, UUID);
    assert.equal(fip.floating_network_id, ids.ext);
    const address = fip.floating_ip_address as string;
    assert.match(address, /^203\.0\.113\.\d+$/);
    assert.ok(lastOctet(address) >= 100 && lastOctet(address) <= 200, `${address} is outside the allocation pool`);
    assert.equal(fip.port_id, null);
    assert.equal(fip.fixed_ip_address, null);
    assert.equal(fip.router_id, null);

    const p1 = await show(DEMO, 'port', ids.p1 as string);
    const p1Address = (p1.fixed_ips as Array<{ ip_address: string }>)[0]!.ip_address;
    await cli.ok([...DEMO, 'floating', 'ip', 'set', '--port', ids.p1 as string, fipId]);
    const bound = await cli.json<Shown>([...DEMO, 'floating', 'ip', 'show', fipId]);
    assert.equal(bound.floating_ip_address, address);
    assert.equal(bound.port_id, ids.p1);
    assert.equal(bound.fixed_ip_address, p1Address);
    assert.equal(bound.router_id, r1);
    assert.equal(bound.status, 'ACTIVE');
    // While the floating IP is bound through r1, neither r1's interface nor its gateway can go.
    assertRefused(await cli.fails([...DEMO, 'router', 'remove', 'subnet', 'r1', ids.intSubnet as string]), 409, /required by one or more floating IPs/);
    assertRefused(await cli.fails([...DEMO, 'router', 'unset', '--external-gateway', 'r1']), 409, /required by one or more floating IPs/);

    await cli.ok([...DEMO, 'floating', 'ip', 'unset', '--port', fipId]);
    const unbound = await cli.json<Shown>([...DEMO, 'floating', 'ip', 'show', fipId]);
    assert.equal(unbound.floating_ip_address, address);
    assert.equal(unbound.port_id, null);
    assert.equal(unbound.fixed_ip_address, null);
    assert.equal(unbound.router_id, null);

    const router = await show(DEMO, 'router', 'r1');
    assert.equal(router.id, r1);
    const gateway = router.external_gateway_info as { network_id: string; enable_snat: boolean; external_fixed_ips: Array<{ subnet_id: string; ip_address: string }> };
    assert.equal(gateway.network_id, ids.ext);
    assert.equal(gateway.enable_snat, true);
    assert.equal(gateway.external_fixed_ips.length, 1, JSON.stringify(gateway));
    assert.equal(gateway.external_fixed_ips[0]!.subnet_id, ids.extSubnet);
    assert.notEqual(gateway.external_fixed_ips[0]!.ip_address, address);
    const interfaces = router.interfaces_info as Array<{ port_id: string; ip_address: string; subnet_id: string }>;
    assert.deepEqual(
      interfaces.map((i) => ({ subnet_id: i.subnet_id, ip_address: i.ip_address })),
      [{ subnet_id: ids.intSubnet, ip_address: '10.0.0.1' }],
    );

    await cli.ok([...DEMO, 'floating', 'ip', 'delete', fipId]);
    await cli.ok([...DEMO, 'router', 'remove', 'subnet', 'r1', ids.intSubnet as string]);
    await cli.ok([...DEMO, 'router', 'unset', '--external-gateway', 'r1']);
    await cli.ok([...DEMO, 'router', 'delete', 'r1']);
    assert.deepEqual(await cli.json<unknown[]>([...DEMO, 'router', 'list']), []);
    assert.deepEqual(await cli.json<unknown[]>([...DEMO, 'floating', 'ip', 'list']), []);
    // The gateway, interface and floating IP ports went with them.
    const left = await cli.json<Array<{ ID: string }>>([...ADMIN, 'port', 'list', '--device-id', r1]);
    assert.deepEqual(left, []);
  });

  it('demo boots a server on int: a bound port with a fixed IP, deleted with the server', SLOW, async () => {
    const file = join(root, 'tiny.img');
    writeFileSync(file, 'not really a disk');
    await cli.ok([...ADMIN, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'tiny']);
    const server = await cli.json<Shown>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'int', '--wait', 'vm1']);
    assert.equal(server.status, 'ACTIVE');
    const shown = await show(DEMO, 'server', 'vm1');
    const addresses = JSON.stringify(shown.addresses);
    const address = /10\.0\.0\.\d+/.exec(addresses)?.[0];
    assert.ok(address && addresses.includes('int'), `addresses on int: ${addresses}`);
    const ports = await cli.json<Array<Record<string, any>>>([...ADMIN, 'port', 'list', '--device-id', server.id as string, '--long']);
    assert.equal(ports.length, 1);
    const port = await show(ADMIN, 'port', ports[0]?.ID as string);
    assert.equal(port.device_owner, 'compute:nova');
    assert.notEqual(port.binding_host_id, '', 'bound to the compute host');
    assert.equal(port.status, 'ACTIVE');
    assert.match(JSON.stringify(port.fixed_ips), new RegExp(address.replace(/\./g, '\\.')));
    await cli.ok([...DEMO, 'server', 'delete', '--wait', 'vm1']);
    const left = await cli.json<unknown[]>([...ADMIN, 'port', 'list', '--device-id', server.id as string]);
    assert.deepEqual(left, [], 'the port went with the server');
  });

  it('shows what was set: network, subnet and port, and tags', SLOW, async () => {
    await cli.ok([...ADMIN, 'network', 'create', 'admin-private']);
    await cli.ok([...DEMO, 'network', 'set', '--tag', 'blue', '--description', 'inside', 'int']);
    const int = await show(DEMO, 'network', 'int');
    assert.equal(int.description, 'inside');
    assert.deepEqual(int.tags, ['blue']);
    assert.deepEqual(int.subnets, [ids.intSubnet]);
    assert.equal(int.admin_state_up, true);
    const tagged = await cli.json<Array<{ Name: string }>>([...DEMO, 'network', 'list', '--tags', 'blue']);
    assert.deepEqual(tagged.map((n) => n.Name), ['int']);
    const demoNames = (await cli.json<Array<{ Name: string }>>([...DEMO, 'network', 'list'])).map((n) => n.Name);
    assert.equal(demoNames.includes('admin-private'), false);
    const adminNames = (await cli.json<Array<{ Name: string }>>([...ADMIN, 'network', 'list'])).map((n) => n.Name);
    assert.ok(['ext', 'int', 'admin-private'].every((n) => adminNames.includes(n)), JSON.stringify(adminNames));

    await cli.ok([...DEMO, 'port', 'set', '--name', 'p1-renamed', '--description', 'first port', 'p1']);
    const port = await show(DEMO, 'port', 'p1-renamed');
    assert.equal(port.id, ids.p1);
    assert.equal(port.description, 'first port');
    const byAdmin = await show(ADMIN, 'port', ids.p1 as string);
    assert.equal(byAdmin.binding_vnic_type, 'normal');
    assert.equal(byAdmin.binding_vif_type, 'unbound');

    // As in Neutron (and tempest's test_external_network_visibility): other projects see the
    // external network but not its subnets.
    assert.equal((await show(ADMIN, 'subnet', 'ext-subnet')).cidr, '203.0.113.0/24');
    const hidden = await cli.fails([...DEMO, 'subnet', 'show', 'ext-subnet']);
    assert.match(hidden.stderr, /No Subnet found/);
    // A network with ports on it cannot go; emptied, it can.
    assertRefused(await cli.fails([...DEMO, 'network', 'delete', 'int']), 409);
    await cli.ok([...DEMO, 'port', 'delete', 'p1-renamed', 'p3']);
    await cli.ok([...DEMO, 'network', 'delete', 'int']);
    const left = (await cli.json<Array<{ Name: string }>>([...DEMO, 'network', 'list'])).map((n) => n.Name);
    assert.deepEqual(left, ['ext']);
  });

  it('shows the network agent to admin: list, show, set, delete (it registers again on its next report)', SLOW, async () => {
    const agents = await cli.json<Shown[]>([...ADMIN, 'network', 'agent', 'list']);
    assert.equal(agents.length, 1, JSON.stringify(agents));
    const agent = agents[0] as Shown;
    assert.equal(agent['Agent Type'], 'Noop agent');
    assert.equal(agent.Binary, 'kumo-network-agent');
    assert.ok(agent.Alive === true || agent.Alive === ':-)', JSON.stringify(agent));
    await cli.ok([...ADMIN, 'network', 'agent', 'set', '--disable', '--description', 'draining', agent.ID as string]);
    const shown = await cli.json<Shown>([...ADMIN, 'network', 'agent', 'show', agent.ID as string]);
    assert.equal(shown.description, 'draining');
    assert.ok(shown.admin_state_up === false || shown.admin_state_up === 'DOWN', JSON.stringify(shown));
    assert.equal(shown.configuration?.dataplane ?? shown.configurations?.dataplane, 'noop');
    assert.deepEqual(await cli.json<Shown[]>([...DEMO, 'network', 'agent', 'list']), [], 'not for projects');
    assert.match((await cli.fails([...DEMO, 'network', 'agent', 'show', agent.ID as string])).stderr, /404|could not be found/i);
    await cli.ok([...ADMIN, 'network', 'agent', 'delete', agent.ID as string]);
    // Gone; its next report (it may come at once) registers it again under a new id, as in Neutron.
    const after = await cli.json<Shown[]>([...ADMIN, 'network', 'agent', 'list']);
    assert.ok(!after.some((a) => a.ID === agent.ID), JSON.stringify(after));
  });
  it('demo makes an address scope and a subnet pool in it, and carves subnets from the pool by size', SLOW, async () => {
    // Networks of their own: the suite's int is gone by now.
    await cli.ok([...DEMO, 'network', 'create', 'pool-net']);
    const scope = await cli.json<Shown>([...DEMO, 'address', 'scope', 'create', '--ip-version', '4', 'scope1']);
    assert.equal(scope.ip_version, 4);
    assert.equal(scope.shared, false);
    assertRefused(await cli.fails([...DEMO, 'address', 'scope', 'create', '--ip-version', '4', '--share', 'scope2']), 403);
    const pool = await cli.json<Shown>([
      ...DEMO, 'subnet', 'pool', 'create', '--pool-prefix', '10.80.0.0/16', '--default-prefix-length', '24', '--address-scope', 'scope1', 'pool1',
    ]);
    assert.deepEqual(pool.prefixes, ['10.80.0.0/16']);
    assert.equal(pool.address_scope_id, scope.id);
    const carved = await cli.json<Shown>([...DEMO, 'subnet', 'create', '--subnet-pool', 'pool1', '--network', 'pool-net', 'pooled']);
    assert.equal(carved.cidr, '10.80.0.0/24');
    assert.equal(carved.subnet_pool_id ?? carved.subnetpool_id, pool.id);
    const small = await cli.json<Shown>([...DEMO, 'subnet', 'create', '--subnet-pool', 'pool1', '--prefix-length', '26', '--network', 'pool-net', 'pooled-small']);
    assert.equal(small.cidr, '10.80.1.0/26');
    assertRefused(await cli.fails([...DEMO, 'subnet', 'pool', 'delete', 'pool1']), 409);
    assertRefused(await cli.fails([...DEMO, 'address', 'scope', 'delete', 'scope1']), 409);
    await cli.ok([...DEMO, 'subnet', 'delete', 'pooled', 'pooled-small']);
    await cli.ok([...DEMO, 'subnet', 'pool', 'delete', 'pool1']);
    await cli.ok([...DEMO, 'address', 'scope', 'delete', 'scope1']);
    // Admin's own pool and scope are neither seen nor used by demo.
    await cli.ok([...ADMIN, 'address', 'scope', 'create', '--ip-version', '4', 'admin-scope']);
    await cli.ok([...ADMIN, 'subnet', 'pool', 'create', '--pool-prefix', '10.81.0.0/16', '--default-prefix-length', '24', 'admin-pool']);
    assert.match((await cli.fails([...DEMO, 'subnet', 'pool', 'show', 'admin-pool'])).stderr, /No SubnetPool found|404|could not be found/i);
    assert.match((await cli.fails([...DEMO, 'address', 'scope', 'show', 'admin-scope'])).stderr, /No AddressScope found|404|could not be found/i);
    const adminPoolId = (await cli.json<Shown>([...ADMIN, 'subnet', 'pool', 'show', 'admin-pool'])).id as string;
    // The CLI looks the pool up first, and Kumo answers it 404 as Neutron does.
    assert.match((await cli.fails([...DEMO, 'subnet', 'create', '--subnet-pool', adminPoolId, '--network', 'pool-net', 'stolen'])).stderr, /No SubnetPool found|404/);
  });

  it('admin shares a network with demo alone through an RBAC policy, and takes it back', SLOW, async () => {
    const target = await cli.json<Shown>([...ADMIN, 'network', 'create', 'for-demo']);
    assert.match((await cli.fails([...DEMO, 'network', 'show', target.id as string])).stderr, /No Network found|404|could not be found/i);
    const policy = await cli.json<Shown>([
      ...ADMIN, 'network', 'rbac', 'create', '--type', 'network', '--action', 'access_as_shared', '--target-project', 'demo', '--target-project-domain', 'Default', 'for-demo',
    ]);
    assert.equal(policy.object_id, target.id);
    assert.equal(policy.action, 'access_as_shared');
    const seen = await cli.json<Shown>([...DEMO, 'network', 'show', target.id as string]);
    assert.equal(seen.shared, true);
    const policies = await cli.json<Shown[]>([...ADMIN, 'network', 'rbac', 'list']);
    assert.ok(policies.some((p) => p.ID === policy.id), JSON.stringify(policies));
    // Demo may neither remove admin's policy nor make one on admin's network.
    assert.match((await cli.fails([...DEMO, 'network', 'rbac', 'delete', policy.id as string])).stderr, /404|could not be found|No RBAC/i);
    assertRefused(await cli.fails([...DEMO, 'network', 'rbac', 'create', '--type', 'network', '--action', 'access_as_shared', '--target-all-projects', target.id as string]), 403);
    await cli.ok([...ADMIN, 'network', 'rbac', 'delete', policy.id as string]);
    assert.match((await cli.fails([...DEMO, 'network', 'show', target.id as string])).stderr, /No Network found|404|could not be found/i);
  });

  it("shows admin a network's IP availability, and the network availability zone and service provider", SLOW, async () => {
    await cli.ok([...DEMO, 'network', 'create', 'avail-net']);
    await cli.ok([...DEMO, 'subnet', 'create', '--subnet-range', '10.82.0.0/24', '--network', 'avail-net', 'avail-subnet']);
    const availability = await cli.json<Shown>([...ADMIN, 'ip', 'availability', 'show', 'avail-net']);
    assert.equal(availability.network_name, 'avail-net');
    assert.ok(Number(availability.total_ips) > 0, JSON.stringify(availability));
    const listed = await cli.json<Shown[]>([...ADMIN, 'ip', 'availability', 'list']);
    assert.ok(listed.some((a) => a['Network Name'] === 'avail-net'), JSON.stringify(listed));
    assertRefused(await cli.fails([...DEMO, 'ip', 'availability', 'show', 'avail-net']), 403);
    const zones = await cli.json<Shown[]>([...DEMO, 'availability', 'zone', 'list', '--network', '--long']);
    assert.ok(zones.some((z) => z['Zone Name'] === 'nova' && z['Zone Resource'] === 'network'), JSON.stringify(zones));
    const providers = await cli.json<Shown[]>([...ADMIN, 'network', 'service', 'provider', 'list']);
    assert.equal(providers[0]?.['Service Type'], 'L3_ROUTER_NAT');
  });

  it("auto-allocates demo's topology from the default pool on public, after checking the resources", SLOW, async () => {
    assert.match((await cli.fails([...DEMO, 'network', 'auto', 'allocated', 'topology', 'create', '--check-resources'])).stderr, /Deployment error: No default router:external network/);
    const pub = await cli.json<Shown>([...ADMIN, 'network', 'create', '--external', 'public']);
    await cli.ok([...ADMIN, 'subnet', 'create', '--subnet-range', '192.0.2.0/24', '--no-dhcp', '--network', 'public', 'public-subnet']);
    await cli.ok([...ADMIN, 'subnet', 'pool', 'create', '--share', '--default', '--pool-prefix', '10.90.0.0/22', '--default-prefix-length', '26', 'shared-default-subnetpool-v4']);
    // Neutron answers {"id": "dry-run=pass", ...}; success is the exit status.
    await cli.json<Shown>([...DEMO, 'network', 'auto', 'allocated', 'topology', 'create', '--check-resources']);
    const made = await cli.json<Shown>([...DEMO, 'network', 'auto', 'allocated', 'topology', 'create']);
    assert.match(made.id as string, UUID);
    const network = await cli.json<Shown>([...DEMO, 'network', 'show', made.id as string]);
    assert.equal(network.name, 'auto_allocated_network');
    const router = await cli.json<Shown>([...DEMO, 'router', 'show', 'auto_allocated_router']);
    assert.equal(router.external_gateway_info?.network_id, pub.id);
    await cli.ok([...DEMO, 'network', 'auto', 'allocated', 'topology', 'delete']);
    assert.match((await cli.fails([...DEMO, 'network', 'show', made.id as string])).stderr, /No Network found|404|could not be found/i);
  });
});
