import { DEFAULT_QUOTAS } from '../quotas.js';
import { converted, dictionary, flag, integer, macAddress, records, shown, stringList, text, uuid, uuidList, values, type Kind, type Refusal } from './kinds.js';

/**
 * Each resource's attributes as a request may give them, in one place per resource, like
 * Neutron's RESOURCE_ATTRIBUTE_MAP (neutron-lib's api/definitions and the extensions this
 * cloud implements): the value's kind, and whether POST and PUT take it. The routes' body
 * schemas are derived from these (schemas.ts); what needs stored data (CIDRs against their
 * network, ownership, overlaps, quotas, policy on fields) is the domain's.
 */
export interface Attribute {
  kind: Kind;
  /** POST takes it, must have it, or answers "Attribute 'x' not allowed in POST". */
  post: boolean | 'required';
  /**
   * PUT takes it, answers "Cannot update read-only attribute x", or (`unchanged`) takes it for
   * the domain to refuse unless it repeats the current value, as Kumo lets clients do.
   */
  put: boolean | 'unchanged';
}

export interface ResourceAttributes {
  /** The body key of one: `network`. */
  member: string;
  /** The body key of a bulk create: `networks`. */
  collection: string;
  attributes: Record<string, Attribute>;
}

const both = (kind: Kind): Attribute => ({ kind, post: true, put: true });
const createOnly = (kind: Kind): Attribute => ({ kind, post: true, put: false });
const requiredOnCreate = (kind: Kind): Attribute => ({ kind, post: 'required', put: false });
const updateOnly = (kind: Kind): Attribute => ({ kind, post: false, put: true });

// db constants: NAME_FIELD_SIZE, DESCRIPTION_FIELD_SIZE; project ids are Keystone's (64 here, the column's size).
const NAME = both(text(255));
const DESCRIPTION = both(text(255));
const PROJECT = createOnly(text(64));
const PROJECT_KEPT: Attribute = { kind: text(64), post: true, put: 'unchanged' };
/** An address, checked for what it is by the domain (ipam.ts); here only its type and size. */
const ADDRESS = text(64, { nullable: true });
const ADDRESS_STRING = { type: 'string', maxLength: 64 };
const UUID_STRING = uuid().schema;

/** neutron-lib's portbindings.VNIC_TYPES. */
export const VNIC_TYPES = ['normal', 'direct', 'macvtap', 'baremetal', 'direct-physical', 'virtio-forwarder', 'smart-nic', 'vdpa', 'remote-managed', 'accelerator-direct', 'accelerator-direct-physical'];
const IPV6_MODES = ['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless'];

/** type:hostroutes: `[{destination, nexthop}]`, CIDR and address checked by the domain. */
const hostRoutes = (o: { nullable?: boolean } = {}) =>
  records('hostroute', { destination: { schema: ADDRESS_STRING, required: true }, nexthop: { schema: ADDRESS_STRING, required: true } }, { list: true, ...o });

/** type:fixed_ips: `[{subnet_id?, ip_address?}]` (one of them at least, as Kumo asks). */
const fixedIps = () => records('fixed IP', { subnet_id: { schema: UUID_STRING }, ip_address: { schema: ADDRESS_STRING } }, { list: true, minKeys: 1 });

export const NETWORK: ResourceAttributes = {
  member: 'network',
  collection: 'networks',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    admin_state_up: both(flag()),
    shared: both(flag()),
    'router:external': both(flag()),
    // provider_net: Kumo cannot move a network to another segment, so these are set once.
    'provider:network_type': createOnly(text(32)),
    'provider:physical_network': createOnly(text(64)),
    'provider:segmentation_id': createOnly(integer()),
    mtu: both(integer({ min: 0 })),
    port_security_enabled: both(flag()),
    tenant_id: PROJECT,
    project_id: PROJECT,
    availability_zone_hints: createOnly(stringList(255)),
    is_default: both(flag()),
    dns_domain: both(text(255)),
    qos_policy_id: both(uuid({ nullable: true })),
  },
};

export const SUBNET: ResourceAttributes = {
  member: 'subnet',
  collection: 'subnets',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    network_id: requiredOnCreate(uuid()),
    ip_version: createOnly(integer({ values: [4, 6] })),
    cidr: createOnly(text(64, { nullable: true })),
    gateway_ip: both(ADDRESS),
    enable_dhcp: both(flag()),
    ipv6_ra_mode: createOnly(values(IPV6_MODES)),
    ipv6_address_mode: createOnly(values(IPV6_MODES)),
    allocation_pools: both(records('IP pool', { start: { schema: ADDRESS_STRING, required: true }, end: { schema: ADDRESS_STRING, required: true } }, { list: true })),
    dns_nameservers: both(stringList(64, { nullable: true })),
    host_routes: both(hostRoutes({ nullable: true })),
    tenant_id: PROJECT,
    project_id: PROJECT,
    subnetpool_id: createOnly(uuid({ nullable: true })),
    prefixlen: createOnly(integer({ min: 0 })),
    service_types: both(stringList(255)),
    segment_id: both(uuid({ nullable: true })),
    use_default_subnetpool: createOnly(flag()),
    dns_publish_fixed_ip: both(flag()),
  },
};

/** extra_dhcp_opt: names and values dnsmasq's safety is the domain's (extra-dhcp-opts.ts). */
const EXTRA_DHCP_OPTS = records(
  'extra DHCP option',
  {
    opt_name: { schema: { type: 'string', minLength: 1, maxLength: 64 }, required: true },
    opt_value: { schema: { type: ['string', 'null'], maxLength: 255 }, required: true },
    ip_version: { schema: { enum: [4, 6, '4', '6', null] } },
  },
  { list: true, nullable: true },
);

export const PORT: ResourceAttributes = {
  member: 'port',
  collection: 'ports',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    network_id: { kind: uuid(), post: 'required', put: 'unchanged' },
    mac_address: both(macAddress()),
    admin_state_up: both(flag()),
    fixed_ips: both(fixedIps()),
    device_id: both(text(255)),
    device_owner: both(text(255)),
    'binding:host_id': both(text(255)),
    'binding:vnic_type': both(values(VNIC_TYPES)),
    'binding:profile': both(dictionary({ nullable: true })),
    port_security_enabled: both(flag()),
    security_groups: both(uuidList({ nullable: true })),
    allowed_address_pairs: both(records('allowed address pair', { ip_address: { schema: ADDRESS_STRING, required: true }, mac_address: { schema: macAddress().schema } }, { list: true, nullable: true })),
    tenant_id: PROJECT_KEPT,
    project_id: PROJECT_KEPT,
    extra_dhcp_opts: both(EXTRA_DHCP_OPTS),
    dns_name: both(text(255)),
    propagate_uplink_status: createOnly(flag()),
    qos_policy_id: both(uuid({ nullable: true })),
  },
};

/** l3's external_gateway_info (type:dict_or_nodata), with ext-gw-mode's enable_snat: `null` or `{}` clears it. */
const GATEWAY = records(
  'external_gateway_info',
  {
    network_id: { schema: UUID_STRING, required: true },
    enable_snat: { schema: flag().schema },
    external_fixed_ips: { schema: { type: ['array', 'null'], items: fixedIps().schema.items as object } },
  },
  { nullable: true, emptyIsNone: true },
);

export const ROUTER: ResourceAttributes = {
  member: 'router',
  collection: 'routers',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    admin_state_up: both(flag()),
    external_gateway_info: both(GATEWAY),
    // extraroute: routes are set by PUT (or add_extraroutes), never on create.
    routes: updateOnly(hostRoutes({ nullable: true })),
    distributed: both(flag({ nullable: true })),
    ha: both(flag({ nullable: true })),
    tenant_id: PROJECT_KEPT,
    project_id: PROJECT_KEPT,
    availability_zone_hints: createOnly(stringList(255)),
  },
};

/** extraroute-atomic's `{"router": {"routes": [...]}}`. */
export const EXTRA_ROUTES: ResourceAttributes = {
  member: 'router',
  collection: 'routers',
  attributes: { routes: { kind: hostRoutes(), post: false, put: true } },
};

export const FLOATING_IP: ResourceAttributes = {
  member: 'floatingip',
  collection: 'floatingips',
  attributes: {
    description: DESCRIPTION,
    floating_network_id: { kind: uuid(), post: 'required', put: 'unchanged' },
    floating_ip_address: { kind: ADDRESS, post: true, put: 'unchanged' },
    subnet_id: { kind: uuid({ nullable: true }), post: true, put: 'unchanged' },
    port_id: both(uuid({ nullable: true })),
    fixed_ip_address: both(ADDRESS),
    tenant_id: PROJECT_KEPT,
    project_id: PROJECT_KEPT,
  },
};

export const SECURITY_GROUP: ResourceAttributes = {
  member: 'security_group',
  collection: 'security_groups',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    stateful: both(flag()),
    tenant_id: PROJECT,
    project_id: PROJECT,
  },
};

/** IANA protocol names a rule takes (neutron-lib's IP_PROTOCOL_MAP and its aliases). */
export const PROTOCOL_NAMES = ['ah', 'dccp', 'egp', 'esp', 'gre', 'hopopt', 'icmp', 'icmpv6', 'ipv6-icmp', 'igmp', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp'];

/** convert_protocol: a name, a number 0-255 (or its string), "any", or nothing; anything else is SecurityGroupRuleInvalidProtocol. */
const protocolRefused = (value: unknown): Refusal => ({
  type: 'SecurityGroupRuleInvalidProtocol',
  message: `Security group rule protocol ${typeof value === 'string' ? value.slice(0, 32) : JSON.stringify(value)?.slice(0, 32)} not supported. Only protocol values [${PROTOCOL_NAMES.join(', ')}] and integer representations [0 to 255] are supported.`,
});
const PROTOCOL = converted({ anyOf: [{ type: 'string', maxLength: 40 }, { type: 'integer', minimum: 0, maximum: 255 }, { type: 'null' }] }, protocolRefused);

/** convert_validate_port_value: 0-65535, as a number or its decimal string, or nothing. */
const PORT_NUMBER = converted(
  { anyOf: [{ type: 'integer', minimum: 0, maximum: 65535 }, { type: 'string', pattern: '^0*([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$' }, { type: 'null' }] },
  (value) => ({ type: 'SecurityGroupInvalidPortValue', message: `Invalid value for port ${typeof value === 'string' ? value.slice(0, 16) : JSON.stringify(value)?.slice(0, 16)}` }),
);

/** convert_ethertype_to_case_insensitive's refusal (Kumo takes the two spellings as written). */
const ETHERTYPE = converted({ enum: ['IPv4', 'IPv6'] }, (value) => ({
  type: 'SecurityGroupRuleInvalidEtherType',
  message: `Security group rule for ethertype '${shown(value)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
}));

export const SECURITY_GROUP_RULE: ResourceAttributes = {
  member: 'security_group_rule',
  collection: 'security_group_rules',
  attributes: {
    description: DESCRIPTION,
    // No validator in Neutron: an id that is no group's is not found.
    security_group_id: requiredOnCreate(text(36)),
    direction: requiredOnCreate(values(['ingress', 'egress'])),
    ethertype: createOnly(ETHERTYPE),
    protocol: createOnly(PROTOCOL),
    port_range_min: createOnly(PORT_NUMBER),
    port_range_max: createOnly(PORT_NUMBER),
    remote_ip_prefix: createOnly(text(64, { nullable: true })),
    remote_group_id: createOnly(text(36, { nullable: true })),
    remote_address_group_id: createOnly(text(36, { nullable: true })),
    normalized_cidr: { kind: text(64), post: false, put: false },
    tenant_id: PROJECT,
    project_id: PROJECT,
  },
};

export const SUBNET_POOL: ResourceAttributes = {
  member: 'subnetpool',
  collection: 'subnetpools',
  attributes: {
    name: both(text(255, { min: 1 })),
    description: DESCRIPTION,
    prefixes: { kind: stringList(64, { minItems: 1 }), post: 'required', put: true },
    default_prefixlen: both(integer({ min: 0 })),
    min_prefixlen: both(integer({ min: 0 })),
    max_prefixlen: both(integer({ min: 0 })),
    // null lifts the pool's quota.
    default_quota: both(integer({ min: 0, nullable: true })),
    shared: createOnly(flag()),
    is_default: both(flag()),
    address_scope_id: both(uuid({ nullable: true })),
    tenant_id: PROJECT,
    project_id: PROJECT,
  },
};

export const ADDRESS_SCOPE: ResourceAttributes = {
  member: 'address_scope',
  collection: 'address_scopes',
  attributes: {
    name: NAME,
    description: DESCRIPTION,
    ip_version: requiredOnCreate(integer({ values: [4, 6] })),
    shared: both(flag()),
    tenant_id: PROJECT,
    project_id: PROJECT,
  },
};

/** A target: a project id or `*` (everyone). */
const TARGET = text(255, { pattern: '^(\\*|[A-Za-z0-9_-]{1,64})$', reason: 'is not a valid target project' });

export const RBAC_POLICY: ResourceAttributes = {
  member: 'rbac_policy',
  collection: 'rbac_policies',
  attributes: {
    object_type: requiredOnCreate(values(['network'])),
    object_id: requiredOnCreate(uuid()),
    action: requiredOnCreate(values(['access_as_shared', 'access_as_external'])),
    // One of the two names is required; the domain says which was given.
    target_tenant: both(TARGET),
    target_project_id: both(TARGET),
    tenant_id: PROJECT,
    project_id: PROJECT,
  },
};

const agentReadOnly = (kind: Kind): Attribute => ({ kind, post: false, put: false });
const ANYTHING: Kind = { schema: {}, refuse: () => ({ type: 'HTTPBadRequest', message: 'Invalid input.' }) };

export const AGENT: ResourceAttributes = {
  member: 'agent',
  collection: 'agents',
  attributes: {
    admin_state_up: updateOnly(flag()),
    description: updateOnly(text(255, { nullable: true })),
    ...Object.fromEntries(
      ['id', 'agent_type', 'binary', 'topic', 'host', 'alive', 'heartbeat_timestamp', 'started_at', 'created_at', 'configurations', 'availability_zone', 'resources_synced'].map((k) => [k, agentReadOnly(ANYTHING)]),
    ),
  },
};

/** quotasv2: every quota resource, convert_to_int then type:range [-1, the column's maximum]. */
export const QUOTA: ResourceAttributes = {
  member: 'quota',
  collection: 'quotas',
  attributes: Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((resource) => [resource, updateOnly(integer({ min: -1, max: 2_147_483_647, digits: '^(-1|[0-9]{1,9})$' }))])),
};
