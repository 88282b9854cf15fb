import ipaddr from 'ipaddr.js';
import type { HostState, RouterState } from '../../../../contracts/network-agent.js';
import { bridgeName, tapName } from '../../../../contracts/host-devices.js';
import { routerGatewayName, routerInterfaceName } from './names.js';
import { natRules, type FloatingPair } from './router-nat.js';

const ROUTER_INTERFACE = 'network:router_interface';
const ROUTER_GATEWAY = 'network:router_gateway';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** One leg of a router: a veth pair from a network's bridge into the router's namespace. */
export interface RouterLeg {
  portId: string;
  /** The namespace side: qr-… (internal) or qg-… (gateway). */
  device: string;
  /** The host side, plugged into `bridge`. */
  tap: string;
  bridge: string;
  mac: string;
  mtu: number;
  /** "address/prefix", normalized as `ip` prints them. */
  addresses: string[];
}

export interface RouterRoute {
  /** network/prefix, normalized; the default route is 0.0.0.0/0. */
  destination: string;
  nexthop: string;
}

/** Everything one router's namespace should hold, computed and validated before any command runs. */
export interface RouterPlan {
  id: string;
  namespace: string;
  legs: RouterLeg[];
  gatewayDevice?: string;
  /** IPv4 routes beyond the connected ones: the default via the gateway and the extra routes. */
  routes: RouterRoute[];
  floatingIps: FloatingPair[];
  /** The nat table's rules, as iptables-save prints them. */
  nat: string[];
}

/**
 * Turns a router's desired state into the plan the L3 unit applies. Every address, prefix and
 * MAC is checked here, so nothing malformed (or crafted: "1.2.3.4 -j ACCEPT") ever reaches
 * ip or iptables; a router whose state is bad fails as a whole, before any command.
 */
export function planRouter(router: RouterState, desired: HostState, namespace: string, metadata: boolean): RouterPlan {
  const where = `router ${router.id}`;
  const legs: RouterLeg[] = [];
  const internalCidrs = new Set<string>();

  const byPort = new Map<string, RouterState['interfaces']>();
  for (const itf of router.interfaces) byPort.set(itf.portId, [...(byPort.get(itf.portId) ?? []), itf]);
  for (const [portId, rows] of byPort) {
    const port = desired.ports.find((p) => p.id === portId && p.deviceOwner === ROUTER_INTERFACE);
    if (!port) throw new Error(`${where}: interface port ${portId} is not among this host's router interface ports`);
    const addresses = rows.map((r) => {
      const subnet = cidr(r.cidr, `${where} interface ${portId} cidr`);
      if (subnet.kind === 4) internalCidrs.add(subnet.network);
      return `${address(r.ipAddress, `${where} interface ${portId} address`).text}/${subnet.prefix}`;
    });
    legs.push(leg(desired, port.networkId, portId, routerInterfaceName(portId), mac(rows[0]?.portMac ?? '', `${where} interface ${portId}`), addresses));
  }

  const routes: RouterRoute[] = [];
  const floatingIps: FloatingPair[] = [];
  let gatewayDevice: string | undefined;
  let snatSource: string | undefined;
  const gw = router.gateway;
  if (gw) {
    const gwMac = mac(gw.portMac, `${where} gateway`);
    const candidates = desired.ports.filter((p) => p.deviceOwner === ROUTER_GATEWAY && p.macAddress.toLowerCase() === gwMac && p.networkId === gw.networkId);
    const port = candidates.find((p) => p.deviceId === router.id) ?? candidates[0];
    if (!port) throw new Error(`${where}: its gateway port (${gwMac}) is not among this host's ports`);
    gatewayDevice = routerGatewayName(port.id);
    const addresses: string[] = [];
    let defaultRoute: string | undefined;
    for (const ip of gw.ips) {
      const a = address(ip.ipAddress, `${where} gateway address`);
      const subnet = cidr(ip.cidr, `${where} gateway cidr`);
      if (a.kind !== subnet.kind) throw new Error(`${where}: gateway address ${a.text} is not of its subnet's family`);
      addresses.push(`${a.text}/${subnet.prefix}`);
      if (a.kind !== 4) continue;
      snatSource ??= a.text;
      if (ip.gatewayIp !== null && defaultRoute === undefined) defaultRoute = ipv4(ip.gatewayIp, `${where} gateway's gateway`);
    }
    if (!gw.enableSnat) snatSource = undefined;
    const seen = new Set<string>();
    for (const f of [...router.floatingIps].sort((x, y) => x.floatingIp.localeCompare(y.floatingIp))) {
      const floatingIp = ipv4(f.floatingIp, `${where} floating IP`);
      const fixedIp = ipv4(f.fixedIp, `${where} floating IP ${floatingIp} fixed address`);
      if (seen.has(floatingIp)) continue;
      seen.add(floatingIp);
      floatingIps.push({ floatingIp, fixedIp });
      addresses.push(`${floatingIp}/32`);
    }
    legs.push(leg(desired, gw.networkId, port.id, gatewayDevice, gwMac, addresses));
    if (defaultRoute !== undefined) routes.push({ destination: '0.0.0.0/0', nexthop: defaultRoute });
  }

  for (const r of router.routes) {
    const destination = cidr(r.destination, `${where} route destination`);
    const nexthop = address(r.nexthop, `${where} route nexthop`);
    if (destination.kind !== nexthop.kind) throw new Error(`${where}: route ${r.destination} via ${r.nexthop} mixes address families`);
    // Routes are IPv4 here (the namespace's IPv6 table is not managed).
    if (destination.kind === 4 && !routes.some((x) => x.destination === destination.network)) routes.push({ destination: destination.network, nexthop: nexthop.text });
  }

  const nat = natRules({ gatewayDevice, snatSource, internalCidrs: [...internalCidrs].sort(), floatingIps, metadata });
  return { id: router.id, namespace, legs, gatewayDevice, routes, floatingIps, nat };
}

function leg(desired: HostState, networkId: string, portId: string, device: string, mac: string, addresses: string[]): RouterLeg {
  const network = desired.networks.find((n) => n.id === networkId);
  if (!network) throw new Error(`network ${networkId} of router port ${portId} is not among this host's networks`);
  if (!Number.isInteger(network.mtu) || network.mtu < 68 || network.mtu > 65535) throw new Error(`network ${networkId} has a bad MTU ${network.mtu}`);
  return { portId, device, tap: tapName(portId), bridge: bridgeName(networkId), mac, mtu: network.mtu, addresses: [...new Set(addresses)] };
}

interface Address {
  kind: 4 | 6;
  /** Normalized as `ip` prints it (dotted quad, RFC 5952). */
  text: string;
}

/** A strict IPv4 (dotted quad only) or IPv6 (no zone) address. */
export function address(value: unknown, what: string): Address {
  if (typeof value === 'string') {
    if (ipaddr.IPv4.isValidFourPartDecimal(value)) return { kind: 4, text: ipaddr.IPv4.parse(value).toString() };
    if (!value.includes('%') && ipaddr.IPv6.isValid(value)) return { kind: 6, text: ipaddr.IPv6.parse(value).toRFC5952String() };
  }
  throw new Error(`${what}: not an IP address: ${JSON.stringify(value)}`);
}

export function ipv4(value: unknown, what: string): string {
  const a = address(value, what);
  if (a.kind !== 4) throw new Error(`${what}: not an IPv4 address: ${JSON.stringify(value)}`);
  return a.text;
}

/** A prefix "address/length"; `network` is its normalized network address with the length. */
export function cidr(value: unknown, what: string): { kind: 4 | 6; prefix: number; network: string } {
  if (typeof value === 'string') {
    const slash = value.indexOf('/');
    const length = value.slice(slash + 1);
    if (slash > 0 && /^\d{1,3}$/.test(length)) {
      const base = address(value.slice(0, slash), what);
      const prefix = Number(length);
      if (prefix <= (base.kind === 4 ? 32 : 128)) {
        const net = base.kind === 4 ? ipaddr.IPv4.networkAddressFromCIDR(value).toString() : ipaddr.IPv6.networkAddressFromCIDR(value).toRFC5952String();
        return { kind: base.kind, prefix, network: `${net}/${prefix}` };
      }
    }
  }
  throw new Error(`${what}: not a CIDR: ${JSON.stringify(value)}`);
}

export function mac(value: unknown, what: string): string {
  const text = typeof value === 'string' ? value.toLowerCase() : '';
  if (!MAC.test(text)) throw new Error(`${what}: not a MAC address: ${JSON.stringify(value)}`);
  return text;
}
