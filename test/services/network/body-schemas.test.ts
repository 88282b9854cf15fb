// The network routes' declared body schemas (src/services/network/attributes): for each resource,
// wrong types, unknown attributes, overlong strings, attributes a verb does not take and bulk
// creates with a bad member answer 400 in Neutron's words and error shape, before any lookup
// (the ids below need not exist); Neutron's string spellings of booleans and integers still work.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertNeutronError } from './helpers.js';

type Case = [method: string, path: string, body: unknown, type: string, message: RegExp];

describe('networking: request bodies checked by their route schemas', () => {
  let cloud: TestCloud;
  let admin: string;
  const net = (path: string) => `/networking/v2.0${path}`;
  const id = randomUUID();

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
  });

  after(async () => {
    await cloud?.stop();
  });

  async function refusedAll(cases: Case[]): Promise<void> {
    for (const [method, path, body, type, message] of cases) {
      const res = await api(cloud.url, method, net(path), admin, body);
      const label = `${method} ${path} ${JSON.stringify(body)}`;
      assertNeutronError(res, 400, type, label);
      assert.match(res.json.NeutronError.message, message, `${label}: ${res.json.NeutronError.message}`);
      assert.equal(res.json.NeutronError.detail, '');
    }
  }

  it('networks: types, lengths, unknown and read-only attributes, and converters', async () => {
    await refusedAll([
      ['POST', '/networks', { network: { name: 42 } }, 'HTTPBadRequest', /^Invalid input for name\. Reason: '42' is not a valid string\.$/],
      ['POST', '/networks', { network: { name: 'n'.repeat(256) } }, 'HTTPBadRequest', /^Invalid input for name\. Reason: 'n+\.\.\.' exceeds maximum length of 255\.$/],
      ['POST', '/networks', { network: { description: { text: 'x' } } }, 'HTTPBadRequest', /^Invalid input for description\. Reason: '\{'text': 'x'\}' is not a valid string\.$/],
      ['POST', '/networks', { network: { admin_state_up: 'maybe' } }, 'InvalidInput', /^Invalid input for operation: 'maybe' cannot be converted to boolean\.$/],
      ['POST', '/networks', { network: { shared: 2 } }, 'InvalidInput', /'2' cannot be converted to boolean/],
      ['POST', '/networks', { network: { mtu: 'jumbo' } }, 'InvalidInput', /^Invalid input for operation: 'jumbo' is not an integer\.$/],
      ['POST', '/networks', { network: { mtu: -1 } }, 'HTTPBadRequest', /^Invalid input for mtu\. Reason: '-1' should be non-negative\.$/],
      ['POST', '/networks', { network: { colour: 'blue', size: 1, name: 'x' } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'colour, size'$/],
      ['POST', '/networks', { network: { qos_policy_id: 'gold' } }, 'HTTPBadRequest', /Invalid input for qos_policy_id\. Reason: 'gold' is not a valid UUID\./],
      ['PUT', `/networks/${id}`, { network: { 'provider:network_type': 'vlan' } }, 'HTTPBadRequest', /^Cannot update read-only attribute provider:network_type$/],
      ['PUT', `/networks/${id}`, { network: { project_id: 'p' } }, 'HTTPBadRequest', /^Cannot update read-only attribute project_id$/],
      ['PUT', `/networks/${id}`, { network: 'x' }, 'BadRequest', /^Bad network request: Resource body required\.$/],
      ['POST', '/networks', { networks: [] }, 'BadRequest', /^Resources required$/],
      ['POST', '/networks', { networks: {} }, 'BadRequest', /^Bad network request: Resource body required\.$/],
    ]);
    // Neutron's converters: "FALSE" is false, "1400" is 1400.
    const made = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'converted', admin_state_up: 'FALSE', mtu: '1400', shared: 'true' } });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    assert.equal(made.json.network.admin_state_up, false);
    assert.equal(made.json.network.mtu, 1400);
    assert.equal(made.json.network.shared, true);
  });

  it('bulk creates: a bad member refuses the whole request, and nothing is made', async () => {
    await refusedAll([
      ['POST', '/networks', { networks: [{ name: 'bulk-ok' }, { name: 5 }] }, 'HTTPBadRequest', /^Invalid input for name\. Reason: '5' is not a valid string\.$/],
      ['POST', '/networks', { networks: [{ name: 'bulk-ok' }, { router: true }] }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'router'$/],
      ['POST', '/ports', { ports: [{ network_id: id }, { network_id: id, mac_address: 'zz' }] }, 'HTTPBadRequest', /Invalid input for mac_address\. Reason: 'zz' is not a valid MAC address\./],
      ['POST', '/security-groups', { security_groups: [{ name: 'bulk-ok' }, 'x'] }, 'BadRequest', /Bad security_group request: Resource body required\./],
    ]);
    const listed = await api(cloud.url, 'GET', net('/networks?name=bulk-ok'), admin);
    assert.deepEqual(listed.json.networks, []);
    const two = await api(cloud.url, 'POST', net('/networks'), admin, { networks: [{ name: 'bulk-a' }, { name: 'bulk-b', admin_state_up: 'True' }] });
    assert.equal(two.status, 201, JSON.stringify(two.json));
    assert.deepEqual(two.json.networks.map((n: { name: string }) => n.name), ['bulk-a', 'bulk-b']);
  });

  it('subnets and ports', async () => {
    await refusedAll([
      ['POST', '/subnets', { subnet: { cidr: '10.9.0.0/24' } }, 'HTTPBadRequest', /^Failed to parse request\. Required attribute 'network_id' not specified$/],
      ['POST', '/subnets', { subnet: { network_id: 'nope', cidr: '10.9.0.0/24' } }, 'HTTPBadRequest', /^Invalid input for network_id\. Reason: 'nope' is not a valid UUID\.$/],
      ['POST', '/subnets', { subnet: { network_id: id, cidr: '10.9.0.0/24', ip_version: 5 } }, 'HTTPBadRequest', /^Invalid input for ip_version\. Reason: 5 is not in \[4, 6\]\.$/],
      ['POST', '/subnets', { subnet: { network_id: id, cidr: '10.9.0.0/24', ip_version: 'four' } }, 'InvalidInput', /'four' is not an integer/],
      ['POST', '/subnets', { subnet: { network_id: id, cidr: '10.9.0.0/24', enable_dhcp: 'sometimes' } }, 'InvalidInput', /'sometimes' cannot be converted to boolean/],
      ['POST', '/subnets', { subnet: { network_id: id, cidr: '10.9.0.0/24', allocation_pools: [{ start: '10.9.0.5' }] } }, 'HTTPBadRequest', /^Invalid input for allocation_pools\. Reason: Validation of dictionary's keys failed\./],
      ['POST', '/subnets', { subnet: { network_id: id, cidr: '10.9.0.0/24', ipv6_ra_mode: 'fast' } }, 'HTTPBadRequest', /fast is not in \['slaac'/],
      ['PUT', `/subnets/${id}`, { subnet: { cidr: '10.0.0.0/24' } }, 'HTTPBadRequest', /^Cannot update read-only attribute cidr$/],
      ['POST', '/ports', { port: { name: 'p' } }, 'HTTPBadRequest', /Required attribute 'network_id' not specified/],
      // As Neutron's verify_attributes, an unknown attribute is named before a missing one.
      ['POST', '/ports', { port: { colour: 'x' } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'colour'$/],
      ['POST', '/ports', { port: { network_id: id, 'binding:vnic_type': 'warp' } }, 'HTTPBadRequest', /^Invalid input for binding:vnic_type\. Reason: warp is not in \['normal', /],
      ['POST', '/ports', { port: { network_id: id, fixed_ips: 'x' } }, 'HTTPBadRequest', /Invalid data format for fixed IP: 'x'/],
      ['POST', '/ports', { port: { network_id: id, fixed_ips: [{}] } }, 'HTTPBadRequest', /Validation of dictionary's keys failed/],
      ['POST', '/ports', { port: { network_id: id, security_groups: ['nope'] } }, 'HTTPBadRequest', /'nope' is not a valid UUID/],
      ['POST', '/ports', { port: { network_id: id, device_owner: 'x'.repeat(300) } }, 'HTTPBadRequest', /exceeds maximum length of 255/],
      ['POST', '/ports', { port: { network_id: id, extra_dhcp_opts: [{ opt_name: 'a', opt_value: 'v', extra: 1 }] } }, 'HTTPBadRequest', /Invalid input for extra_dhcp_opts/],
      ['PUT', `/ports/${id}`, { port: { 'binding:profile': 'x' } }, 'HTTPBadRequest', /'x' is not a dictionary/],
    ]);
  });

  it('routers, their interfaces and extra routes, and floating IPs', async () => {
    await refusedAll([
      ['POST', '/routers', { router: { routes: [] } }, 'HTTPBadRequest', /^Attribute 'routes' not allowed in POST$/],
      ['POST', '/routers', { router: { distributed: 'maybe' } }, 'InvalidInput', /'maybe' cannot be converted to boolean/],
      ['POST', '/routers', { router: { external_gateway_info: 'ext' } }, 'HTTPBadRequest', /^Invalid input for external_gateway_info\. Reason: Invalid data format for external_gateway_info: 'ext'\.$/],
      ['PUT', `/routers/${id}`, { router: { external_gateway_info: { enable_snat: false } } }, 'HTTPBadRequest', /Expected keys: \{'network_id'\}/],
      ['PUT', `/routers/${id}/add_router_interface`, {}, 'BadRequest', /^Bad router request: Either subnet_id or port_id must be specified\.$/],
      ['PUT', `/routers/${id}/add_router_interface`, { subnet_id: 'x' }, 'BadRequest', /^Bad router request: 'x' is not a valid UUID\.$/],
      ['PUT', `/routers/${id}/add_router_interface`, { subnet_id: id, port_id: id }, 'BadRequest', /^Bad router request: Cannot specify both subnet-id and port-id\.$/],
      ['PUT', `/routers/${id}/remove_router_interface`, { port_id: 7 }, 'BadRequest', /'7' is not a valid UUID/],
      ['PUT', `/routers/${id}/add_extraroutes`, { router: {} }, 'HTTPBadRequest', /^Failed to parse request\. Required attribute 'routes' not specified$/],
      ['PUT', `/routers/${id}/add_extraroutes`, { router: { routes: [{ destination: '10.0.0.0/24' }] } }, 'HTTPBadRequest', /^Invalid input for routes\. Reason: Validation of dictionary's keys failed/],
      ['PUT', `/routers/${id}/remove_extraroutes`, { router: { routes: [], name: 'x' } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'name'$/],
      ['POST', '/floatingips', { floatingip: {} }, 'HTTPBadRequest', /Required attribute 'floating_network_id' not specified/],
      ['POST', '/floatingips', { floatingip: { floating_network_id: id, fixed_ip_address: 10 } }, 'HTTPBadRequest', /'10' is not a valid string/],
      ['PUT', `/floatingips/${id}`, { floatingip: { port_id: 7 } }, 'HTTPBadRequest', /^Invalid input for port_id\. Reason: '7' is not a valid UUID\.$/],
    ]);
  });

  it('security groups and their rules', async () => {
    await refusedAll([
      ['POST', '/security-groups', { security_group: { stateful: 'kinda' } }, 'InvalidInput', /'kinda' cannot be converted to boolean/],
      ['POST', '/security-groups', { security_group: { rules: [] } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'rules'$/],
      ['PUT', `/security-groups/${id}`, { security_group: { project_id: 'p' } }, 'HTTPBadRequest', /^Cannot update read-only attribute project_id$/],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: id } }, 'HTTPBadRequest', /Required attribute 'direction' not specified/],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: id, direction: 'in' } }, 'HTTPBadRequest', /^Invalid input for direction\. Reason: in is not in \['ingress', 'egress'\]\.$/],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: id, direction: 'ingress', protocol: { name: 'tcp' } } }, 'SecurityGroupRuleInvalidProtocol', /not supported/],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: id, direction: 'ingress', protocol: 'tcp', port_range_min: -16 } }, 'SecurityGroupInvalidPortValue', /^Invalid value for port -16$/],
      ['POST', '/security-group-rules', { security_group_rule: { security_group_id: id, direction: 'ingress', normalized_cidr: '10.0.0.0/8' } }, 'HTTPBadRequest', /^Attribute 'normalized_cidr' not allowed in POST$/],
    ]);
  });

  it('subnet pools, address scopes and RBAC policies', async () => {
    await refusedAll([
      ['POST', '/subnetpools', { subnetpool: { name: 'p' } }, 'HTTPBadRequest', /Required attribute 'prefixes' not specified/],
      ['POST', '/subnetpools', { subnetpool: { name: 'p', prefixes: [] } }, 'HTTPBadRequest', /^Invalid input for prefixes\. Reason: List should not be empty\.$/],
      ['POST', '/subnetpools', { subnetpool: { name: 'p', prefixes: ['10.0.0.0/8'], default_quota: -1 } }, 'HTTPBadRequest', /'-1' should be non-negative/],
      ['POST', '/subnetpools', { subnetpool: { name: '', prefixes: ['10.0.0.0/8'] } }, 'HTTPBadRequest', /Blank strings are not permitted/],
      ['PUT', `/subnetpools/${id}`, { subnetpool: { shared: true } }, 'HTTPBadRequest', /^Cannot update read-only attribute shared$/],
      ['POST', '/address-scopes', { address_scope: { name: 's', ip_version: 5 } }, 'HTTPBadRequest', /5 is not in \[4, 6\]/],
      ['POST', '/address-scopes', { address_scope: { name: 's' } }, 'HTTPBadRequest', /Required attribute 'ip_version' not specified/],
      ['PUT', `/address-scopes/${id}`, { address_scope: { ip_version: 4 } }, 'HTTPBadRequest', /^Cannot update read-only attribute ip_version$/],
      ['POST', '/rbac-policies', { rbac_policy: { object_type: 'qos_policy', object_id: id, action: 'access_as_shared', target_tenant: '*' } }, 'HTTPBadRequest', /qos_policy is not in \['network'\]/],
      ['POST', '/rbac-policies', { rbac_policy: { object_type: 'network', object_id: id, action: 'access_as_shared', target_tenant: 'a b' } }, 'HTTPBadRequest', /'a b' is not a valid target project/],
    ]);
  });

  it('agents, quotas and tags', async () => {
    await refusedAll([
      ['PUT', `/agents/${id}`, { agent: { host: 'elsewhere' } }, 'HTTPBadRequest', /^Cannot update read-only attribute host$/],
      ['PUT', `/agents/${id}`, { agent: { admin_state_up: 'nah' } }, 'InvalidInput', /'nah' cannot be converted to boolean/],
      ['PUT', `/agents/${id}`, { agent: { colour: 1 } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'colour'$/],
      ['PUT', '/quotas/p', { quota: { network: 'lots' } }, 'InvalidInput', /'lots' is not an integer/],
      ['PUT', '/quotas/p', { quota: { network: -2 } }, 'HTTPBadRequest', /'-2' is too small - must be at least '-1'/],
      ['PUT', '/quotas/p', { quota: { widgets: 1 } }, 'HTTPBadRequest', /^Unrecognized attribute\(s\) 'widgets'$/],
      ['PUT', `/networks/${id}/tags`, { tags: ['a,b'] }, 'HTTPBadRequest', /^Invalid input for tags\. Reason: 'a,b' is not a valid tag\.$/],
      ['PUT', `/networks/${id}/tags`, { tags: ['t'.repeat(61)] }, 'HTTPBadRequest', /exceeds maximum length of 60/],
      ['PUT', `/networks/${id}/tags`, { tag: ['a'] }, 'HTTPBadRequest', /^Invalid tags body$/],
      ['PUT', `/networks/${id}/tags/${'t'.repeat(61)}`, undefined, 'HTTPBadRequest', /^Invalid input for tag\. Reason: 't{61}' exceeds maximum length of 60\.$/],
    ]);
    const project = randomUUID().replaceAll('-', '');
    const set = await api(cloud.url, 'PUT', net(`/quotas/${project}`), admin, { quota: { network: '20', port: -1 } });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.equal(set.json.quota.network, 20);
    assert.equal(set.json.quota.port, -1);
  });
});
