/**
 * The names of the host objects the compute and network agents share, so neither driver
 * imports the other: the compute driver makes a port's tap (QEMU opens it by name), the
 * network dataplane plugs that tap into its network's bridge. Names follow Neutron's
 * linuxbridge agent, so an operator who knows Neutron finds their way: a prefix that says what
 * the thing is, then the first 11 characters of the owning resource's id (Linux allows 15).
 *
 * Several clouds may share a host, so what a cloud owns is told by its cloud id (a short id of
 * its data directory, `KumoConfig.cloudId`), never by a name prefix alone:
 * - devices in the host namespace (bridges, taps, tunnel devices, the host ends of veths)
 *   carry the mark `kumo:<cloud id>` as their alias (`ip link set dev X alias ...`):
 *   15 characters leave no room for it in the name;
 * - names global to the machine (network namespaces, iptables chains, ipsets) start with
 *   `kumo-<cloud id>-` (cloudPrefix).
 * An agent never touches a device or namespace that is not marked or named as its cloud's.
 */

export const TAP_PREFIX = 'tap';
export const BRIDGE_PREFIX = 'brq';

const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
const CLOUD_ID = /^[0-9a-f]{6}$/;
const ID = /^[A-Za-z0-9-]{11,64}$/;

export function assertCloudId(cloudId: string): string {
  if (!CLOUD_ID.test(cloudId)) throw new Error(`not a cloud id (6 hex digits): ${JSON.stringify(cloudId)}`);
  return cloudId;
}

/** The alias every host device of a cloud carries. */
export const deviceMark = (cloudId: string) => `kumo:${assertCloudId(cloudId)}`;
/** Any cloud's mark: a device carrying one of another cloud is never touched. */
export const ANY_DEVICE_MARK = /^kumo:[0-9a-f]{6}$/;
/** What every machine-global name of a cloud starts with: its namespaces, iptables chains and ipsets. */
export const cloudPrefix = (cloudId: string) => `kumo-${assertCloudId(cloudId)}-`;

export function assertDeviceName(name: string): string {
  if (!DEVICE_NAME.test(name)) throw new Error(`not a valid interface name: ${JSON.stringify(name)}`);
  return name;
}

/** The part of a resource id a device name keeps (its first 11 characters). */
export function shortId(id: string): string {
  if (!ID.test(id)) throw new Error(`not a valid resource id: ${JSON.stringify(id)}`);
  return id.slice(0, 11);
}

/** The network's bridge, which every port of the network on this host is plugged into. */
export const bridgeName = (networkId: string) => assertDeviceName(BRIDGE_PREFIX + shortId(networkId));
/** The host side of every port: an instance's tap, or the bridge leg of a DHCP or router port. */
export const tapName = (portId: string) => assertDeviceName(TAP_PREFIX + shortId(portId));
