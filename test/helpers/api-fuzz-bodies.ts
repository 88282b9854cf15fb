/**
 * Request bodies for the API fuzzer (api-fuzz.ts): odd values of every kind, and for the
 * routes that create or change things, bodies that are valid but for a part or two, so that
 * requests get past the first check and reach the rules (and the SQL) behind it.
 */
import fc from 'fast-check';

const nasty = fc.constantFrom(
  '', ' ', '\u0000', 'null', 'default', 'admin', '../../etc/passwd', '%s%s%n', "' OR 1=1 --", '<script>x</script>',
  '\ud800', '\udfff\ud800', '𝕂𝕦𝕞𝕠', '\u202e\u0007', 'x'.repeat(256), 'y'.repeat(70_000), '2000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z', 'http://example.org/', 'public', 'true', '1e309', '-0', '10.0.0.0/8', '::/0', '0.0.0.0/0',
  'fe80::1%eth0', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '999.1.1.1', '10.99.0.1', '10.99.0.300', '2001:db8::1', 'ingress',
  'IPv6', 'tcp', 'icmp', '58', 'SOFT', 'auto', 'none', 'vxlan', 'flat', 'physnet1', 'compute:nova', 'network:router_interface',
);

/** Values of the wrong type, size or spelling: what a hostile or broken client sends. */
export const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 4, arbitrary: nasty },
  { weight: 3, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 64, -(2 ** 63), 1e308, -1e308, 5e-324, [], {}, [null], [{}], [[]], { '': '' }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 12 }), { maxLength: 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 200_000 }).map((n) => 'z'.repeat(n)) },
);

export const FIELDS = [
  'id', 'name', 'description', 'enabled', 'domain_id', 'project_id', 'tenant_id', 'tags', 'password', 'type', 'metadata',
  'network_id', 'subnet_id', 'cidr', 'ip_version', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp',
  'fixed_ips', 'device_id', 'device_owner', 'admin_state_up', 'port_security_enabled', 'allowed_address_pairs', 'mac_address',
  'security_groups', 'shared', 'router:external', 'provider:network_type', 'provider:segmentation_id', 'provider:physical_network',
  'mtu', 'external_gateway_info', 'routes', 'floating_network_id', 'floating_ip_address', 'port_id', 'fixed_ip_address',
  'direction', 'ethertype', 'protocol', 'port_range_min', 'port_range_max', 'remote_ip_prefix', 'remote_group_id', 'security_group_id',
  'binding:host_id', 'binding:profile', 'binding:vnic_type', 'flavorRef', 'imageRef', 'networks', 'key_name', 'user_data',
  'min_count', 'max_count', 'availability_zone', 'block_device_mapping_v2', 'config_drive', 'adminPass', 'accessIPv4',
  'disk_format', 'container_format', 'visibility', 'protected', 'min_ram', 'min_disk', 'os_hidden', 'member', 'status',
  'vcpus', 'ram', 'disk', 'swap', 'rxtx_factor', 'os-flavor-access:is_public', 'policies', 'rules', 'public_key', 'instances',
  'cores', 'floating_ips', 'port', 'subnet', 'network', 'router', 'security_group', 'default_project_id', '__proto__', 'constructor',
];
export const fieldName = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) });

/** Real ids (or names) of a pool of the fuzz's world: `pick('ports')`. */
export type Pick = (pool: string) => fc.Arbitrary<string>;
type Fields = Record<string, fc.Arbitrary<unknown>>;

const ABSENT = Symbol('absent');

/**
 * The fields, most of them optional: mostly all of good values (a request that should work),
 * else with now and then an odd value, a missing required field or one field more.
 */
function mutated(fields: Fields, required: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const build = (dirty: boolean) => {
    const each = Object.fromEntries(
      Object.entries(fields).map(([key, good]) => {
        const options = [{ weight: 6, arbitrary: good }];
        if (!required.includes(key)) options.push({ weight: 6, arbitrary: fc.constant(ABSENT) });
        if (dirty) options.push({ weight: 1, arbitrary: weird }, { weight: 1, arbitrary: fc.constant(ABSENT) });
        return [key, fc.oneof(...options)];
      }),
    );
    const extra = dirty ? fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fieldName, weird) }) : fc.constant(undefined);
    return fc.tuple(fc.record(each), extra).map(([record, more]) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(record)) if (value !== ABSENT) out[key] = value;
      if (more) out[more[0]] = more[1];
      return out;
    });
  };
  return fc.oneof({ weight: 3, arbitrary: build(false) }, { weight: 2, arbitrary: build(true) });
}

const within = (envelope: string, fields: Fields, required: string[] = []) => mutated(fields, required).map((f) => ({ [envelope]: f }));
const name = fc.oneof(fc.constantFrom('fuzz', 'a', ''), fc.string({ maxLength: 20 }));
const bool = fc.boolean();
const smallInt = fc.integer({ min: -2, max: 70_000 });
const v4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `10.99.${a}.${b}`);
const cidr = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 32 })).map(([a, p]) => `10.${a}.0.0/${p}`),
  fc.constantFrom('2001:db8::/64', '2001:db8:1::/48', 'fd00::/8', '0.0.0.0/0', '10.99.0.0/24', '192.0.2.0/24'),
);
const mac = fc.constantFrom('fa:16:3e:00:00:01', 'FA:16:3E:AB:CD:EF', '01:00:5e:00:00:01', 'fa:16:3e:00:00:0g', 'fa-16-3e-00-00-01');
const protocol = fc.constantFrom('tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', '6', '17', '1', '58', null, 'any', 'sctp', '300');
const tags = fc.array(fc.oneof(fc.constantFrom('a', 'b', 'fuzz'), fc.string({ maxLength: 20 })), { maxLength: 5 });
const meta = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 30 }), { maxKeys: 4 });

/** Nova server actions with plausible arguments. */
function serverActions(pick: Pick): fc.Arbitrary<unknown> {
  const actions: Array<[string, fc.Arbitrary<unknown>]> = [
    ['reboot', within('reboot', { type: fc.constantFrom('SOFT', 'HARD', 'soft', 'WARM') }).map((b) => b.reboot)],
    ['os-stop', fc.constant(null)],
    ['os-start', fc.constant(null)],
    ['pause', fc.constant(null)],
    ['unpause', fc.constant(null)],
    ['suspend', fc.constant(null)],
    ['resume', fc.constant(null)],
    ['lock', mutated({ locked_reason: name })],
    ['unlock', fc.constant(null)],
    ['rebuild', mutated({ imageRef: pick('images'), name, adminPass: name, metadata: meta, preserve_ephemeral: bool, key_name: pick('keypairs'), user_data: fc.constantFrom('aGVsbG8=', '!!!') })],
    ['resize', mutated({ flavorRef: pick('flavors'), 'OS-DCF:diskConfig': fc.constantFrom('AUTO', 'MANUAL', 'x') })],
    ['confirmResize', fc.constant(null)],
    ['revertResize', fc.constant(null)],
    ['createImage', mutated({ name, metadata: meta })],
    ['createBackup', mutated({ name, backup_type: fc.constantFrom('daily', 'weekly'), rotation: smallInt })],
    ['addSecurityGroup', mutated({ name: fc.oneof(pick('security-groups'), fc.constantFrom('default', 'fuzz-sg')) })],
    ['removeSecurityGroup', mutated({ name: fc.oneof(pick('security-groups'), fc.constantFrom('default', 'fuzz-sg')) })],
    ['os-getConsoleOutput', mutated({ length: fc.oneof(smallInt, fc.constantFrom(null, '10', -1)) })],
    ['os-getVNCConsole', mutated({ type: fc.constantFrom('novnc', 'xvpvnc', 'spice') })],
    ['os-getSerialConsole', mutated({ type: fc.constant('serial') })],
    ['shelve', fc.constant(null)],
    ['unshelve', fc.oneof(fc.constant(null), mutated({ availability_zone: fc.constantFrom('nova', 'x') }))],
    ['shelveOffload', fc.constant(null)],
    ['migrate', fc.oneof(fc.constant(null), mutated({ host: fc.constantFrom('fake-1', 'nowhere') }))],
    ['os-migrateLive', mutated({ host: fc.constantFrom(null, 'fake-1', 'nowhere'), block_migration: fc.constantFrom('auto', true, false) })],
    ['evacuate', mutated({ host: fc.constantFrom('fake-1', 'nowhere'), adminPass: name })],
    ['rescue', mutated({ adminPass: name, rescue_image_ref: pick('images') })],
    ['unrescue', fc.constant(null)],
    ['changePassword', mutated({ adminPass: name })],
    ['os-resetState', mutated({ state: fc.constantFrom('active', 'error', 'ACTIVE', 'stopped') })],
    ['injectNetworkInfo', fc.constant(null)],
    ['resetNetwork', fc.constant(null)],
    ['trigger_crash_dump', fc.constant(null)],
    ['forceDelete', fc.constant(null)],
    ['restore', fc.constant(null)],
    ['addFloatingIp', mutated({ address: fc.constantFrom('203.0.113.5', '10.99.0.3', 'x'), fixed_address: v4 })],
    ['removeFloatingIp', mutated({ address: fc.constantFrom('203.0.113.5', 'x') })],
  ];
  return fc.constantFrom(...actions).chain(([action, args]) => args.map((a) => ({ [action]: a })));
}

/** Bodies that are nearly right for each route that takes one, by `METHOD template`. */
export function plausibleBodies(pick: Pick): Record<string, fc.Arbitrary<unknown>> {
  const N = 'PUT /networking/v2.0';
  const C = '/compute/v2.1';
  const fixedIps = fc.array(mutated({ subnet_id: pick('subnets'), ip_address: fc.oneof(v4, fc.constantFrom('2001:db8::5', '203.0.113.9')) }), { maxLength: 3 });
  const network = { name, admin_state_up: bool, shared: bool, 'router:external': bool, mtu: fc.integer({ min: 0, max: 70_000 }), port_security_enabled: bool, 'provider:network_type': fc.constantFrom('vxlan', 'flat', 'vlan', 'local', 'gre', 'geneve'), 'provider:physical_network': fc.constantFrom('physnet1', 'nope'), 'provider:segmentation_id': smallInt, tags, description: name };
  const subnet = { network_id: pick('networks'), cidr, ip_version: fc.constantFrom(4, 6, 5), gateway_ip: fc.oneof(v4, fc.constant(null)), enable_dhcp: bool, name, allocation_pools: fc.array(mutated({ start: v4, end: v4 }), { maxLength: 2 }), dns_nameservers: fc.array(v4, { maxLength: 3 }), host_routes: fc.array(mutated({ destination: cidr, nexthop: v4 }), { maxLength: 2 }), ipv6_ra_mode: fc.constantFrom('slaac', 'dhcpv6-stateful', null), ipv6_address_mode: fc.constantFrom('slaac', 'dhcpv6-stateless', null), subnetpool_id: fc.constant(null) };
  const port = { network_id: pick('networks'), name, fixed_ips: fixedIps, security_groups: fc.array(pick('security-groups'), { maxLength: 2 }), allowed_address_pairs: fc.array(mutated({ ip_address: fc.oneof(v4, cidr), mac_address: mac }), { maxLength: 2 }), mac_address: mac, device_id: fc.oneof(pick('servers'), pick('routers'), name), device_owner: fc.constantFrom('', 'compute:nova', 'network:router_interface', 'network:dhcp', 'network:floatingip', 'x'), 'binding:host_id': fc.constantFrom('fake-1', ''), 'binding:vnic_type': fc.constantFrom('normal', 'direct'), 'binding:profile': meta, port_security_enabled: bool, admin_state_up: bool };
  const rule = { security_group_id: pick('security-groups'), direction: fc.constantFrom('ingress', 'egress', 'sideways'), ethertype: fc.constantFrom('IPv4', 'IPv6', 'ipv4'), protocol, port_range_min: fc.oneof(smallInt, fc.constant(null)), port_range_max: fc.oneof(smallInt, fc.constant(null)), remote_ip_prefix: fc.oneof(cidr, fc.constant(null)), remote_group_id: fc.oneof(pick('security-groups'), fc.constant(null)), description: name };
  const router = { name, admin_state_up: bool, external_gateway_info: mutated({ network_id: pick('networks'), enable_snat: bool, external_fixed_ips: fc.array(mutated({ subnet_id: pick('subnets'), ip_address: fc.constantFrom('203.0.113.7', '10.99.0.9') }), { maxLength: 2 }) }), routes: fc.array(mutated({ destination: cidr, nexthop: v4 }), { maxLength: 2 }) };
  const floating = { floating_network_id: pick('networks'), port_id: fc.oneof(pick('ports'), fc.constant(null)), fixed_ip_address: v4, floating_ip_address: fc.constantFrom('203.0.113.20', '203.0.113.0', '10.99.0.5'), description: name };
  const server = {
    name,
    flavorRef: pick('flavors'),
    imageRef: fc.oneof(pick('images'), fc.constant('')),
    networks: fc.oneof(fc.constantFrom('auto', 'none', 'AUTO'), fc.array(mutated({ uuid: pick('networks'), port: pick('ports'), fixed_ip: v4, tag: name }), { maxLength: 2 })),
    key_name: pick('keypairs'),
    security_groups: fc.array(mutated({ name: fc.oneof(pick('security-groups'), fc.constant('default')) }), { maxLength: 2 }),
    user_data: fc.constantFrom('aGVsbG8=', 'not base64!', ''),
    metadata: meta,
    min_count: fc.integer({ min: -1, max: 3 }),
    max_count: fc.integer({ min: -1, max: 3 }),
    availability_zone: fc.constantFrom('nova', 'nova:fake-1', 'nowhere', ''),
    config_drive: bool,
    block_device_mapping_v2: fc.array(mutated({ boot_index: fc.integer({ min: -1, max: 2 }), uuid: pick('images'), source_type: fc.constantFrom('image', 'blank', 'volume'), destination_type: fc.constantFrom('local', 'volume'), volume_size: smallInt }), { maxLength: 2 }),
    'OS-DCF:diskConfig': fc.constantFrom('AUTO', 'MANUAL'),
    accessIPv4: fc.oneof(v4, name),
    description: name,
    tags,
  };
  return {
    [`${N}/quotas/:project`]: within('quota', { network: smallInt, subnet: smallInt, port: smallInt, router: smallInt, floatingip: smallInt, security_group: smallInt, security_group_rule: smallInt }),
    'POST /networking/v2.0/networks': within('network', network),
    [`${N}/networks/:id`]: within('network', network),
    'POST /networking/v2.0/subnets': within('subnet', subnet, ['network_id', 'cidr', 'ip_version']),
    [`${N}/subnets/:id`]: within('subnet', subnet),
    'POST /networking/v2.0/ports': within('port', port, ['network_id']),
    [`${N}/ports/:id`]: within('port', port),
    'POST /networking/v2.0/security-groups': within('security_group', { name, description: name, stateful: bool }),
    [`${N}/security-groups/:id`]: within('security_group', { name, description: name }),
    'POST /networking/v2.0/security-group-rules': within('security_group_rule', rule, ['security_group_id', 'direction']),
    'POST /networking/v2.0/routers': within('router', { ...router, routes: fc.constant(ABSENT) }),
    [`${N}/routers/:id`]: within('router', router),
    [`${N}/routers/:id/add_router_interface`]: mutated({ subnet_id: pick('subnets'), port_id: pick('ports') }),
    [`${N}/routers/:id/remove_router_interface`]: mutated({ subnet_id: pick('subnets'), port_id: pick('ports') }),
    [`${N}/routers/:id/add_extraroutes`]: within('router', { routes: fc.array(mutated({ destination: cidr, nexthop: v4 }), { maxLength: 3 }) }),
    [`${N}/routers/:id/remove_extraroutes`]: within('router', { routes: fc.array(mutated({ destination: cidr, nexthop: v4 }), { maxLength: 3 }) }),
    'POST /networking/v2.0/floatingips': within('floatingip', floating, ['floating_network_id']),
    [`${N}/floatingips/:id`]: within('floatingip', { port_id: fc.oneof(pick('ports'), fc.constant(null)), fixed_ip_address: v4, description: name }),
    [`${N}/:collection/:id/tags`]: mutated({ tags }),
    [`POST ${C}/servers`]: fc.tuple(within('server', server, ['name', 'flavorRef', 'imageRef', 'networks']), fc.option(mutated({ group: pick('server-groups'), different_host: fc.array(pick('servers'), { maxLength: 2 }) }))).map(([body, hints]) => (hints ? { ...body, 'os:scheduler_hints': hints } : body)),
    [`PUT ${C}/servers/:id`]: within('server', { name, accessIPv4: fc.oneof(v4, name), accessIPv6: fc.constantFrom('2001:db8::1', 'x'), 'OS-DCF:diskConfig': fc.constantFrom('AUTO', 'x'), description: name }),
    [`POST ${C}/servers/:id/action`]: serverActions(pick),
    [`POST ${C}/servers/:id/metadata`]: mutated({ metadata: meta }),
    [`PUT ${C}/servers/:id/metadata`]: mutated({ metadata: meta }),
    [`PUT ${C}/servers/:id/metadata/:key`]: mutated({ meta }),
    [`POST ${C}/servers/:id/remote-consoles`]: within('remote_console', { protocol: fc.constantFrom('vnc', 'spice', 'serial', 'rdp', 'mks'), type: fc.constantFrom('novnc', 'xvpvnc', 'spice-html5', 'serial', 'x') }),
    [`POST ${C}/servers/:id/os-interface`]: within('interfaceAttachment', { port_id: pick('ports'), net_id: pick('networks'), fixed_ips: fc.array(mutated({ ip_address: v4 }), { maxLength: 2 }), tag: name }),
    [`PUT ${C}/servers/:id/tags`]: mutated({ tags }),
    [`POST ${C}/flavors`]: within('flavor', { name, ram: fc.integer({ min: -1, max: 4096 }), vcpus: fc.integer({ min: -1, max: 8 }), disk: fc.integer({ min: -1, max: 20 }), id: fc.oneof(fc.constant(null), name, fc.uuid()), swap: fc.oneof(smallInt, fc.constant('')), rxtx_factor: fc.double({ min: -1, max: 10 }), 'OS-FLV-EXT-DATA:ephemeral': smallInt, 'os-flavor-access:is_public': bool, description: name }, ['name', 'ram', 'vcpus', 'disk']),
    [`POST ${C}/flavors/:id/os-extra_specs`]: mutated({ extra_specs: meta }),
    [`PUT ${C}/flavors/:id/os-extra_specs/:key`]: meta,
    [`POST ${C}/flavors/:id/action`]: fc.constantFrom('addTenantAccess', 'removeTenantAccess').chain((action) => within(action, { tenant: pick('projects') })),
    [`POST ${C}/os-keypairs`]: within('keypair', { name, public_key: fc.constantFrom('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC x', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOs fuzz', 'garbage'), type: fc.constantFrom('ssh', 'x509', 'pgp'), user_id: pick('users') }),
    [`PUT ${C}/os-quota-sets/:id`]: within('quota_set', { instances: smallInt, cores: smallInt, ram: smallInt, key_pairs: smallInt, server_groups: smallInt, server_group_members: smallInt, metadata_items: smallInt, force: bool }),
    [`PUT ${C}/os-quota-class-sets/:id`]: within('quota_class_set', { instances: smallInt, cores: smallInt, ram: smallInt }),
    [`POST ${C}/os-server-groups`]: within('server_group', { name, policies: fc.array(fc.constantFrom('affinity', 'anti-affinity', 'soft-affinity', 'x'), { maxLength: 2 }), policy: fc.constantFrom('affinity', 'anti-affinity', 'soft-anti-affinity'), rules: mutated({ max_server_per_host: smallInt }) }),
    [`PUT ${C}/os-services/enable`]: mutated({ host: fc.constantFrom('fake-1', 'nowhere'), binary: fc.constantFrom('nova-compute', 'nova-scheduler', 'x') }),
    [`PUT ${C}/os-services/disable`]: mutated({ host: fc.constantFrom('fake-1', 'nowhere'), binary: fc.constantFrom('nova-compute', 'x') }),
    [`PUT ${C}/os-services/disable-log-reason`]: mutated({ host: fc.constantFrom('fake-1', 'nowhere'), binary: fc.constant('nova-compute'), disabled_reason: name }),
    [`PUT ${C}/os-services/force-down`]: mutated({ host: fc.constantFrom('fake-1', 'nowhere'), binary: fc.constant('nova-compute'), forced_down: bool }),
    [`POST ${C}/os-security-groups`]: within('security_group', { name, description: name }),
    [`PUT ${C}/os-security-groups/:id`]: within('security_group', { name, description: name }),
    'POST /image/v2/images': mutated({ name, disk_format: fc.constantFrom('raw', 'qcow2', 'iso', 'nope'), container_format: fc.constantFrom('bare', 'ovf', 'nope'), visibility: fc.constantFrom('private', 'shared', 'community', 'public', 'x'), protected: bool, min_ram: smallInt, min_disk: smallInt, tags, os_hidden: bool, id: fc.oneof(fc.uuid(), name), fuzz_property: name }),
    'POST /image/v2/images/:id/members': mutated({ member: pick('projects') }),
    'PUT /image/v2/images/:id/members/:member': mutated({ status: fc.constantFrom('accepted', 'rejected', 'pending', 'x') }),
    'POST /image/v2/images/:id/import': mutated({ method: mutated({ name: fc.constantFrom('glance-direct', 'web-download', 'copy-image'), uri: fc.constantFrom('http://example.org/x') }), stores: fc.array(fc.constantFrom('file', 'x'), { maxLength: 2 }), all_stores_must_succeed: bool }),
    'POST /identity/v3/projects': within('project', { name, domain_id: fc.oneof(pick('domains'), fc.constant('default')), parent_id: pick('projects'), enabled: bool, tags, is_domain: bool, description: name }),
    'PATCH /identity/v3/projects/:id': within('project', { name, enabled: bool, tags, description: name }),
    'POST /identity/v3/users': within('user', { name, password: name, domain_id: fc.oneof(pick('domains'), fc.constant('default')), default_project_id: pick('projects'), enabled: bool, email: name }),
    'PATCH /identity/v3/users/:id': within('user', { name, password: name, enabled: bool, default_project_id: pick('projects') }),
    'POST /identity/v3/groups': within('group', { name, domain_id: fc.constant('default'), description: name }),
    'POST /identity/v3/roles': within('role', { name, domain_id: fc.oneof(fc.constant(null), pick('domains')), description: name }),
    'POST /identity/v3/domains': within('domain', { name, enabled: bool, description: name }),
    'PATCH /identity/v3/domains/:id': within('domain', { name, enabled: bool }),
  };
}
