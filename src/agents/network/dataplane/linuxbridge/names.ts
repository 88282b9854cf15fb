/**
 * The names the Linux dataplane gives what it creates, as Neutron's linuxbridge agent names
 * them, so an operator who knows Neutron finds their way: a prefix that says what the thing
 * is, then the first 11 characters of the owning resource's id (Linux allows 15).
 *
 * Several clouds may share a host, so what a cloud owns is told by its cloud id (a short id
 * of its data directory, `KumoConfig.cloudId`), never by a name prefix alone:
 * - devices in the host namespace (bridges, VXLAN/VLAN/GRE devices, taps, the host ends of
 *   veths) carry the mark `kumo:<cloud id>` as their alias (`ip link set dev X alias ...`, set
 *   in the same `ip -batch` that creates them): 15 characters leave no room for it in the name.
 *   A device name that is not unique to one resource (a fixed name, one per cloud) must hold
 *   the cloud id itself (a cloud's DevStack-like br-ex: `brex-<cloud id>`);
 * - namespaces carry it in their name (`kumo-<cloud id>-qdhcp-<network>`);
 * - iptables chains and ipsets too (firewall-rules.ts);
 * - dnsmasq, haproxy and QEMU are found by pid files in the cloud's own state directory.
 * The driver never touches a device or namespace that is not marked or named as its cloud's.
 */
export const PREFIX = {
  bridge: 'brq',
  tap: 'tap',
  vxlan: 'vxlan-',
  gre: 'gt',
  vlan: 'vl',
  dhcpLeg: 'ns-',
  routerInterface: 'qr-',
  routerGateway: 'qg-',
  dhcpNamespace: 'qdhcp-',
  routerNamespace: 'qrouter-',
} as const;

const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CLOUD_ID = /^[0-9a-f]{6}$/;

export function assertCloudId(cloudId: string): string {
  if (!CLOUD_ID.test(cloudId)) throw new Error(`not a cloud id (6 hex digits): ${JSON.stringify(cloudId)}`);
  return cloudId;
}

/** The alias every host device of a cloud carries. */
export const deviceMark = (cloudId: string) => `kumo:${assertCloudId(cloudId)}`;
/** Any cloud's mark: a device carrying one of another cloud is never touched. */
export const ANY_DEVICE_MARK = /^kumo:[0-9a-f]{6}$/;
/** The namespace prefix of a cloud, unless a test gives one of its own (`namespacePrefix`). */
export const cloudNamespacePrefix = (cloudId: string) => `kumo-${assertCloudId(cloudId)}-`;
const NAMESPACE_NAME = /^[A-Za-z0-9_.-]{1,200}$/;
const ID = /^[A-Za-z0-9-]{11,64}$/;

export function assertDeviceName(name: string): string {
  if (!DEVICE_NAME.test(name)) throw new Error(`not a valid interface name: ${JSON.stringify(name)}`);
  return name;
}

export function assertNamespaceName(name: string): string {
  if (!NAMESPACE_NAME.test(name)) throw new Error(`not a valid namespace name: ${JSON.stringify(name)}`);
  return name;
}

function short(id: string): string {
  if (!ID.test(id)) throw new Error(`not a valid resource id: ${JSON.stringify(id)}`);
  return id.slice(0, 11);
}

export const bridgeName = (networkId: string) => assertDeviceName(PREFIX.bridge + short(networkId));
/** The host side of every port: an instance's tap, or the bridge leg of a DHCP or router port. */
export const tapName = (portId: string) => assertDeviceName(PREFIX.tap + short(portId));
export const dhcpLegName = (portId: string) => assertDeviceName(PREFIX.dhcpLeg + short(portId));
export const routerInterfaceName = (portId: string) => assertDeviceName(PREFIX.routerInterface + short(portId));
export const routerGatewayName = (portId: string) => assertDeviceName(PREFIX.routerGateway + short(portId));
export const vxlanName = (vni: number) => assertDeviceName(PREFIX.vxlan + String(vni));
export const vlanName = (physicalInterface: string, vlanId: number) =>
  // `vl<vid>-<if>`, cut to 15 characters; the vid leads so two physnets never share one name.
  assertDeviceName(`${PREFIX.vlan}${vlanId}-${physicalInterface}`.slice(0, 15));
/** One gretap device per (network, peer): the key says which network, the hex tail which peer. */
export const greName = (key: number, peerIp: string) =>
  assertDeviceName(`${PREFIX.gre}${key.toString(16)}-${ipv4Hex(peerIp)}`.slice(0, 15));

function ipv4Hex(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

/**
 * Namespace names are global to the machine, unlike devices inside a host namespace, so a
 * cloud's namespaces start with its prefix: `kumo-<cloud id>-` (cloudNamespacePrefix), or a
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
