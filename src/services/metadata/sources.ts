import type { InstanceRef } from '../compute/client.js';

/**
 * What the metadata service reads. The instance side is Nova's own (compute's client, in the
 * all-in-one its classes over the compute tables); the network side is Neutron's, behind an interface so a split
 * deployment can put it over HTTP as compute does with its ports.
 */

/** One subnet of a port's fixed IPs, as Nova's network info carries it. */
export interface MetadataSubnet {
  id: string;
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
  dnsNameservers: string[];
  hostRoutes: Array<{ destination: string; nexthop: string }>;
  enableDhcp: boolean;
  ipv6AddressMode: string | null;
  /** The network's DHCP port address on this subnet, when it has one. */
  dhcpServer: string | null;
}

/** One port of the instance (Nova's VIF). */
export interface MetadataVif {
  portId: string;
  macAddress: string;
  /** binding:vif_type, e.g. `bridge`. */
  vifType: string;
  networkId: string;
  mtu: number;
  fixedIps: Array<{ subnetId: string; ipAddress: string; floatingIps: string[] }>;
  /** The subnets of `fixedIps`, in the order they first appear there. */
  subnets: MetadataSubnet[];
}

export interface InstanceNetwork {
  /** The instance's ports, oldest first. */
  vifs: MetadataVif[];
  /** Names of the security groups on its ports. */
  securityGroups: string[];
}

/** The networking service as the metadata service needs it. */
export interface InstanceNetworkSource {
  /** The instance's own ports (its project's): another project's port naming it is not one of them. */
  forInstance(instance: InstanceRef): Promise<InstanceNetwork>;
}

/** The compute side: Nova's instance, key pair and password records, as compute's client declares them. */
export type { InstanceSource } from '../compute/client.js';
