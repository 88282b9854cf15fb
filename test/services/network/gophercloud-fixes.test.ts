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
});
