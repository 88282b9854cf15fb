// Bad input to the Networking API: each must be the right 4xx with Neutron's error body, never
// a 5xx. Table-driven cases first, then a deterministic randomized loop (fast-check) of malformed
// bodies against POST and PUT of networks, subnets, ports, security groups and rules. Runs on
// every engine in DATABASES: PostgreSQL refuses some values SQLite stores (NUL characters).
// KUMO_FUZZ_SEED picks another seed, KUMO_FUZZ_SCALE multiplies the run counts.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { projectId, projectWithRoles } from '../image/helpers.js';
import { assertNeutronError, neutronErrorProblem } from './helpers.js';

const V2 = '/networking/v2.0';
const SEED = Number(process.env.KUMO_FUZZ_SEED ?? 0x6e657574);
const SCALE = Number(process.env.KUMO_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
type Resource = Record<string, any>;

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

for (const engine of ENGINES) {
  describe(`networking API bad input on ${engine.name}`, { skip: engine.skip, timeout: 300_000 }, () => {
    let tc: TestCloud;
    let schema: string | undefined;
    let url: string;
    let admin: string;
    let demo: string;
    /** Demo's network with a subnet, a port and a security group, for requests that need real ids. */
    const fx: Record<'network' | 'subnet' | 'port' | 'group' | 'rule' | 'v6subnet', string> = {
      network: '',
      subnet: '',
      port: '',
      group: '',
      rule: '',
      v6subnet: '',
    };

    const neutron = (method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) =>
      api(url, method, `${V2}${path}`, token, body, headers);

    async function create(token: string, collection: string, member: string, body: Resource): Promise<Resource> {
      const res = await neutron('POST', `/${collection.replaceAll('_', '-')}`, token, { [member]: body });
      assert.equal(res.status, 201, `create ${member}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res.json[member] as Resource;
    }

    before(async () => {
      schema = engine.name === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      url = tc.url;
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      const net = await create(demo, 'networks', 'network', { name: 'fixture' });
      fx.network = net.id as string;
      fx.subnet = (await create(demo, 'subnets', 'subnet', { network_id: net.id, cidr: '10.0.0.0/24' })).id as string;
      fx.v6subnet = (await create(demo, 'subnets', 'subnet', { network_id: net.id, cidr: '2001:db8::/64', ip_version: 6 })).id as string;
      fx.port = (await create(demo, 'ports', 'port', { network_id: net.id })).id as string;
      fx.group = (await create(demo, 'security_groups', 'security_group', { name: 'fixture' })).id as string;
      fx.rule = (await create(demo, 'security_group_rules', 'security_group_rule', { security_group_id: fx.group, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 })).id as string;
    });

    after(async () => {
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    });

    it('refuses bad CIDRs, pools and gateways', async () => {
      const cases: Array<[Resource, number, string?]> = [
        [{ cidr: '10.1.0.0/33' }, 400],
        [{ cidr: '10.1.0.0/-1' }, 400],
        [{ cidr: '10.1.0.0' }, 400],
        [{ cidr: '10.1.0/24' }, 400],
        [{ cidr: '167837696/24' }, 400],
        [{ cidr: '010.001.000.000/24' }, 400],
        [{ cidr: 'ten/8' }, 400],
        [{ cidr: '' }, 400],
        [{ cidr: 24 }, 400],
        [{ cidr: ['10.1.0.0/24'] }, 400],
        [{ cidr: null }, 400],
        [{}, 400],
        [{ cidr: '2001:db8::/129', ip_version: 6 }, 400],
        [{ cidr: '2001:db8:1::/64', ip_version: 4 }, 400],
        [{ cidr: '10.1.0.0/24', ip_version: 6 }, 400],
        [{ cidr: '10.1.0.0/24', ip_version: 7 }, 400],
        [{ cidr: '10.1.0.0/24', ip_version: 'four' }, 400],
        [{ cidr: '10.0.0.0/16' }, 400], // overlaps the fixture's 10.0.0.0/24
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.10', end: '10.1.1.10' }] }, 400, 'OutOfBoundsAllocationPool'],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.2.0.10', end: '10.2.0.20' }] }, 400, 'OutOfBoundsAllocationPool'],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.0', end: '10.1.0.20' }] }, 400, 'InvalidAllocationPool'],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.200', end: '10.1.0.255' }] }, 400, 'InvalidAllocationPool'],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.30', end: '10.1.0.20' }] }, 400, 'InvalidAllocationPool'],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: 'a', end: 'b' }] }, 400],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '10.1.0.10' }] }, 400],
        [{ cidr: '10.1.0.0/24', allocation_pools: [{ start: '2001:db8::1', end: '2001:db8::5' }] }, 400],
        [{ cidr: '10.1.0.0/24', allocation_pools: 'all' }, 400],
        [{ cidr: '10.1.0.0/24', allocation_pools: [null] }, 400],
        [{ cidr: '10.1.0.0/24', gateway_ip: '10.1.0.15', allocation_pools: [{ start: '10.1.0.10', end: '10.1.0.20' }] }, 409, 'GatewayConflictWithAllocationPools'],
        [{ cidr: '10.1.0.0/24', gateway_ip: '10.1.0.0' }, 400],
        [{ cidr: '10.1.0.0/24', gateway_ip: '10.1.0.255' }, 400],
        [{ cidr: '10.1.0.0/24', gateway_ip: '2001:db8::1' }, 400],
        [{ cidr: '10.1.0.0/24', gateway_ip: 'router' }, 400],
        [{ cidr: '10.1.0.0/24', gateway_ip: 17 }, 400],
        [{ cidr: '10.1.0.0/24', dns_nameservers: ['8.8.8'] }, 400],
        [{ cidr: '10.1.0.0/24', dns_nameservers: '8.8.8.8' }, 400],
        [{ cidr: '10.1.0.0/24', dns_nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4', '1.1.1.5', '1.1.1.6'] }, 400, 'DNSNameServersExhausted'],
        [{ cidr: '10.1.0.0/24', host_routes: [{ destination: '10.9.0.0/24' }] }, 400],
        [{ cidr: '10.1.0.0/24', host_routes: [{ destination: '10.9.0.0/24', nexthop: 'x' }] }, 400],
        [{ cidr: '10.1.0.0/24', host_routes: [{ destination: '2001:db8::/64', nexthop: '10.1.0.9' }] }, 400],
        [{ cidr: '10.1.0.0/24', host_routes: 'default' }, 400],
        [{ cidr: '10.1.0.0/24', enable_dhcp: 'sometimes' }, 400],
        [{ cidr: '10.1.0.0/24', ipv6_ra_mode: 'slaac' }, 400],
        [{ cidr: '2001:db8:5::/64', ip_version: 6, ipv6_address_mode: 'dhcpv7' }, 400],
        // A pool nobody can see is not found, as Neutron answers.
        [{ cidr: '10.1.0.0/24', subnetpool_id: randomUUID() }, 404, 'SubnetPoolNotFound'],
      ];
      for (const [extra, status, type] of cases) {
        const body = { network_id: fx.network, ...extra };
        assertNeutronError(await neutron('POST', '/subnets', demo, { subnet: body }), status, type, JSON.stringify(body));
      }
      for (const [change, status] of [
        [{ allocation_pools: [{ start: '10.0.0.10', end: '10.0.1.10' }] }, 400],
        [{ gateway_ip: '10.0.0.20' }, 409],
        [{ gateway_ip: 'x' }, 400],
        [{ cidr: '10.0.1.0/24' }, 400],
        [{ network_id: randomUUID() }, 400],
        [{ ip_version: 6 }, 400],
      ] as const) {
        assertNeutronError(await neutron('PUT', `/subnets/${fx.subnet}`, demo, { subnet: change }), status, undefined, JSON.stringify(change));
      }
      // The fixture subnet is as it was.
      const shown = await neutron('GET', `/subnets/${fx.subnet}`, demo);
      assert.equal(shown.json.subnet.gateway_ip, '10.0.0.1');
      assert.deepEqual(shown.json.subnet.allocation_pools, [{ start: '10.0.0.2', end: '10.0.0.254' }]);
    });

    it('refuses unknown network types, bad provider attributes and segmentation ids out of range', async () => {
      const cases: Array<[Resource, number, string?]> = [
        [{ 'provider:network_type': 'geneve' }, 400],
        [{ 'provider:network_type': 'VXLAN' }, 400],
        [{ 'provider:network_type': '' }, 400],
        [{ 'provider:network_type': 5 }, 400],
        [{ 'provider:network_type': null, 'provider:segmentation_id': 5 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 4095 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 0 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1.5 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 'ten' }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 1e30 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet9', 'provider:segmentation_id': 10 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:segmentation_id': 10 }, 400],
        [{ 'provider:network_type': 'vlan', 'provider:physical_network': 42 }, 400],
        [{ 'provider:network_type': 'vxlan', 'provider:segmentation_id': 16_777_216 }, 400],
        [{ 'provider:network_type': 'vxlan', 'provider:segmentation_id': -1 }, 400],
        [{ 'provider:network_type': 'gre', 'provider:segmentation_id': 4_294_967_296 }, 400],
        [{ 'provider:network_type': 'gre', 'provider:physical_network': 'physnet1' }, 400],
        [{ 'provider:network_type': 'flat' }, 400],
        [{ 'provider:network_type': 'flat', 'provider:physical_network': 'physnet7', 'provider:segmentation_id': 3 }, 400],
        [{ 'provider:network_type': 'local', 'provider:physical_network': 'physnet1' }, 400],
        [{ 'provider:physical_network': 'physnet1' }, 400],
        [{ mtu: 100_000 }, 400],
        [{ mtu: 10 }, 400],
        [{ mtu: 'jumbo' }, 400],
        [{ admin_state_up: 'maybe' }, 400],
        [{ shared: 'yes' }, 400],
        [{ 'router:external': 2 }, 400],
        [{ port_security_enabled: [] }, 400],
        [{ name: 42 }, 400],
        [{ name: 'n'.repeat(256) }, 400],
        [{ description: { text: 'x' } }, 400],
        [{ tags: ['a'] }, 400],
        [{ router: true }, 400],
      ];
      for (const [body, status, type] of cases) {
        assertNeutronError(await neutron('POST', '/networks', admin, { network: body }), status, type, JSON.stringify(body));
      }
      // A project asking for provider attributes is refused by policy before they are looked at.
      assertNeutronError(await neutron('POST', '/networks', demo, { network: { 'provider:network_type': 'geneve' } }), 403, 'PolicyNotAuthorized');
      for (const change of [{ 'provider:network_type': 'vlan' }, { mtu: 9000 }, { admin_state_up: 'off' }, { name: ['x'] }, { project_id: randomUUID() }]) {
        const res = await neutron('PUT', `/networks/${fx.network}`, admin, { network: change });
        assertNeutronError(res, 400, undefined, JSON.stringify(change));
      }
    });

    it('refuses wrong ports, addresses and attribute types on ports', async () => {
      const cases: Array<[Resource, number, string?]> = [
        [{ fixed_ips: [{ ip_address: '10.9.9.9' }] }, 400],
        [{ fixed_ips: [{ ip_address: '10.0.0.1234' }] }, 400],
        [{ fixed_ips: [{ ip_address: 10 }] }, 400],
        [{ fixed_ips: [{}] }, 400],
        [{ fixed_ips: [{ subnet_id: randomUUID() }] }, 400],
        [{ fixed_ips: [{ subnet_id: 'not-a-uuid' }] }, 400],
        [{ fixed_ips: [{ subnet_id: 7 }] }, 400],
        [{ fixed_ips: { subnet_id: 'x' } }, 400],
        [{ fixed_ips: ['10.0.0.5'] }, 400],
        [{ mac_address: 'fa:16:3e:zz:00:11' }, 400],
        [{ mac_address: 'fa:16:3e:00:11' }, 400],
        [{ mac_address: 12 }, 400],
        [{ admin_state_up: 'up' }, 400],
        [{ security_groups: 'default' }, 400],
        [{ security_groups: [1] }, 400],
        [{ security_groups: ['not-a-uuid'] }, 400],
        [{ security_groups: [randomUUID()] }, 404, 'SecurityGroupNotFound'],
        [{ port_security_enabled: false, security_groups: [] }, 201],
        [{ allowed_address_pairs: {} }, 400],
        [{ allowed_address_pairs: [{ ip_address: 'x' }] }, 400],
        [{ allowed_address_pairs: [{ ip_address: '10.0.0.9', mac_address: 'nope' }] }, 400],
        [{ allowed_address_pairs: Array.from({ length: 11 }, (_, i) => ({ ip_address: `10.0.0.${100 + i}` })) }, 400],
        [{ 'binding:vnic_type': 'warp' }, 400],
        [{ device_id: ['vm'] }, 400],
        [{ device_owner: 'x'.repeat(300) }, 400],
        [{ colour: 'blue' }, 400],
      ];
      for (const [extra, status, type] of cases) {
        const body = { network_id: fx.network, ...extra };
        const res = await neutron('POST', '/ports', demo, { port: body });
        if (status < 300) assert.equal(res.status, status, JSON.stringify(res.body));
        else assertNeutronError(res, status, type, JSON.stringify(body));
      }
      for (const body of [{}, { network_id: null }, { network_id: 'not-a-uuid' }, { network_id: 42 }, { network_id: randomUUID().toUpperCase().replace(/-/g, '') }]) {
        assertNeutronError(await neutron('POST', '/ports', demo, { port: body }), 400, undefined, JSON.stringify(body));
      }
      assertNeutronError(await neutron('POST', '/ports', demo, { port: { network_id: randomUUID() } }), 404, 'NetworkNotFound');
      // A binding profile is the service role's (Nova's) to set, so only a service user's bad one gets as far as a 400.
      const service = await projectWithRoles(url, admin, `bad-input-service-${engine.name}`, ['member', 'service']);
      const serviceNet = await create(service.token, 'networks', 'network', { name: 'service-net' });
      assertNeutronError(await neutron('POST', '/ports', service.token, { port: { network_id: serviceNet.id, 'binding:profile': 'x' } }), 400);
      for (const change of [{ network_id: randomUUID() }, { fixed_ips: 'x' }, { security_groups: ['nope'] }, { mac_address: 'x' }, { name: 5 }]) {
        const res = await neutron('PUT', `/ports/${fx.port}`, change.mac_address ? admin : demo, { port: change });
        assertNeutronError(res, 400, undefined, JSON.stringify(change));
      }
      for (const body of [{}, { network_id: 'not-a-uuid', cidr: '10.3.0.0/24' }, { network_id: 12, cidr: '10.3.0.0/24' }]) {
        assertNeutronError(await neutron('POST', '/subnets', demo, { subnet: body }), 400, undefined, JSON.stringify(body));
      }
    });

    it('refuses wrong protocol, port and prefix combinations on rules', async () => {
      const cases: Array<[Resource, number, string?]> = [
        [{ port_range_min: 80, port_range_max: 80 }, 400, 'SecurityGroupProtocolRequiredWithPorts'],
        [{ protocol: 'tcp', port_range_min: 81, port_range_max: 80 }, 400, 'SecurityGroupInvalidPortRange'],
        [{ protocol: 'udp', port_range_min: 0, port_range_max: 0 }, 400],
        [{ protocol: 'tcp', port_range_min: 1, port_range_max: 70_000 }, 400],
        [{ protocol: 'tcp', port_range_min: 'http', port_range_max: 80 }, 400],
        [{ protocol: 'tcp', port_range_min: 1.5, port_range_max: 80 }, 400],
        [{ protocol: 'esp', port_range_min: 1, port_range_max: 80 }, 400, 'SecurityGroupInvalidProtocolForPort'],
        [{ protocol: 'icmp', port_range_min: 300 }, 400, 'SecurityGroupInvalidIcmpValue'],
        [{ protocol: 'icmp', port_range_min: 8, port_range_max: -1 }, 400],
        [{ protocol: 'icmp', port_range_max: 0 }, 400, 'SecurityGroupMissingIcmpType'],
        [{ protocol: 'ipv6-icmp', ethertype: 'IPv4' }, 400],
        [{ protocol: 'quic' }, 400, 'SecurityGroupRuleInvalidProtocol'],
        [{ protocol: '-1' }, 400],
        [{ protocol: 999 }, 400, 'SecurityGroupRuleInvalidProtocol'],
        [{ protocol: { name: 'tcp' } }, 400],
        [{ protocol: true }, 400],
        [{ ethertype: 'ipv4' }, 400],
        [{ ethertype: 4 }, 400],
        [{ direction: 'in' }, 400],
        [{ direction: 1 }, 400],
        [{ remote_ip_prefix: '10.0.0.0/40' }, 400],
        [{ remote_ip_prefix: 'anywhere' }, 400],
        [{ remote_ip_prefix: 10 }, 400],
        [{ remote_ip_prefix: '::/0' }, 400, 'SecurityGroupRuleParameterConflict'],
        [{ remote_ip_prefix: '10.0.0.0/8', remote_group_id: 'x' }, 400],
        [{ remote_group_id: randomUUID() }, 404, 'SecurityGroupNotFound'],
        [{ remote_group_id: 12 }, 400],
        [{ priority: 1 }, 400],
      ];
      for (const [extra, status, type] of cases) {
        const body = { security_group_id: fx.group, direction: 'ingress', ...extra };
        assertNeutronError(await neutron('POST', '/security-group-rules', demo, { security_group_rule: body }), status, type, JSON.stringify(body));
      }
      for (const body of [{}, { security_group_id: fx.group }, { direction: 'ingress' }, { security_group_id: 5, direction: 'ingress' }]) {
        assertNeutronError(await neutron('POST', '/security-group-rules', demo, { security_group_rule: body }), 400, undefined, JSON.stringify(body));
      }
      for (const body of [{ security_group_id: randomUUID(), direction: 'ingress' }, { security_group_id: 'not-a-uuid', direction: 'ingress' }]) {
        assertNeutronError(await neutron('POST', '/security-group-rules', demo, { security_group_rule: body }), 404, 'SecurityGroupNotFound', JSON.stringify(body));
      }
      for (const body of [{ name: 1 }, { stateful: 'kinda' }, { rules: [] }, { description: 'd'.repeat(256) }]) {
        assertNeutronError(await neutron('POST', '/security-groups', demo, { security_group: body }), 400, undefined, JSON.stringify(body));
      }
      assertNeutronError(await neutron('PUT', `/security-groups/${fx.group}`, demo, { security_group: { project_id: randomUUID() } }), 400);
    });

    it('never fails on NUL characters or lone surrogates in values (PostgreSQL refuses to store NUL)', async () => {
      const values = ['a\u0000b', '\u0000', '\ud800', 'x\udfffy'];
      const requests: Array<[string, string, string, Resource]> = [];
      for (const v of values) {
        requests.push(
          ['POST', '/networks', 'network', { name: v }],
          ['POST', '/networks', 'network', { description: v }],
          ['PUT', `/networks/${fx.network}`, 'network', { name: v }],
          ['POST', '/subnets', 'subnet', { network_id: fx.network, cidr: '10.7.0.0/24', name: v, enable_dhcp: false }],
          ['POST', '/subnets', 'subnet', { network_id: fx.network, cidr: v }],
          ['POST', '/ports', 'port', { network_id: fx.network, name: v }],
          ['POST', '/ports', 'port', { network_id: fx.network, device_id: v, device_owner: v }],
          ['POST', '/ports', 'port', { network_id: v }],
          ['PUT', `/ports/${fx.port}`, 'port', { description: v }],
          ['POST', '/security-groups', 'security_group', { name: v, description: v }],
          ['POST', '/security-group-rules', 'security_group_rule', { security_group_id: fx.group, direction: 'ingress', description: v, protocol: 'udp', port_range_min: 9, port_range_max: 9 }],
          ['POST', '/security-group-rules', 'security_group_rule', { security_group_id: v, direction: 'ingress' }],
        );
      }
      for (const [method, path, member, body] of requests) {
        const res = await neutron(method, path, demo, { [member]: body });
        const label = `${method} ${path} ${JSON.stringify(body)}: HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`;
        assert.ok(res.status < 500, label);
        if (res.status >= 400) assert.equal(neutronErrorProblem(res), undefined, label);
        // Clean up what was created, so later cases see the fixture as it was.
        if (res.status === 201 && member === 'subnet') await neutron('DELETE', `/subnets/${res.json.subnet.id}`, demo);
      }
      for (const path of [`/networks?name=${encodeURIComponent('a\u0000b')}`, '/ports?device_id=%00', `/networks/${fx.network}/tags/a%00b`]) {
        const res = await neutron(path.includes('/tags/') ? 'PUT' : 'GET', path, demo);
        assert.ok(res.status < 500, `${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      }
      for (const tags of [['a\u0000b'], ['\ud800']]) {
        const res = await neutron('PUT', `/networks/${fx.network}/tags`, demo, { tags });
        assert.ok(res.status < 500, `tags ${JSON.stringify(tags)}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      }
      assert.equal((await neutron('DELETE', `/networks/${fx.network}/tags`, demo)).status, 204);
    });

    it('refuses malformed bodies and JSON with 400', async () => {
      const raw = ['{', '{"network": ', 'nul', '[]', 'null', '"network"', '42', '{"network": "x"}', '{"network": []}', '{"network": null}', '{}', '{"networks": {}}', '{"port": {}}', '\u0000', '{"network": {"name": "a"}}}'];
      for (const text of raw) {
        for (const [method, path] of [['POST', '/networks'], ['PUT', `/networks/${fx.network}`]] as const) {
          const res = await neutron(method, path, demo, text, { 'content-type': 'application/json' });
          assertNeutronError(res, 400, undefined, `${method} ${path} ${JSON.stringify(text)}`);
        }
      }
      for (const collection of ['subnets', 'ports', 'security_groups', 'security_group_rules']) {
        assertNeutronError(await neutron('POST', `/${collection.replaceAll('_', '-')}`, demo, '{"x":', { 'content-type': 'application/json' }), 400, undefined, collection);
        assertNeutronError(await neutron('POST', `/${collection.replaceAll('_', '-')}`, demo, {}), 400, undefined, collection);
      }
      const noBody = await neutron('POST', '/networks', demo);
      assertNeutronError(noBody, 400);
      const wrongType = await neutron('POST', '/networks', demo, '<network/>', { 'content-type': 'application/xml' });
      assert.ok(wrongType.status >= 400 && wrongType.status < 500, `HTTP ${wrongType.status}`);
      assert.equal(neutronErrorProblem(wrongType), undefined, JSON.stringify(wrongType.body));
      assertNeutronError(await neutron('PUT', '/quotas/x', admin, { quota: 'all' }), 400);
      assertNeutronError(await neutron('PUT', `/networks/${fx.network}/tags`, demo, { tags: [''] }), 400);
      assertNeutronError(await neutron('PUT', `/networks/${fx.network}/tags`, demo, { tag: ['a'] }), 400);
      assertNeutronError(await neutron('PUT', `/networks/${fx.network}/tags`, demo, '[', { 'content-type': 'application/json' }), 400);
      assertNeutronError(await neutron('GET', '/networks?limit=-1', demo), 400);
      assertNeutronError(await neutron('GET', '/networks?sort_key=name&sort_dir=up', demo), 400);
      assertNeutronError(await neutron('GET', '/networks?sort_key=name&sort_key=id&sort_dir=asc', demo), 400);
    });

    it('answers unknown and malformed ids with 404 of the right type', async () => {
      const kinds: Array<[string, string]> = [
        ['networks', 'NetworkNotFound'],
        ['subnets', 'SubnetNotFound'],
        ['ports', 'PortNotFound'],
        ['security_groups', 'SecurityGroupNotFound'],
        ['security_group_rules', 'SecurityGroupRuleNotFound'],
      ];
      for (const [collection, type] of kinds) {
        for (const id of [randomUUID(), 'not-a-uuid', '1', 'x'.repeat(300), encodeURIComponent('é∂ 🙂'), '%27%20OR%201%3D1']) {
          assertNeutronError(await neutron('GET', `/${collection.replaceAll('_', '-')}/${id}`, demo), 404, type, `GET ${collection}/${id}`);
          assertNeutronError(await neutron('DELETE', `/${collection.replaceAll('_', '-')}/${id}`, demo), 404, type, `DELETE ${collection}/${id}`);
        }
        const member = collection.replace(/s$/, '');
        if (collection !== 'security_group_rules') {
          assertNeutronError(await neutron('PUT', `/${collection.replaceAll('_', '-')}/${randomUUID()}`, demo, { [member]: { name: 'x' } }), 404, type, `PUT ${collection}`);
        }
      }
      assertNeutronError(await neutron('GET', '/routerz', demo), 404);
      // A NUL or invalid UTF-8 in the URL is refused before any lookup.
      for (const path of ['/networks/%00', `/ports/${fx.port}%00`, `/networks/${fx.network}/tags/%00`, '/networks/%ED%A0%80', '/subnets/%FF%FE']) {
        const res = await neutron('GET', path, demo);
        assert.ok(res.status === 400 || res.status === 404, `${path}: HTTP ${res.status}`);
        assert.equal(neutronErrorProblem(res), undefined, `${path}: ${JSON.stringify(res.body)}`);
      }
      assertNeutronError(await neutron('GET', `/networks?marker=${randomUUID()}&limit=1`, demo), 400);
      const patch = await neutron('PATCH', `/networks/${fx.network}`, demo, { network: {} });
      assert.ok(patch.status === 404 || patch.status === 405, `PATCH: HTTP ${patch.status}`);
      assert.equal(neutronErrorProblem(patch), undefined);
    });

    it('survives a few hundred random malformed bodies against POST and PUT with no 5xx', async () => {
      // Quotas must not turn the run into a stream of 409s.
      const adminProject = await projectId(url, admin, 'admin');
      const unlimited = { network: -1, subnet: -1, port: -1, security_group: -1, security_group_rule: -1 };
      assert.equal((await neutron('PUT', `/quotas/${adminProject}`, admin, { quota: unlimited })).status, 200);

      const attributes: Record<string, string[]> = {
        network: ['name', 'admin_state_up', 'shared', 'router:external', 'provider:network_type', 'provider:physical_network', 'provider:segmentation_id', 'mtu', 'port_security_enabled', 'description', 'project_id', 'tags'],
        subnet: ['name', 'network_id', 'ip_version', 'cidr', 'gateway_ip', 'enable_dhcp', 'ipv6_ra_mode', 'ipv6_address_mode', 'allocation_pools', 'dns_nameservers', 'host_routes', 'description', 'subnetpool_id', 'prefixlen'],
        port: ['name', 'network_id', 'mac_address', 'admin_state_up', 'fixed_ips', 'device_id', 'device_owner', 'binding:host_id', 'binding:vnic_type', 'binding:profile', 'port_security_enabled', 'security_groups', 'allowed_address_pairs', 'description'],
        security_group: ['name', 'description', 'stateful', 'project_id'],
        security_group_rule: ['security_group_id', 'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'remote_ip_prefix', 'remote_group_id', 'description'],
      };
      const interesting = fc.constantFrom<unknown>(
        '', ' ', 'x', 'default', 'ingress', 'egress', 'IPv4', 'IPv6', 'tcp', 'udp', 'icmp', '6', 'vlan', 'vxlan', 'flat', 'gre', 'local', 'physnet1',
        'slaac', 'dhcpv6-stateful', '10.0.0.0/24', '10.0.0.5', '10.0.0.300', '10.5.0.0/16', '2001:db8::/64', '2001:db8::5', '::', '0.0.0.0/0',
        'fa:16:3e:00:00:01', 'not-a-uuid', '\u0000', '\ud800', 'ünïcødé 🙂', 'x'.repeat(300), '%s%n', "' OR 1=1 --", 'true', 'False',
        0, -1, 1, 4, 6, 22, 255, 256, 4094, 4095, 65535, 65536, 2 ** 31, 2 ** 53, 1.5, -0, Number.MAX_SAFE_INTEGER,
        true, false, null, [], {}, [null], [{}], [''], { start: '10.0.0.10', end: '10.0.0.20' },
        [{ start: '10.0.0.10', end: '10.0.0.20' }], [{ ip_address: '10.0.0.7' }], [{ subnet_id: 'x' }], [{ destination: '1.2.3.0/24', nexthop: '10.0.0.9' }],
      );
      // Real ids, so that requests get past the lookups into the deeper checks.
      const ids = fc.constantFrom(fx.network, fx.subnet, fx.v6subnet, fx.port, fx.group, fx.rule, randomUUID());
      const value = fc.oneof({ weight: 4, arbitrary: interesting }, { weight: 2, arbitrary: ids }, { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) });
      const collections = [
        ['networks', 'network'],
        ['subnets', 'subnet'],
        ['ports', 'port'],
        ['security_groups', 'security_group'],
        ['security_group_rules', 'security_group_rule'],
      ] as const;
      const targets: Record<string, string> = { networks: fx.network, subnets: fx.subnet, ports: fx.port, security_groups: fx.group, security_group_rules: fx.rule };
      const request = fc
        .tuple(fc.constantFrom(...collections), fc.constantFrom('POST', 'PUT'), fc.constantFrom('admin', 'demo'))
        .chain(([[collection, member], method, who]) => {
          const keys = fc.constantFrom(...(attributes[member] as string[]), 'unknown_attribute', 'id', 'tenant_id', 'created_at', 'status');
          const inner = fc.dictionary(keys, value, { maxKeys: 6 });
          const body = fc.oneof(
            { weight: 6, arbitrary: inner.map((d) => JSON.stringify({ [member]: d })) },
            { weight: 1, arbitrary: fc.array(inner, { maxLength: 3 }).map((list) => JSON.stringify({ [collection]: list })) },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
            { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
            { weight: 1, arbitrary: inner.map((d) => JSON.stringify({ [member]: d }).slice(0, -1)) },
          );
          return fc.record({ collection: fc.constant(collection), method: fc.constant(method), who: fc.constant(who), body });
        });

      const seen: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(request, async ({ collection, method, who, body }) => {
          const path = method === 'POST' ? `/${collection.replaceAll('_', '-')}` : `/${collection.replaceAll('_', '-')}/${targets[collection] as string}`;
          const res = await neutron(method, path, who === 'admin' ? admin : demo, body, { 'content-type': 'application/json' });
          const label = `${who} ${method} ${path} ${body.slice(0, 300)} -> HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
          seen[res.status] = (seen[res.status] ?? 0) + 1;
          assert.ok(res.status < 500, `5xx: ${label}`);
          if (res.status >= 400) assert.equal(neutronErrorProblem(res), undefined, `error shape: ${label}`);
        }),
        { seed: SEED, numRuns: runs(400), endOnFailure: true },
      );
      // The run reached both the refusals and the successes, and the service is still up.
      assert.ok((seen[400] ?? 0) > 50, JSON.stringify(seen));
      assert.ok((seen[200] ?? 0) + (seen[201] ?? 0) > 5, JSON.stringify(seen));
      assert.equal((await neutron('GET', '/networks', admin)).status, 200);
    });
  });
}
