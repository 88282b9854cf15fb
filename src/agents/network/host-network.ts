import ipaddr from 'ipaddr.js';
import type { CommandRunner } from '../../core/host/commands.js';

/**
 * What the all-in-one reads from its host's own networking to need no flags: a tunnel address
 * for overlay networks, and an external range no other cloud on the host already uses.
 */

/** Where overlays end on a single host that was given no `--tunnel-ip`: nothing leaves it, since it has no peers. */
export const LOOPBACK_TUNNEL_IP = '127.0.0.1';

export interface TunnelChoice {
  ip: string;
  /** For the banner: where the address came from. */
  reason: string;
}

interface Route {
  dst: string;
  dev?: string;
  prefsrc?: string;
}

interface AddressRow {
  ifname: string;
  addr_info?: Array<{ family?: string; local: string; prefixlen: number; scope?: string }>;
}

/**
 * The address of the default route's interface (its preferred source, else its first global
 * IPv4 address), as a host's VXLAN/GRE endpoint; with no default route, the loopback address,
 * which serves a single host (it has no peers to reach).
 */
export async function pickTunnelIp(run: CommandRunner): Promise<TunnelChoice> {
  const fallback = (why: string): TunnelChoice => ({
    ip: LOOPBACK_TUNNEL_IP,
    reason: `${why}: ${LOOPBACK_TUNNEL_IP}, enough for one host (give --tunnel-ip before adding hosts)`,
  });
  let routes: Route[];
  let addresses: AddressRow[];
  try {
    routes = await run.ipJson<Route>(['-4', 'route', 'show', 'default']);
    addresses = await run.ipJson<AddressRow>(['-4', 'addr', 'show']);
  } catch (error) {
    return fallback(`could not read the host's routes (${error instanceof Error ? error.message : String(error)})`);
  }
  for (const route of routes) {
    if (!route.dev) continue;
    if (route.prefsrc && ipaddr.IPv4.isValidFourPartDecimal(route.prefsrc)) {
      return { ip: route.prefsrc, reason: `the default route's source address on ${route.dev}` };
    }
    const global = addresses.find((a) => a.ifname === route.dev)?.addr_info?.find((a) => a.scope === 'global' && ipaddr.IPv4.isValidFourPartDecimal(a.local));
    if (global) return { ip: global.local, reason: `the address of ${route.dev}, the default route's interface` };
  }
  return fallback(routes.length === 0 ? 'no default route' : "the default route's interface has no IPv4 address");
}

/**
 * `preferred` (a /24), or the next /24 after it that no address or route on the host touches:
 * another cloud on this host (its bridge holds the gateway) or a real network already has it.
 */
export async function freeRange(run: CommandRunner, preferred: string): Promise<{ cidr: string; note?: string }> {
  const [base, bits] = ipaddr.IPv4.parseCIDR(preferred);
  if (bits !== 24) throw new Error(`freeRange takes a /24, not ${preferred}`);
  let addresses: AddressRow[];
  let routes: Route[];
  try {
    addresses = await run.ipJson<AddressRow>(['-4', 'addr', 'show']);
    routes = await run.ipJson<Route>(['-4', 'route', 'show']);
  } catch {
    return { cidr: preferred };
  }
  const taken: Array<{ range: [ipaddr.IPv4, number]; by: string }> = [];
  for (const row of addresses) {
    for (const a of row.addr_info ?? []) {
      if (ipaddr.IPv4.isValidFourPartDecimal(a.local)) taken.push({ range: [ipaddr.IPv4.parse(a.local), 32], by: `${a.local} on ${row.ifname}` });
    }
  }
  for (const route of routes) {
    if (route.dst === 'default') continue;
    const [dst, len] = route.dst.includes('/') ? route.dst.split('/') : [route.dst, '32'];
    if (dst && ipaddr.IPv4.isValidFourPartDecimal(dst)) taken.push({ range: [ipaddr.IPv4.parse(dst), Number(len)], by: `a route to ${route.dst}${route.dev ? ` via ${route.dev}` : ''}` });
  }
  const octets = base.octets;
  for (let third = octets[2] as number; third <= 255; third++) {
    const candidate = ipaddr.IPv4.parse(`${octets[0]}.${octets[1]}.${third}.0`);
    const clash = taken.find(({ range }) => overlaps([candidate, 24], range));
    if (!clash) {
      const cidr = `${candidate.toString()}/24`;
      if (cidr === preferred) return { cidr };
      const first = taken.find(({ range }) => overlaps([base, 24], range));
      return { cidr, note: `${preferred} is in use on this host (${first?.by ?? 'taken'}; another cloud?), so public has ${cidr}` };
    }
  }
  return { cidr: preferred, note: `every /24 from ${preferred} on is in use on this host; public has ${preferred} anyway` };
}

function overlaps(a: [ipaddr.IPv4, number], b: [ipaddr.IPv4, number]): boolean {
  const shorter = Math.min(a[1], b[1]);
  return a[0].match(b[0], shorter);
}

/** The interface other than `except` that holds `address` (no prefix), if any. */
export async function addressHolder(run: CommandRunner, address: string, except: string): Promise<string | undefined> {
  try {
    const rows = await run.ipJson<AddressRow>(['addr', 'show']);
    return rows.find((row) => row.ifname !== except && (row.addr_info ?? []).some((a) => a.local === address))?.ifname;
  } catch {
    return undefined;
  }
}
