import ipaddr from 'ipaddr.js';
import { NeutronError } from './context.js';
import type { AllocationPool, Subnet } from './model.js';

/** Addresses as big integers, so IPv4 and IPv6 share one arithmetic. */
export function toBig(address: string): bigint {
  const bytes = ipaddr.parse(address).toByteArray();
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

export function fromBig(value: bigint, version: 4 | 6): string {
  const length = version === 4 ? 4 : 16;
  const bytes: number[] = [];
  let n = value;
  for (let i = 0; i < length; i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export interface ParsedCidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
  first: bigint;
  last: bigint;
  /** The canonical text, e.g. `10.0.0.0/24`. */
  text: string;
}

const invalid = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}`);

/**
 * An address as Neutron's validator takes it: IPv4 only as four decimal parts without leading
 * zeros (no `167772161`, no octal `010`), IPv6 without a zone.
 */
export function isAddress(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value) || (ipaddr.IPv6.isValid(value) && !value.includes('%'));
}

/** The one spelling of an address (lowercase, compressed IPv6), under which allocations are unique. */
export function canonicalAddress(value: string): string {
  return ipaddr.parse(value).toString();
}

export function versionOf(address: string): 4 | 6 {
  return ipaddr.parse(address).kind() === 'ipv4' ? 4 : 6;
}

/** `10.0.0.0/24` → its parts; host bits set are refused unless `hostBits` (a rule's `10.0.0.1/8`). */
export function parseCidr(cidr: string, options: { hostBits?: boolean } = {}): ParsedCidr {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    if (!isAddress(cidr.slice(0, cidr.indexOf('/')))) throw new Error('not an address');
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw invalid(`'${cidr.slice(0, 64)}' is not a valid IP subnet.`);
  }
  const [address, prefix] = parsed;
  const version = address.kind() === 'ipv4' ? 4 : 6;
  const bits = version === 4 ? 32 : 128;
  const value = toBig(address.toString());
  const hostBits = BigInt(bits - prefix);
  const network = (value >> hostBits) << hostBits;
  if (network !== value && !options.hostBits) throw invalid(`'${cidr.slice(0, 64)}' isn't a recommended CIDR: the host bits are set.`);
  const last = network + (1n << hostBits) - 1n;
  return { version, network, prefix, first: network, last, text: `${fromBig(network, version)}/${prefix}` };
}

export function contains(cidr: ParsedCidr, address: string): boolean {
  if (!isAddress(address) || versionOf(address) !== cidr.version) return false;
  const n = toBig(address);
  return n >= cidr.first && n <= cidr.last;
}

/** Neutron's default gateway: the first host address. */
export function defaultGateway(cidr: ParsedCidr): string | null {
  if (cidr.version === 4 && cidr.prefix >= 31) return null;
  return fromBig(cidr.network + 1n, cidr.version);
}

/** The subnet minus the network (and IPv4 broadcast) address, minus the gateway. */
export function defaultPools(cidr: ParsedCidr, gateway: string | null): AllocationPool[] {
  const first = cidr.version === 4 && cidr.prefix < 31 ? cidr.first + 1n : cidr.first + (cidr.version === 6 ? 1n : 0n);
  const last = cidr.version === 4 && cidr.prefix < 31 ? cidr.last - 1n : cidr.last;
  const pools: AllocationPool[] = [];
  const gw = gateway ? toBig(gateway) : null;
  const push = (a: bigint, b: bigint) => {
    if (a <= b) pools.push({ start: fromBig(a, cidr.version), end: fromBig(b, cidr.version) });
  };
  if (gw !== null && gw >= first && gw <= last) {
    push(first, gw - 1n);
    push(gw + 1n, last);
  } else {
    push(first, last);
  }
  return pools;
}

/** Checks pools against the CIDR, each other and the gateway, as Neutron's subnet validation does. */
export function validatePools(cidr: ParsedCidr, pools: AllocationPool[], gateway: string | null): void {
  const ranges: Array<[bigint, bigint]> = [];
  for (const pool of pools) {
    if (!isAddress(pool.start) || !isAddress(pool.end)) throw invalid(`allocation pool ${pool.start}-${pool.end} is not a range of IP addresses.`);
    if (!contains(cidr, pool.start) || !contains(cidr, pool.end)) {
      throw new NeutronError(400, 'OutOfBoundsAllocationPool', `The allocation pool ${pool.start}-${pool.end} spans beyond the subnet cidr ${cidr.text}.`);
    }
    const start = toBig(pool.start);
    const end = toBig(pool.end);
    if (start > end) throw new NeutronError(400, 'InvalidAllocationPool', `The allocation pool ${pool.start}-${pool.end} is not valid.`);
    if (cidr.version === 4 && cidr.prefix < 31 && (start === cidr.first || end === cidr.last)) {
      throw new NeutronError(400, 'InvalidAllocationPool', `The allocation pool ${pool.start}-${pool.end} includes the network or broadcast address.`);
    }
    for (const [a, b] of ranges) {
      if (start <= b && a <= end) throw new NeutronError(400, 'OverlappingAllocationPools', `Found overlapping allocation pools ${pool.start}-${pool.end} for subnet ${cidr.text}.`);
    }
    ranges.push([start, end]);
  }
  if (gateway) {
    const gw = toBig(gateway);
    if (ranges.some(([a, b]) => gw >= a && gw <= b)) {
      throw new NeutronError(409, 'GatewayConflictWithAllocationPools', `Gateway ip ${gateway} conflicts with allocation pool ${pools.map((p) => `${p.start}-${p.end}`).join(', ')}.`);
    }
  }
}

/**
 * Picks a free address from the pools. Among the first free ones it chooses at random, so
 * concurrent requests mostly ask for different addresses instead of all racing for one.
 */
export function pickAddress(subnet: Subnet, used: ReadonlySet<string>, spread = 16): string | undefined {
  const free: bigint[] = [];
  const version = subnet.ipVersion;
  for (const pool of subnet.allocationPools) {
    for (let n = toBig(pool.start), end = toBig(pool.end); n <= end && free.length < spread; n++) {
      if (!used.has(fromBig(n, version))) free.push(n);
    }
    if (free.length >= spread) break;
  }
  if (free.length === 0) return undefined;
  return fromBig(free[Math.floor(Math.random() * free.length)] as bigint, version);
}

/**
 * Up to `count` distinct addresses drawn at random from the pools (weighted by pool size).
 * Checking a few random candidates finds a free address in one query while a pool has room,
 * however many addresses it already holds; the exhaustive scan is left for nearly full pools.
 */
export function randomCandidates(subnet: Subnet, count: number): string[] {
  const ranges = subnet.allocationPools.map((p) => [toBig(p.start), toBig(p.end)] as const).filter(([a, b]) => a <= b);
  const total = ranges.reduce((n, [a, b]) => n + (b - a + 1n), 0n);
  if (total === 0n) return [];
  const picked = new Set<string>();
  const attempts = count * 2;
  for (let i = 0; i < attempts && picked.size < count && BigInt(picked.size) < total; i++) {
    let offset = randomBelow(total);
    for (const [a, b] of ranges) {
      const size = b - a + 1n;
      if (offset < size) {
        picked.add(fromBig(a + offset, subnet.ipVersion));
        break;
      }
      offset -= size;
    }
  }
  return [...picked];
}

function randomBelow(limit: bigint): bigint {
  // 53 random bits are plenty for any pool a test or a cloud will fill; larger IPv6 pools
  // simply draw from their first 2^53 addresses.
  const r = BigInt(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER));
  return r % limit;
}

/** The modified EUI-64 address SLAAC gives a MAC on a /64. */
export function eui64(cidr: ParsedCidr, mac: string): string {
  const bytes = mac.split(':').map((h) => parseInt(h, 16));
  const eui = [((bytes[0] ?? 0) ^ 0x02) & 0xff, bytes[1] ?? 0, bytes[2] ?? 0, 0xff, 0xfe, bytes[3] ?? 0, bytes[4] ?? 0, bytes[5] ?? 0];
  const host = eui.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  return fromBig(cidr.network | host, 6);
}
