import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

/**
 * Checks and canonical forms for everything of a security group or port that reaches
 * iptables or ipset: addresses, prefixes, MACs, protocols, port ranges. The firewall renders
 * only what passed through here, so a bad value from the state fails the pass before any tool
 * runs, and a value iptables would read differently from what was meant never reaches it.
 */

export type Family = 4 | 6;

export class FirewallInputError extends Error {}

function bad(message: string): never {
  throw new FirewallInputError(message);
}

/** A single address, strictly (no `10.1` shorthand, no IPv6 zone). */
export function parseAddress(text: unknown, what: string): { family: Family; address: string } {
  if (typeof text === 'string' && text.length <= 64) {
    if (ipaddr.IPv4.isValidFourPartDecimal(text)) return { family: 4, address: ipaddr.IPv4.parse(text).toString() };
    if (!text.includes('%') && ipaddr.IPv6.isValid(text)) return { family: 6, address: ipaddr.IPv6.parse(text).toString() };
  }
  return bad(`${what}: not an IP address: ${JSON.stringify(text)}`);
}

/**
 * An address or a CIDR (a bare address is its /32 or /128), as its network: `10.0.0.5/24`
 * becomes `10.0.0.0/24`, which is what iptables would match anyway.
 */
export function parsePrefix(text: unknown, what: string): { family: Family; network: string; length: number } {
  if (typeof text !== 'string' || text.length > 64) return bad(`${what}: not a CIDR: ${JSON.stringify(text)}`);
  const slash = text.indexOf('/');
  const { family, address } = parseAddress(slash < 0 ? text : text.slice(0, slash), what);
  const max = family === 4 ? 32 : 128;
  const lengthText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) return bad(`${what}: bad prefix length in ${JSON.stringify(text)}`);
  const length = Number(lengthText);
  const network = (family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(`${address}/${length}`) : ipaddr.IPv6.networkAddressFromCIDR(`${address}/${length}`)).toString();
  return { family, network, length };
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A unicast-or-not Ethernet address, lower case as iptables prints it. */
export function parseMac(text: unknown, what: string): string {
  const lower = typeof text === 'string' ? text.toLowerCase() : '';
  if (!MAC.test(lower)) return bad(`${what}: not a MAC address: ${JSON.stringify(text)}`);
  return lower;
}

/** The IPv6 link-local address a guest derives from its MAC (modified EUI-64). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16)) as [number, number, number, number, number, number];
  const parts = [0xfe80, 0, 0, 0, (((b[0] ^ 0x02) << 8) | b[1]), ((b[2] << 8) | 0xff), (0xfe << 8) | b[3], (b[4] << 8) | b[5]];
  return new ipaddr.IPv6(parts).toString();
}

const ID = /^[A-Za-z0-9-]{11,64}$/;

export function assertId(text: unknown, what: string): string {
  if (typeof text !== 'string' || !ID.test(text)) return bad(`${what}: not a valid id: ${JSON.stringify(text)}`);
  return text;
}

/** IANA numbers of the protocol names Neutron accepts. */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  ah: 51, dccp: 33, egp: 8, esp: 50, gre: 47, hopopt: 0, icmp: 1, icmpv6: 58, 'ipv6-icmp': 58, igmp: 2, ipip: 4,
  'ipv6-encap': 41, 'ipv6-frag': 44, 'ipv6-nonxt': 59, 'ipv6-opts': 60, 'ipv6-route': 43, ospf: 89, pgm: 113,
  rsvp: 46, sctp: 132, tcp: 6, udp: 17, udplite: 136, vrrp: 112,
};

/**
 * A rule's protocol as a number, or null for any (`null`, `any`, `0`/`hopopt`, which
 * iptables reads as "all" too). ICMP in an IPv6 rule is ICMPv6, as in Neutron.
 */
export function parseProtocol(value: unknown, family: Family, what: string): number | null {
  if (value === null || value === undefined || value === '' || value === 'any') return null;
  let n: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = value;
  else if (typeof value === 'string' && /^\d{1,3}$/.test(value)) n = Number(value);
  else if (typeof value === 'string') n = PROTOCOL_NUMBERS[value.toLowerCase()];
  if (n === undefined || n < 0 || n > 255) return bad(`${what}: protocol ${JSON.stringify(value)} is not supported`);
  if (n === 0) return null;
  if (family === 6 && n === 1) return 58;
  if (family === 4 && n === 58) return bad(`${what}: ICMPv6 in an IPv4 rule`);
  return n;
}

/** Protocols whose port range is a destination port range. */
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 33, 136]);
const ICMP_PROTOCOLS: ReadonlySet<number> = new Set([1, 58]);

export type PortMatch =
  | { kind: 'none' }
  | { kind: 'ports'; min: number; max: number }
  | { kind: 'icmp'; type: number; code: number | null };

/**
 * A rule's port range, with Neutron's meaning: destination ports for TCP, UDP, UDP-Lite, SCTP
 * and DCCP; ICMP type (min) and code (max) for ICMP; nothing else takes one.
 */
export function parsePortRange(protocol: number | null, min: unknown, max: unknown, what: string): PortMatch {
  if (min === null && max === null) return { kind: 'none' };
  const integer = (v: unknown, lo: number, hi: number, name: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) return bad(`${what}: ${name} ${JSON.stringify(v)} is out of range ${lo}-${hi}`);
    return v;
  };
  if (protocol === null) return bad(`${what}: a port range needs a protocol`);
  if (min === null) return bad(`${what}: port_range_max without port_range_min`);
  if (PORT_PROTOCOLS.has(protocol)) {
    const lo = integer(min, 1, 65535, 'port_range_min');
    const hi = max === null ? lo : integer(max, 1, 65535, 'port_range_max');
    if (lo > hi) return bad(`${what}: port_range_min ${lo} is above port_range_max ${hi}`);
    return { kind: 'ports', min: lo, max: hi };
  }
  if (ICMP_PROTOCOLS.has(protocol)) {
    const type = integer(min, 0, 255, 'ICMP type');
    const code = max === null ? null : integer(max, 0, 255, 'ICMP code');
    // For IPv4, type 255 is iptables' own "any type" (whatever the code); ip6tables has no such type.
    return type === 255 && protocol === 1 ? { kind: 'none' } : { kind: 'icmp', type, code };
  }
  return bad(`${what}: protocol ${protocol} takes no port range`);
}

/**
 * How iptables-save spells a protocol may be a name from /etc/protocols or a number; the
 * firewall compares by number. The names iptables knows without that file, then the file.
 */
let protocolNames: Map<string, number> | undefined;

export function protocolNumberOf(token: string): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  if (!protocolNames) {
    protocolNames = new Map(Object.entries({ ...PROTOCOL_NUMBERS, mh: 135, all: 0 }));
    for (const [name, number] of readProtocolsFile()) if (!protocolNames.has(name)) protocolNames.set(name, number);
  }
  return protocolNames.get(token.toLowerCase());
}

function readProtocolsFile(): Array<[string, number]> {
  let text = '';
  try {
    text = readFileSync('/etc/protocols', 'utf8');
  } catch {
    return [];
  }
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    const [name, number, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!name || !number || !/^\d+$/.test(number)) continue;
    for (const n of [name, ...aliases]) out.push([n.toLowerCase(), Number(number)]);
  }
  return out;
}

/** How the firewall writes a protocol: the names every iptables knows, else the number. */
export function protocolToken(protocol: number): string {
  const names: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite', 50: 'esp', 51: 'ah' };
  return names[protocol] ?? String(protocol);
}
