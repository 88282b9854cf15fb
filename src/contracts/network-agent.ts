/**
 * Bus contracts: the messages services and agents exchange. Both sides import these
 * types and names; neither imports the other (they meet only on the bus).
 */
/**
 * The desired dataplane state of one host, as the networking control plane computes it
 * from the database and sends it to that host's network agent. It is the whole truth for
 * the host: an agent that applies it twice, or after a restart, ends in the same place.
 */
export interface HostState {
  host: string;
  /** Increases with every computation; an agent ignores a state older than the one it applied. */
  generation: number;
  networks: NetworkState[];
  ports: PortState[];
  /** DHCP servers this host runs (the network node in an all-in-one). */
  dhcp: DhcpState[];
  routers: RouterState[];
  securityGroups: SecurityGroupState[];
}

export interface NetworkState {
  id: string;
  networkType: string;
  physicalNetwork: string | null;
  segmentationId: number | null;
  mtu: number;
  /**
   * vxlan and gre: the tunnel addresses of the other hosts that have a port on this network
   * (l2population), so flooding reaches exactly them without multicast.
   */
  peers: string[];
}

export interface PortState {
  id: string;
  networkId: string;
  macAddress: string;
  fixedIps: Array<{ subnetId: string; ipAddress: string }>;
  deviceOwner: string;
  deviceId: string;
  adminStateUp: boolean;
  portSecurityEnabled: boolean;
  securityGroupIds: string[];
  allowedAddressPairs: Array<{ ipAddress: string; macAddress: string }>;
}

export interface SubnetState {
  id: string;
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
  dnsNameservers: string[];
  hostRoutes: Array<{ destination: string; nexthop: string }>;
  /** No router on the subnet: DHCP routes 169.254.169.254 through itself (isolated metadata). */
  isolated: boolean;
}

export interface DhcpState {
  networkId: string;
  /** The DHCP port's MAC and addresses. */
  portMac: string;
  portIps: string[];
  subnets: SubnetState[];
  hosts: Array<{
    macAddress: string;
    ipAddress: string;
    hostname: string;
    /** The port's id and its own IPv4 DHCP options (extra_dhcp_opts), for a port that has any. */
    portId?: string;
    options?: Array<{ name: string; value: string }>;
  }>;
}

export interface RouterState {
  id: string;
  adminStateUp: boolean;
  gateway: { networkId: string; portMac: string; ips: Array<{ ipAddress: string; cidr: string; gatewayIp: string | null }>; enableSnat: boolean } | null;
  interfaces: Array<{ portId: string; portMac: string; subnetId: string; ipAddress: string; cidr: string }>;
  routes: Array<{ destination: string; nexthop: string }>;
  floatingIps: Array<{ id: string; floatingIp: string; fixedIp: string; portId: string }>;
}

export interface SecurityGroupState {
  id: string;
  stateful: boolean;
  rules: Array<{
    direction: 'ingress' | 'egress';
    ethertype: 'IPv4' | 'IPv6';
    protocol: string | null;
    portRangeMin: number | null;
    portRangeMax: number | null;
    remoteIpPrefix: string | null;
    remoteGroupId: string | null;
  }>;
  /** Addresses of the group's member ports, for rules with remote_group_id. */
  memberIps: string[];
}

/** What an agent says about itself when it asks for its state. */
export interface HostStateRequest {
  host: string;
}

/**
 * `report_state` on NETWORK_SERVER_TOPIC (Neutron's agent state report): sent when an agent
 * starts, every report interval after that, and whenever its health changes. The control plane
 * keeps it in the agents table, where port binding reads what the host can realise and
 * `GET /v2.0/agents` shows it.
 */
export const REPORT_STATE = 'report_state';

export interface AgentReport {
  host: string;
  /** Neutron's agent_type, e.g. `Linux bridge agent`. */
  agentType: string;
  /** The program, e.g. `kumo-network-agent`. */
  binary: string;
  /** The first report of this agent process (Neutron's start_flag): started_at is set from it. */
  starting: boolean;
  configurations: AgentConfigurations;
}

/** What binding needs to know and what an operator wants to see (Neutron's `configurations`). */
export interface AgentConfigurations {
  /** Which dataplane carries the traffic: `linuxbridge`, or `noop` (nothing is carried). */
  dataplane: string;
  /** physnet -> host interface (Neutron's physical_interface_mappings). */
  interface_mappings: Record<string, string>;
  /** The segment types this agent can realise, `flat` and `vlan` on mapped physnets only. */
  network_types: string[];
  /** vxlan and gre when the host has a tunnel endpoint. */
  tunnel_types: string[];
  tunneling_ip: string | null;
  l2_population: boolean;
  /** Ports, DHCP servers, routers and floating IPs in the state last applied. */
  devices: number;
  dhcp_networks: number;
  routers: number;
  floating_ips: number;
  /** The last reconcile that failed, and why; null once one succeeds again. */
  last_error: string | null;
  last_error_at: string | null;
  /** When the desired state was last applied in full. */
  last_reconcile_at: string | null;
  /** Things applied but degraded (an address another cloud holds, ...), from the last reconcile. */
  warnings: string[];
  /** Further facts the dataplane reports (its host bridge, uplink, ...). */
  [key: string]: unknown;
}

/** Bus names shared by the control plane and the agents (they meet only on the bus). */
export const NETWORK_AGENT_TOPIC = 'network_agent';
export const NETWORK_SERVER_TOPIC = 'network';

/**
 * `metadata_lookup` on NETWORK_SERVER_TOPIC: which instance owns `ip` behind a router (its
 * interface networks) or on a network, as the metadata relay asks before it forwards a guest's
 * request. Exactly one of routerId and networkId. The answer is null when no single compute
 * port holds the address there.
 */
export const METADATA_LOOKUP = 'metadata_lookup';

export interface MetadataLookupArgs {
  routerId?: string;
  networkId?: string;
  ip: string;
}

export interface MetadataLookupResult {
  instanceId: string;
  projectId: string;
}
