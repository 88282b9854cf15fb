/** Neutron's tables (see identity/tables.ts for the portable-types conventions). */
interface Common {
  id: string;
  project_id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface NetworkRow extends Common {
  admin_state_up: number;
  shared: number;
  external: number;
  mtu: number;
  port_security_enabled: number;
  status: string;
}

/** One segment per network; the unique (type, physnet, id) index is what keeps an id from being handed out twice. */
export interface SegmentRow {
  id: string;
  network_id: string;
  network_type: string;
  /** '' when the type has none (vxlan, gre, local): NULLs would defeat the unique index. */
  physical_network: string;
  /** 0 when the type has none (flat, local); (type, physnet, id) is unique except for local. */
  segmentation_id: number;
}

export interface SubnetRow extends Common {
  network_id: string;
  ip_version: number;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: number;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  /** JSON: [{start, end}] */
  allocation_pools: string;
  /** JSON: string[] */
  dns_nameservers: string;
  /** JSON: [{destination, nexthop}] */
  host_routes: string;
  subnetpool_id: string | null;
}

export interface PortRow extends Common {
  network_id: string;
  mac_address: string;
  admin_state_up: number;
  status: string;
  device_owner: string;
  device_id: string;
  binding_host_id: string;
  binding_vif_type: string;
  binding_vnic_type: string;
  /** JSON object */
  binding_vif_details: string;
  /** JSON object */
  binding_profile: string;
  port_security_enabled: number;
  /** JSON: [{ip_address, mac_address}] */
  allowed_address_pairs: string;
  /** JSON: [{optName, optValue, ipVersion}] */
  extra_dhcp_opts: string;
}

/** (subnet, address) is unique: two ports can never hold one IP. */
export interface IpAllocationRow {
  port_id: string;
  network_id: string;
  subnet_id: string;
  ip_address: string;
}

export interface PortSecurityGroupRow {
  port_id: string;
  security_group_id: string;
}

export interface RouterRow extends Common {
  admin_state_up: number;
  status: string;
  /** External network of the gateway, or null. */
  gw_network_id: string | null;
  /** The router's gateway port on the external network. */
  gw_port_id: string | null;
  enable_snat: number;
  /** JSON: [{destination, nexthop}] */
  routes: string;
  distributed: number;
  ha: number;
}

export interface FloatingIpRow extends Common {
  floating_network_id: string;
  floating_ip_address: string;
  /** The port on the external network that holds the address. */
  floating_port_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
}

export interface SecurityGroupRow extends Common {
  stateful: number;
}

export interface SecurityGroupRuleRow {
  id: string;
  project_id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface TagRow {
  resource_id: string;
  tag: string;
}

export interface QuotaRow {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface DefaultSecurityGroupRow {
  project_id: string;
  security_group_id: string;
}

/** A network agent that has asked for its state: where its host's tunnels end. */
export interface AgentRow {
  host: string;
  tunnel_ip: string | null;
  updated_at: string;
  /** Null only for a row from before agents reported (until its next report). */
  id: string | null;
  agent_type: string;
  agent_binary: string;
  topic: string;
  description: string | null;
  admin_state_up: number;
  /** JSON: the agent's last AgentConfigurations. */
  configurations: string;
  created_at: string | null;
  started_at: string | null;
  heartbeat_at: string | null;
}

export interface BootstrapRow {
  name: string;
  /** `started`, `done` or `skipped`. */
  state: string;
  /** JSON: what was made, for the banner. */
  details: string;
  updated_at: string;
}

export interface AddressScopeRow extends Common {
  ip_version: number;
  shared: number;
}

export interface SubnetPoolRow extends Common {
  ip_version: number;
  /** JSON: canonical CIDRs */
  prefixes: string;
  default_prefixlen: number;
  min_prefixlen: number;
  max_prefixlen: number;
  shared: number;
  is_default: number;
  address_scope_id: string | null;
  /** Addresses (IPv4) or /64s (IPv6) a project may take from the pool; null: no limit. */
  default_quota: number | null;
}

/** Neutron's networkrbacs: who else may use a network, and how. `*` targets every project. */
export interface RbacRow {
  id: string;
  project_id: string;
  object_type: string;
  object_id: string;
  action: string;
  target_project: string;
  created_at: string;
}

export interface NetworkTables {
  network_network: NetworkRow;
  network_segment: SegmentRow;
  network_subnet: SubnetRow;
  network_port: PortRow;
  network_ip_allocation: IpAllocationRow;
  network_port_security_group: PortSecurityGroupRow;
  network_router: RouterRow;
  network_floatingip: FloatingIpRow;
  network_security_group: SecurityGroupRow;
  network_security_group_rule: SecurityGroupRuleRow;
  network_default_security_group: DefaultSecurityGroupRow;
  network_tag: TagRow;
  network_quota: QuotaRow;
  network_agent: AgentRow;
  network_bootstrap: BootstrapRow;
  network_address_scope: AddressScopeRow;
  network_subnetpool: SubnetPoolRow;
  network_rbac: RbacRow;
}
