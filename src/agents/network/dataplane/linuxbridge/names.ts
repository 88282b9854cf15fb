import { assertDeviceName, BRIDGE_PREFIX, shortId, TAP_PREFIX } from '../../../../contracts/host-devices.js';

/**
 * The names the Linux dataplane gives what it creates beyond a port's tap and a network's
 * bridge (which the compute driver shares, and so live in contracts/host-devices.ts with the
 * cloud-id scheme): Neutron's linuxbridge agent's prefixes, then the first 11 characters of
 * the owning resource's id. A device name that is not unique to one resource (a fixed name, one
 * per cloud) must hold the cloud id itself (a cloud's DevStack-like br-ex: `brex-<cloud id>`);
 * namespaces carry the cloud's prefix (`kumo-<cloud id>-qdhcp-<network>`), iptables chains and
 * ipsets too (firewall-rules.ts); dnsmasq, haproxy and QEMU are found by pid files in the
 * cloud's own state directory.
 */
export const PREFIX = {
  bridge: BRIDGE_PREFIX,
  tap: TAP_PREFIX,
  vxlan: 'vxlan-',
  gre: 'gt',
  vlan: 'vl',
  dhcpLeg: 'ns-',
  routerInterface: 'qr-',
  routerGateway: 'qg-',
  dhcpNamespace: 'qdhcp-',
  routerNamespace: 'qrouter-',
  publicBridge: 'brex-',
  publicPatch: 'pex-',
  publicChain: 'kumo-pub-',
} as const;

const NAMESPACE_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

export function assertNamespaceName(name: string): string {
  if (!NAMESPACE_NAME.test(name)) throw new Error(`not a valid namespace name: ${JSON.stringify(name)}`);
  return name;
}

export const dhcpLegName = (portId: string) => assertDeviceName(PREFIX.dhcpLeg + shortId(portId));
export const routerInterfaceName = (portId: string) => assertDeviceName(PREFIX.routerInterface + shortId(portId));
export const routerGatewayName = (portId: string) => assertDeviceName(PREFIX.routerGateway + shortId(portId));
export const vxlanName = (vni: number) => assertDeviceName(PREFIX.vxlan + String(vni));
export const vlanName = (physicalInterface: string, vlanId: number) =>
  // `vl<vid>-<if>`, cut to 15 characters; the vid leads so two physnets never share one name.
  assertDeviceName(`${PREFIX.vlan}${vlanId}-${physicalInterface}`.slice(0, 15));
/** One gretap device per (network, peer): the key says which network, the hex tail which peer. */
export const greName = (key: number, peerIp: string) =>
  assertDeviceName(`${PREFIX.gre}${key.toString(16)}-${ipv4Hex(peerIp)}`.slice(0, 15));

const CLOUD_TAG = /^[a-z0-9]{1,8}$/;

/**
 * The all-in-one's host bridge for the external physnet (DevStack's br-ex): it holds the
 * external subnet's gateway address, so the host itself reaches floating IPs, and a veth pair
 * joins it to the external network's bridge (the pair's network side is what the physnet maps
 * to). `cloud` (up to 8 of [a-z0-9]) tells clouds on one host apart. The iptables chains hold
 * the NAT toward a named uplink (nat table), let that traffic through (filter table) and keep
 * the external bridges' own connection tracking apart from the host's (raw table).
 */
export interface PublicBridgeNames {
  bridge: string;
  /** The veth pair: one end on `bridge`, the other plugged into the external network's bridge. */
  bridgeSide: string;
  networkSide: string;
  /** iptables chains for the uplink: NAT (nat table), forwarding (filter table), conntrack zones (raw table). */
  natChain: string;
  forwardChain: string;
  zoneChain: string;
}

export function publicBridgeNames(cloud: string): PublicBridgeNames {
  if (!CLOUD_TAG.test(cloud)) throw new Error(`not a valid cloud tag: ${JSON.stringify(cloud)}`);
  return {
    bridge: assertDeviceName(`${PREFIX.publicBridge}${cloud}`),
    bridgeSide: assertDeviceName(`${PREFIX.publicPatch}${cloud}b`),
    networkSide: assertDeviceName(`${PREFIX.publicPatch}${cloud}n`),
    natChain: `${PREFIX.publicChain}${cloud}`,
    forwardChain: `${PREFIX.publicChain}f${cloud}`,
    zoneChain: `${PREFIX.publicChain}z${cloud}`,
  };
}

function ipv4Hex(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

/**
 * Namespace names are global to the machine, unlike devices inside a host namespace, so a
 * cloud's namespaces start with its prefix: `kumo-<cloud id>-` (cloudPrefix, contracts/host-devices.ts), or a
 * test's own, which also keeps two simulated hosts of one cloud on one machine apart.
 */
export class Namespaces {
  constructor(readonly prefix: string) {
    assertNamespaceName(prefix);
  }
  dhcp(networkId: string): string {
    return assertNamespaceName(`${this.prefix}${PREFIX.dhcpNamespace}${networkId}`);
  }
  router(routerId: string): string {
    return assertNamespaceName(`${this.prefix}${PREFIX.routerNamespace}${routerId}`);
  }
  /** Does this driver own that namespace, and which kind is it? */
  owned(name: string): { kind: 'dhcp' | 'router'; id: string } | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const rest = name.slice(this.prefix.length);
    if (rest.startsWith(PREFIX.dhcpNamespace)) return { kind: 'dhcp', id: rest.slice(PREFIX.dhcpNamespace.length) };
    if (rest.startsWith(PREFIX.routerNamespace)) return { kind: 'router', id: rest.slice(PREFIX.routerNamespace.length) };
    return undefined;
  }
}
