import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

/** Behaviours gophercloud's acceptance tests showed us (issue 18), each as Neutron documents it. */
describe('networking behaviours found by gophercloud', () => {
  let cloud: TestCloud;
  let admin: string;
  const net = (path: string) => `/networking/v2.0${path}`;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
  });

  after(async () => {
    await cloud?.stop();
  });

  it('takes an extra DHCP option whose name has underscores, and refuses one that could break the options file', async () => {
    const network = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'dhcp-opts' } });
    const id = network.json.network.id as string;
    const ok = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: id, extra_dhcp_opts: [{ opt_name: 'test_option_1', opt_value: 'test_value_1' }] } });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.json.port.extra_dhcp_opts, [{ opt_name: 'test_option_1', opt_value: 'test_value_1', ip_version: 4 }]);
    const bad = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: id, extra_dhcp_opts: [{ opt_name: 'a,b\nc', opt_value: 'x' }] } });
    assert.equal(bad.status, 400);
  });

  it('keeps quotas for subnet pools and RBAC policies, unlimited (-1) and 0 included', async () => {
    const project = (await api(cloud.url, 'GET', '/identity/v3/projects?name=demo', admin)).json.projects[0].id as string;
    const put = await api(cloud.url, 'PUT', net(`/quotas/${project}`), admin, { quota: { subnetpool: 15, rbac_policy: 0, network: -1 } });
    assert.equal(put.status, 200);
    assert.equal(put.json.quota.subnetpool, 15);
    assert.equal(put.json.quota.rbac_policy, 0);
    const defaults = await api(cloud.url, 'GET', net(`/quotas/${project}/default`), admin);
    assert.equal(defaults.json.quota.subnetpool, -1);
    assert.equal(defaults.json.quota.rbac_policy, 10);
    // A quota of 0 RBAC policies refuses the first one.
    const demo = await cloud.token('demo');
    const network = await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'rbac-quota' } });
    const rbac = await api(cloud.url, 'POST', net('/rbac-policies'), demo, {
      rbac_policy: { object_type: 'network', object_id: network.json.network.id, action: 'access_as_shared', target_tenant: project },
    });
    assert.equal(rbac.status, 409);
    assert.equal(rbac.json.NeutronError.type, 'OverQuota');
  });

  it('advertises net-mtu-writable, as a network takes an mtu on create and update', async () => {
    const ext = await api(cloud.url, 'GET', net('/extensions/net-mtu-writable'), admin);
    assert.equal(ext.status, 200);
    assert.equal(ext.json.extension.alias, 'net-mtu-writable');
    const network = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'mtu', mtu: 1400 } });
    assert.equal(network.json.network.mtu, 1400);
    const updated = await api(cloud.url, 'PUT', net(`/networks/${network.json.network.id}`), admin, { network: { mtu: 1300 } });
    assert.equal(updated.json.network.mtu, 1300);
  });

  it("gives a router interface's port a floating IP, as Neutron refuses only DHCP ports", async () => {
    const ext = await api(cloud.url, 'POST', net('/networks'), admin, {
      network: { name: 'fip-ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet7' },
    });
    const extId = ext.json.network.id as string;
    assert.equal((await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: extId, cidr: '203.0.113.0/24', ip_version: 4, enable_dhcp: false } })).status, 201);
    const inner = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'fip-inner' } });
    const innerId = inner.json.network.id as string;
    const subnet = await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: innerId, cidr: '10.77.0.0/24', ip_version: 4 } });
    const router = await api(cloud.url, 'POST', net('/routers'), admin, { router: { name: 'fip-r', external_gateway_info: { network_id: extId } } });
    const routerId = router.json.router.id as string;
    const port = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: innerId, fixed_ips: [{ subnet_id: subnet.json.subnet.id }] } });
    const portId = port.json.port.id as string;
    assert.equal((await api(cloud.url, 'PUT', net(`/routers/${routerId}/add_router_interface`), admin, { port_id: portId })).status, 200);
    const fip = await api(cloud.url, 'POST', net('/floatingips'), admin, { floatingip: { floating_network_id: extId, port_id: portId } });
    assert.equal(fip.status, 201, JSON.stringify(fip.json));
    assert.equal(fip.json.floatingip.router_id, routerId);
    assert.equal((await api(cloud.url, 'DELETE', net(`/floatingips/${fip.json.floatingip.id}`), admin)).status, 204);
    const dhcp = await api(cloud.url, 'POST', net('/ports'), admin, { port: { network_id: innerId, device_owner: 'network:dhcp', fixed_ips: [{ subnet_id: subnet.json.subnet.id }] } });
    const refused = await api(cloud.url, 'POST', net('/floatingips'), admin, { floatingip: { floating_network_id: extId, port_id: dhcp.json.port.id } });
    assert.equal(refused.status, 400);
    // The router's gateway port is on the external network itself: no router reaches it from there.
    const gateway = (await api(cloud.url, 'GET', net(`/ports?device_id=${routerId}&device_owner=network:router_gateway`), admin)).json.ports[0];
    const onGateway = await api(cloud.url, 'POST', net('/floatingips'), admin, { floatingip: { floating_network_id: extId, port_id: gateway.id } });
    assert.ok(onGateway.status >= 400 && onGateway.status < 500, `${onGateway.status} ${JSON.stringify(onGateway.json)}`);
  });
});
