import type { Segment } from './ml2/driver.js';

interface Common {
  id: string;
  projectId: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  revisionNumber: number;
  tags: string[];
}

export interface Network extends Common {
  adminStateUp: boolean;
  shared: boolean;
  external: boolean;
  mtu: number;
  portSecurityEnabled: boolean;
  status: string;
  segment: Segment;
}

export interface AllocationPool {
  start: string;
  end: string;
}

export interface HostRoute {
  destination: string;
  nexthop: string;
}

export interface Subnet extends Common {
  networkId: string;
  ipVersion: 4 | 6;
  cidr: string;
  gatewayIp: string | null;
  enableDhcp: boolean;
  ipv6RaMode: string | null;
  ipv6AddressMode: string | null;
  allocationPools: AllocationPool[];
  dnsNameservers: string[];
  hostRoutes: HostRoute[];
  subnetpoolId: string | null;
}

export interface FixedIp {
  subnetId: string;
  ipAddress: string;
}

export interface AddressPair {
  ipAddress: string;
  macAddress: string;
}

/** A DHCP option for one port (extra_dhcp_opt). */
export interface ExtraDhcpOpt {
  optName: string;
  optValue: string;
  ipVersion: 4 | 6;
}

export interface Port extends Common {
  networkId: string;
  macAddress: string;
  adminStateUp: boolean;
  status: string;
  deviceOwner: string;
  deviceId: string;
  bindingHostId: string;
  bindingVifType: string;
  bindingVnicType: string;
  bindingVifDetails: Record<string, unknown>;
  bindingProfile: Record<string, unknown>;
  portSecurityEnabled: boolean;
  allowedAddressPairs: AddressPair[];
  fixedIps: FixedIp[];
  securityGroups: string[];
  extraDhcpOpts: ExtraDhcpOpt[];
}

/** A Neutron router; its interfaces are ports with device_owner network:router_interface and device_id its id. */
export interface Router extends Common {
  adminStateUp: boolean;
  status: string;
  /** External network of the gateway, or null without one. */
  gatewayNetworkId: string | null;
  /** The gateway port (device_owner network:router_gateway) on that network. */
  gatewayPortId: string | null;
  enableSnat: boolean;
  /** Static routes (extraroute). */
  routes: HostRoute[];
  /**
   * Neutron's dvr and l3-ha flags, set by an admin. Recorded and shown as Neutron does; this
   * dataplane routes every router on its network node either way.
   */
  distributed: boolean;
  ha: boolean;
}

export interface FloatingIp extends Common {
  floatingNetworkId: string;
  floatingIpAddress: string;
  /** The port (device_owner network:floatingip) on the external network that holds the address. */
  floatingPortId: string;
  /** The associated internal port and which of its addresses, with the router that joins them. */
  portId: string | null;
  fixedIpAddress: string | null;
  routerId: string | null;
  status: string;
}

export const DEVICE_OWNER_DHCP = 'network:dhcp';
export const DEVICE_OWNER_ROUTER_INTERFACE = 'network:router_interface';
export const DEVICE_OWNER_ROUTER_GATEWAY = 'network:router_gateway';
export const DEVICE_OWNER_FLOATINGIP = 'network:floatingip';
