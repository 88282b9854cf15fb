import ipaddr from 'ipaddr.js';
import type { InstanceNetwork, MetadataSubnet, MetadataVif } from './sources.js';

/**
 * network_data.json as Nova builds it from an instance's network info (nova/virt/netutils.py
 * get_network_metadata): one link per port, one network per port and IP version (the first
 * subnet of each), DNS servers as services. cloud-init configures the guest from it.
 */
export interface NetworkData {
  links: NetworkLink[];
  networks: NetworkEntry[];
  services: DnsService[];
}

export interface NetworkLink {
  id: string;
  vif_id: string;
  type: string;
  /** null when DHCP serves the subnet: the guest takes the MTU from DHCP then. */
  mtu: number | null;
  ethernet_mac_address: string;
}

export interface DnsService {
  type: 'dns';
  address: string;
}

export interface Route {
  network: string;
  netmask: string;
  gateway: string;
}

export type NetworkEntry =
  | { id: string; type: string; link: string; network_id: string }
  | { id: string; type: string; link: string; ip_address: string; netmask: string; routes: Route[]; network_id: string; services: DnsService[] };

/** VIF types Nova shows as they are; any other is a `phy` link. */
const EXPOSED_VIF_TYPES = new Set(['bridge', 'dvs', 'hw_veb', 'hyperv', 'ovs', 'tap', 'vhostuser', 'vif']);

/** Nova's tap device name: `tap` and the port id, cut to the 14 characters Linux allows. */
const devName = (portId: string) => `tap${portId}`.slice(0, 14);

/** The document, or an empty object for an instance without addressed ports, as Nova returns. */
export function networkData(network: InstanceNetwork): NetworkData | Record<string, never> {
  if (network.vifs.length === 0) return {};
  const links: NetworkLink[] = [];
  const networks: NetworkEntry[] = [];
  const services: DnsService[] = [];
  let netNum = -1;
  for (const vif of network.vifs) {
    if (vif.subnets.length === 0) continue;
    const link: NetworkLink = {
      id: devName(vif.portId),
      vif_id: vif.portId,
      type: EXPOSED_VIF_TYPES.has(vif.vifType) ? vif.vifType : 'phy',
      mtu: vif.subnets.some((s) => s.dhcpServer !== null) ? null : vif.mtu,
      ethernet_mac_address: vif.macAddress,
    };
    links.push(link);
    for (const version of [4, 6] as const) {
      const subnet = vif.subnets.find((s) => s.ipVersion === version);
      const ip = subnet && vif.fixedIps.find((f) => f.subnetId === subnet.id);
      if (!subnet || !ip) continue;
      netNum += 1;
      networks.push(networkEntry(vif, subnet, ip.ipAddress, `network${netNum}`, link.id));
      for (const dns of dnsServices(subnet)) if (!services.some((s) => s.address === dns.address)) services.push(dns);
    }
  }
  return { links, networks, services };
}

function networkEntry(vif: MetadataVif, subnet: MetadataSubnet, address: string, id: string, link: string): NetworkEntry {
  const version = subnet.ipVersion;
  let type = `ipv${version}`;
  if (subnet.ipv6AddressMode !== null) type += `_${subnet.ipv6AddressMode}`;
  else if (subnet.dhcpServer !== null || subnet.enableDhcp) return { id, type: `ipv${version}_dhcp`, link, network_id: vif.networkId };
  const [, prefix] = ipaddr.parseCIDR(subnet.cidr);
  const routes: Route[] = subnet.gatewayIp ? [version === 4 ? { network: '0.0.0.0', netmask: '0.0.0.0', gateway: subnet.gatewayIp } : { network: '::', netmask: '::', gateway: subnet.gatewayIp }] : [];
  for (const route of subnet.hostRoutes) {
    const [routeNet, routePrefix] = ipaddr.parseCIDR(route.destination);
    routes.push({ network: networkAddress(routeNet, routePrefix), netmask: netmask(routeNet.kind(), routePrefix), gateway: route.nexthop });
  }
  return { id, type, link, ip_address: address, netmask: netmask(version === 4 ? 'ipv4' : 'ipv6', prefix), routes, network_id: vif.networkId, services: dnsServices(subnet) };
}

function dnsServices(subnet: MetadataSubnet): DnsService[] {
  return subnet.dnsNameservers.map((address) => ({ type: 'dns', address }));
}

function netmask(kind: 'ipv4' | 'ipv6', prefix: number): string {
  return (kind === 'ipv4' ? ipaddr.IPv4.subnetMaskFromPrefixLength(prefix) : ipaddr.IPv6.subnetMaskFromPrefixLength(prefix)).toString();
}

function networkAddress(address: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): string {
  const text = `${address.toString()}/${prefix}`;
  return (address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text)).toString();
}

/** The addresses EC2's meta-data shows: the fixed IPv4 addresses and their floating IPs, in port order. */
export function ec2Addresses(network: InstanceNetwork): { fixedIps: string[]; floatingIps: string[] } {
  const fixed = network.vifs.flatMap((v) => v.fixedIps);
  return {
    fixedIps: fixed.filter((f) => !f.ipAddress.includes(':')).map((f) => f.ipAddress),
    floatingIps: fixed.flatMap((f) => f.floatingIps),
  };
}
