// The Linux dataplane driven through the API on one host (the all-in-one shape): guests are
// network namespaces plugged in as instance taps; the host itself is a namespace of the lab,
// with an "external" namespace behind the flat provider network. Runs as root (CI does).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestCloud } from '../helpers/cloud.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';
import { cloudInLab, dhcpNs, instanceOnPort, namespaceExists, NeutronClient, routerNs, until, type Body } from './helpers/dataplane.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox', 'haproxy']);

describe('linuxbridge dataplane on one host, through the API', { skip }, () => {
  const lab = new NetLab();
  let tc: TestCloud;
  let admin: NeutronClient;
  let adminToken: string;
  let host: string;
  let ext: string;
  let int1: [Body, Body];
  let int2: [Body, Body];
  const guests: Record<string, { ns: string; port: Body; instance?: string }> = {};

  /** A guest on `network`: an instance (fake driver) on a port of its own, plugged in as its tap. */
  async function guest(name: string, network: Body, withInstance = true): Promise<{ ns: string; port: Body; instance?: string }> {
    const port = await admin.port(network.id as string, { name });
    const instance = withInstance ? await instanceOnPort(tc, adminToken, port.id as string, name) : undefined;
    const ns = await lab.guest(name, host, { id: port.id as string, macAddress: port.mac_address as string }, network.mtu as number);
    const g = { ns, port, ...(instance ? { instance } : {}) };
    guests[name] = g;
    return g;
  }
  const fixedIp = (g: { port: Body }) => g.port.fixed_ips[0].ip_address as string;

  before(async () => {
    host = await lab.namespace('host');
    ext = await lab.namespace('ext');
    await lab.run(['ip', '-n', host, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext]);
    await lab.run(['ip', '-n', ext, 'addr', 'add', '203.0.113.254/24', 'dev', 'eth0']);
    await lab.run(['ip', '-n', ext, 'link', 'set', 'eth0', 'up']);
    await lab.run(['ip', '-n', host, 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
    tc = await cloudInLab(lab, host, { tunnelIp: '10.250.0.1', physnets: { physnet1: 'ext0' } });
    adminToken = await tc.token('admin');
    admin = new NeutronClient(tc, adminToken);
    int1 = await admin.tenantNetwork('int1', '10.90.1.0/24');
    int2 = await admin.tenantNetwork('int2', '10.90.2.0/24');
  });

  after(async () => {
    await tc?.stop();
    await lab.cleanup();
  });

  it('gives two guests their fixed IPs by DHCP, and they ping each other', async () => {
    const a = await guest('ga', int1[0]);
    const b = await guest('gb', int1[0]);
    await until('the DHCP namespace', () => namespaceExists(lab, dhcpNs(lab, int1[0].id)));
    assert.equal(await until('a lease for ga', async () => (await lab.dhcp(a.ns).catch(() => '')) || undefined), fixedIp(a));
    assert.equal(await until('a lease for gb', async () => (await lab.dhcp(b.ns).catch(() => '')) || undefined), fixedIp(b));
    assert.ok(await lab.ping(a.ns, fixedIp(b)), 'guests on one network ping (default group allows its members)');
  });

  it('keeps two tenant networks apart until a router joins them; SNAT reaches the outside', async () => {
    const c = await guest('gc', int2[0]);
    await until('a lease for gc', async () => (await lab.dhcp(c.ns).catch(() => '')) || undefined);
    const a = guests.ga!;
    assert.equal(await lab.ping(a.ns, fixedIp(c), 1), false, 'no router: no path');
    const [extNet] = await admin.externalNetwork();
    const router = await admin.call('POST', '/routers', { router: { name: 'r1', external_gateway_info: { network_id: extNet.id } } });
    for (const [, subnet] of [int1, int2]) await admin.call('PUT', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet.id }, 200);
    await until('the router namespace', () => namespaceExists(lab, routerNs(lab, router.id as string)));
    assert.ok(await until('a ping across the router', () => lab.ping(a.ns, fixedIp(c), 1)));
    const gatewayIp = (await admin.call('GET', `/routers/${router.id}`)).external_gateway_info.external_fixed_ips[0].ip_address as string;
    // What the outside sees: a CGI in the external namespace answers with the caller's address.
    await externalWebServer();
    const seen = await until('GET from the external host', () => httpGet(a.ns, 'http://203.0.113.254:8080/cgi-bin/ip'));
    assert.equal(seen.trim().replace(/^\[::ffff:(.*)\]$/, '$1'), gatewayIp, 'SNAT to the router gateway address');
  });

  it('reaches a guest through a floating IP (ICMP and TCP) only while an ingress rule and the association last', async () => {
    const a = guests.ga!;
    const www = `${lab.tempDir()}/www-ga`;
    mkdirSync(www, { recursive: true });
    writeFileSync(`${www}/index.html`, 'hello-from-ga\n');
    await lab.run(['busybox', 'httpd', '-p', '80', '-h', www], a.ns);
    const [extNet] = (await admin.call('GET', '/networks?name=ext')) as unknown as Body[];
    const fip = await admin.call('POST', '/floatingips', { floatingip: { floating_network_id: extNet?.id, port_id: a.port.id } });
    const address = fip.floating_ip_address as string;
    // The default group admits only its own members: from outside, nothing gets in.
    assert.equal(await lab.ping(ext, address, 1), false, 'ICMP refused without an ingress rule');
    assert.equal(await httpGet(ext, `http://${address}/`), undefined, 'TCP refused without an ingress rule');
    const group = (a.port.security_groups as string[])[0];
    await admin.call('POST', '/security-group-rules', { security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 80, remote_ip_prefix: '0.0.0.0/0' } });
    await admin.call('POST', '/security-group-rules', { security_group_rule: { security_group_id: group, direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' } });
    assert.ok(await until('a ping to the floating IP', () => lab.ping(ext, address, 1)));
    assert.equal((await until('TCP through the floating IP', () => httpGet(ext, `http://${address}/`)))?.trim(), 'hello-from-ga');
    await admin.call('PUT', `/floatingips/${fip.id}`, { floatingip: { port_id: null } }, 200);
    assert.ok(await until('the association cut off', async () => !(await lab.ping(ext, address, 1)), 5_000));
    assert.equal(await httpGet(ext, `http://${address}/`), undefined);
  });

  it('stops a guest that changes its own IP from sending', async () => {
    const b = guests.gb!;
    const a = guests.ga!;
    assert.ok(await lab.ping(b.ns, fixedIp(a), 1));
    await lab.run(['ip', 'addr', 'flush', 'dev', 'eth0'], b.ns);
    await lab.run(['ip', 'addr', 'add', '10.90.1.222/24', 'dev', 'eth0'], b.ns);
    assert.equal(await lab.ping(b.ns, fixedIp(a), 1), false, 'anti-spoofing drops a source that is not the port\'s');
    await lab.run(['ip', 'addr', 'flush', 'dev', 'eth0'], b.ns);
    await lab.run(['ip', 'addr', 'add', `${fixedIp(b)}/24`, 'dev', 'eth0'], b.ns);
    assert.ok(await lab.ping(b.ns, fixedIp(a), 1));
  });

  it('answers each guest its own instance id from 169.254.169.254, through the router and on an isolated network', async () => {
    const a = guests.ga!;
    // ga's first lease came while int1 had no router: it routes 169.254.169.254 through the
    // DHCP port (option 121). Now the router serves metadata: renew, as a guest does, and drop
    // the route the new lease no longer sends (the test's lease script adds, never removes).
    await lab.dhcp(a.ns);
    await lab.tryRun(['ip', 'route', 'del', '169.254.169.254/32'], a.ns);
    assert.doesNotMatch(await lab.run(['ip', 'route'], a.ns), /169\.254\.169\.254/);
    const viaRouter = await until('metadata through the router', () => httpGet(a.ns, 'http://169.254.169.254/openstack/latest/meta_data.json'));
    assert.equal((JSON.parse(viaRouter) as { uuid: string }).uuid, a.instance);
    const ec2Id = await httpGet(a.ns, 'http://169.254.169.254/latest/meta-data/instance-id');
    assert.ok(ec2Id && ec2Id.length > 0, 'the EC2 instance-id answers');

    const iso = await admin.tenantNetwork('iso', '10.90.3.0/24');
    const d = await guest('gd', iso[0]);
    await until('a lease for gd', async () => (await lab.dhcp(d.ns).catch(() => '')) || undefined);
    const routes = await lab.run(['ip', 'route'], d.ns);
    assert.match(routes, /169\.254\.169\.254 via 10\.90\.3\.\d+/, 'option 121 routes metadata through the DHCP port');
    const viaDhcp = await until('metadata through the DHCP namespace', () => httpGet(d.ns, 'http://169.254.169.254/openstack/latest/meta_data.json'));
    assert.equal((JSON.parse(viaDhcp) as { uuid: string }).uuid, d.instance);

    // A guest on another network, without an instance of its own, learns nothing of ga's.
    const c = guests.gc!;
    const other = await httpGet(c.ns, 'http://169.254.169.254/openstack/latest/meta_data.json');
    assert.ok(other === undefined || !other.includes(String(a.instance)), other);
  });

  /** busybox httpd in the external namespace with a CGI that prints the caller's address. */
  let webDir: string | undefined;
  async function externalWebServer(): Promise<string> {
    if (webDir) return webDir;
    webDir = `${lab.tempDir()}/ext-www`;
    mkdirSync(`${webDir}/cgi-bin`, { recursive: true });
    writeFileSync(`${webDir}/cgi-bin/ip`, '#!/bin/sh\necho Content-Type: text/plain\necho\necho $REMOTE_ADDR\n', { mode: 0o755 });
    await lab.run(['busybox', 'httpd', '-p', '8080', '-h', webDir], ext);
    return webDir;
  }

  /** GET with busybox wget inside a namespace; undefined when it fails within 3 s. */
  async function httpGet(ns: string, url: string): Promise<string | undefined> {
    const r = await lab.tryRun(['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', url], ns);
    return r.ok ? r.out : undefined;
  }
});
