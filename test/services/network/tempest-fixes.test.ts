import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

/** Behaviours tempest's network tests showed us, each pinned by a test of our own. */
describe('networking behaviours found by tempest', () => {
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

  it('shows an external network to every project but its subnets only to the owner', async () => {
    const ext = await api(cloud.url, 'POST', net('/networks'), admin, {
      network: { name: 'ext-vis', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet9' },
    });
    assert.equal(ext.status, 201);
    const subnet = await api(cloud.url, 'POST', net('/subnets'), admin, {
      subnet: { network_id: ext.json.network.id, cidr: '198.51.100.0/24', ip_version: 4, enable_dhcp: false },
    });
    assert.equal(subnet.status, 201);
    const networks = await api(cloud.url, 'GET', net('/networks'), demo);
    assert.ok(networks.json.networks.some((n: { id: string }) => n.id === ext.json.network.id));
    const subnets = await api(cloud.url, 'GET', net('/subnets'), demo);
    assert.ok(!subnets.json.subnets.some((s: { id: string }) => s.id === subnet.json.subnet.id));
    assert.equal((await api(cloud.url, 'GET', net(`/subnets/${subnet.json.subnet.id}`), demo)).status, 404);
    assert.equal((await api(cloud.url, 'GET', net(`/subnets/${subnet.json.subnet.id}`), admin)).status, 200);
  });

  it('names the bad port number in a security group rule', async () => {
    const group = await api(cloud.url, 'POST', net('/security-groups'), demo, { security_group: { name: 'ports' } });
    assert.equal(group.status, 201);
    const rule = await api(cloud.url, 'POST', net('/security-group-rules'), demo, {
      security_group_rule: { security_group_id: group.json.security_group.id, direction: 'ingress', protocol: 'tcp', port_range_min: -16, port_range_max: 80 },
    });
    assert.equal(rule.status, 400);
    assert.match(rule.json.NeutronError.message, /Invalid value for port -16/);
  });
});
