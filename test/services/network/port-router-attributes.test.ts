import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NoopDataplane } from '../../../src/agents/network/dataplane/noop/noop.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertNeutronError } from './helpers.js';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Subnet CIDR normalisation, a router's dvr/ha flags, vnic_type updates and extra_dhcp_opts. */
describe('networking: subnet CIDRs, router flags, vNIC types and per-port DHCP options', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  const net = (path: string) => `/networking/v2.0${path}`;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
  });

  after(async () => {
    await cloud?.stop();
  });

  const network = async (token: string, name: string) => {
    const res = await api(cloud.url, 'POST', net('/networks'), token, { network: { name } });
    assert.equal(res.status, 201);
    return res.json.network.id as string;
  };

  it('takes a subnet CIDR with host bits set as its network, as Neutron does', async () => {
    const networkId = await network(demo, 'hostbits');
    const subnet = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, cidr: '10.31.7.77/24', ip_version: 4 } });
    assert.equal(subnet.status, 201, JSON.stringify(subnet.json));
    assert.equal(subnet.json.subnet.cidr, '10.31.7.0/24');
    assert.equal(subnet.json.subnet.gateway_ip, '10.31.7.1');
    const v6 = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, cidr: '2001:db8:5::9/64', ip_version: 6 } });
    assert.equal(v6.status, 201, JSON.stringify(v6.json));
    assert.equal(v6.json.subnet.cidr, '2001:db8:5::/64');
    // The normalised network still overlaps: a second spelling of it is refused.
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, cidr: '10.31.7.200/24', ip_version: 4 } }), 400, 'InvalidInput');
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, cidr: '10.31.7.0/33', ip_version: 4 } }), 400, 'InvalidInput');
  });

  it("takes an admin's distributed and ha flags, shows them to admins only, and refuses them from a member", async () => {
    const router = await api(cloud.url, 'POST', net('/routers'), admin, { router: { name: 'dvr', distributed: true } });
    assert.equal(router.status, 201, JSON.stringify(router.json));
    assert.equal(router.json.router.distributed, true);
    assert.equal(router.json.router.ha, false);
    const id = router.json.router.id as string;
    // Migrating an active router is refused, as Neutron does; once down it goes.
    assertNeutronError(await api(cloud.url, 'PUT', net(`/routers/${id}`), admin, { router: { distributed: false } }), 400, 'BadRequest');
    assertNeutronError(await api(cloud.url, 'PUT', net(`/routers/${id}`), admin, { router: { admin_state_up: false, ha: true } }), 400, 'BadRequest');
    assert.equal((await api(cloud.url, 'PUT', net(`/routers/${id}`), admin, { router: { admin_state_up: false } })).status, 200);
    const down = await api(cloud.url, 'PUT', net(`/routers/${id}`), admin, { router: { distributed: false, ha: true } });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    assert.equal(down.json.router.distributed, false);
    assert.equal(down.json.router.ha, true);
    assert.equal((await api(cloud.url, 'GET', net(`/routers/${id}`), admin)).json.router.ha, true);

    for (const flags of [{ distributed: true }, { ha: true }, { distributed: false }]) {
      assertNeutronError(await api(cloud.url, 'POST', net('/routers'), demo, { router: { name: 'mine', ...flags } }), 403, 'PolicyNotAuthorized');
    }
    const own = await api(cloud.url, 'POST', net('/routers'), demo, { router: { name: 'mine' } });
    assert.equal(own.status, 201);
    assert.equal(own.json.router.distributed, undefined, 'get_router:distributed is admin_only');
    assertNeutronError(await api(cloud.url, 'PUT', net(`/routers/${own.json.router.id}`), demo, { router: { admin_state_up: false, ha: true } }), 403, 'PolicyNotAuthorized');
    assertNeutronError(await api(cloud.url, 'POST', net('/routers'), admin, { router: { distributed: 'maybe' } }), 400, 'InvalidInput');
  });

  it('applies binding:vnic_type updates, binding again: the Linux bridge binds normal vNICs only', async () => {
    const networkId = await network(admin, 'vnic');
    const host = cloud.cloud.config.hostName;
    const port = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: networkId, 'binding:host_id': host } });
    assert.equal(port.status, 201);
    assert.equal(port.json.port['binding:vif_type'], 'bridge');
    const id = port.json.port.id as string;
    const direct = await api(cloud.url, 'PUT', net(`/ports/${id}`), admin, { port: { 'binding:vnic_type': 'direct' } });
    assert.equal(direct.status, 200, JSON.stringify(direct.json));
    assert.equal(direct.json.port['binding:vnic_type'], 'direct');
    assert.equal(direct.json.port['binding:vif_type'], 'binding_failed');
    assert.equal((await api(cloud.url, 'GET', net(`/ports/${id}`), admin)).json.port['binding:vnic_type'], 'direct');
    const normal = await api(cloud.url, 'PUT', net(`/ports/${id}`), admin, { port: { 'binding:vnic_type': 'normal' } });
    assert.equal(normal.json.port['binding:vif_type'], 'bridge');
    const bad = await api(cloud.url, 'PUT', net(`/ports/${id}`), admin, { port: { 'binding:vnic_type': 'warp-drive' } });
    assertNeutronError(bad, 400, 'HTTPBadRequest');
    assert.match(bad.json.NeutronError.message, /^Invalid input for binding:vnic_type\. Reason: warp-drive is not in \[/);

    // A member changes its own port's vNIC type (update_port:binding:vnic_type), not another project's.
    const demoNet = await network(demo, 'vnic-demo');
    const mine = await api(cloud.url, 'POST', net('/ports'), demo, { port: { network_id: demoNet } });
    const changed = await api(cloud.url, 'PUT', net(`/ports/${mine.json.port.id}`), demo, { port: { 'binding:vnic_type': 'macvtap' } });
    assert.equal(changed.status, 200, JSON.stringify(changed.json));
    assert.equal(changed.json.port['binding:vnic_type'], 'macvtap');
    assertNeutronError(await api(cloud.url, 'PUT', net(`/ports/${id}`), demo, { port: { 'binding:vnic_type': 'normal' } }), 404);
  });

  it('keeps extra_dhcp_opts, merges updates as Neutron does, and hands them to the DHCP agent tagged by port', async () => {
    const networkId = await network(demo, 'dhcp-opts');
    const subnet = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, cidr: '10.32.0.0/24', ip_version: 4 } });
    assert.equal(subnet.status, 201);
    const created = await api(cloud.url, 'POST', net('/ports'), demo, {
      port: {
        network_id: networkId,
        extra_dhcp_opts: [
          { opt_name: 'domain-name', opt_value: 'opts.example' },
          { opt_name: '252', opt_value: 'http://192.0.2.1/wpad.dat', ip_version: 4 },
        ],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const port = created.json.port as { id: string; mac_address: string; extra_dhcp_opts: unknown[] };
    assert.deepEqual(port.extra_dhcp_opts, [
      { opt_name: 'domain-name', opt_value: 'opts.example', ip_version: 4 },
      { opt_name: '252', opt_value: 'http://192.0.2.1/wpad.dat', ip_version: 4 },
    ]);
    // The network node's DHCP entry carries them on this port's host entry.
    const local = cloud.cloud.networkAgent.dataplane as NoopDataplane;
    const entry = await until('the port options in the DHCP state', () => {
      const host = local.current()?.dhcp.flatMap((d) => d.hosts).find((h) => h.macAddress === port.mac_address);
      return host?.options?.length === 2 ? host : undefined;
    });
    assert.equal(entry.portId, port.id);
    assert.deepEqual(entry.options, [
      { name: 'domain-name', value: 'opts.example' },
      { name: '252', value: 'http://192.0.2.1/wpad.dat' },
    ]);

    // An update: a new value replaces, null removes, the rest stays.
    const updated = await api(cloud.url, 'PUT', net(`/ports/${port.id}`), demo, {
      port: { extra_dhcp_opts: [{ opt_name: '252', opt_value: null }, { opt_name: 'domain-name', opt_value: 'other.example' }, { opt_name: 'ntp-server', opt_value: '192.0.2.123' }] },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.json));
    assert.deepEqual(updated.json.port.extra_dhcp_opts, [
      { opt_name: 'domain-name', opt_value: 'other.example', ip_version: 4 },
      { opt_name: 'ntp-server', opt_value: '192.0.2.123', ip_version: 4 },
    ]);
    await until('the updated options in the DHCP state', () => {
      const host = local.current()?.dhcp.flatMap((d) => d.hosts).find((h) => h.macAddress === port.mac_address);
      return host?.options?.some((o) => o.value === 'other.example') && host.options.length === 2 ? host : undefined;
    });

    // What would reach dnsmasq as another line or option is refused with Neutron's 400: the
    // shape by the route's schema (HTTPBadRequest, as Neutron's validator), dnsmasq's safety by the domain.
    for (const [bad, type] of [
      [[{ opt_name: 'domain-name', opt_value: 'a\ndhcp-script=/bin/sh' }], 'InvalidInput'],
      [[{ opt_name: 'x,y', opt_value: 'v' }], 'InvalidInput'],
      [[{ opt_name: 'a', opt_value: 'v', ip_version: 5 }], 'HTTPBadRequest'],
      [[{ opt_name: 'a', opt_value: 'v' }, { opt_name: 'a', opt_value: 'w' }], 'InvalidInput'],
      ['not-a-list', 'HTTPBadRequest'],
      [[{ opt_name: 'a', opt_value: 'v', extra: 1 }], 'HTTPBadRequest'],
    ] as const) {
      assertNeutronError(await api(cloud.url, 'PUT', net(`/ports/${port.id}`), demo, { port: { extra_dhcp_opts: bad } }), 400, type, JSON.stringify(bad));
    }
    assert.equal((await api(cloud.url, 'GET', net(`/ports/${port.id}`), demo)).json.port.extra_dhcp_opts.length, 2);
  });
});
