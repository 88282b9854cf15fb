import type { CommandRunner, RunOptions } from './command.js';

/** One interface as `ip -j -d link show` reports it (the fields the driver reads). */
export interface Link {
  ifname: string;
  ifindex: number;
  master?: string;
  address?: string;
  flags: string[];
  mtu: number;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; remote?: string; link?: string; port?: number };
    info_slave_kind?: string;
  };
}

export async function listLinks(run: CommandRunner, options: RunOptions = {}): Promise<Map<string, Link>> {
  const links = await run.ipJson<Link>(['-d', 'link', 'show'], options);
  return new Map(links.map((l) => [l.ifname, l]));
}

export const kindOf = (link: Link | undefined): string | undefined => link?.linkinfo?.info_kind;
export const isUp = (link: Link | undefined): boolean => link?.flags.includes('UP') ?? false;

/** Named network namespaces on the machine (`ip netns list`), which are global. */
export async function listNamespaces(run: CommandRunner): Promise<Set<string>> {
  // Namespaces are not inside the host namespace: list them from the real host.
  const out = await run.run(['ip', '-j', 'netns', 'list'], { netns: '' });
  const text = out.trim();
  const rows = text === '' ? [] : (JSON.parse(text) as Array<{ name: string }>);
  return new Set(rows.map((r) => r.name));
}

/** Addresses per interface inside a namespace: `ip -j addr show`, as "addr/prefix". */
export async function listAddresses(run: CommandRunner, options: RunOptions): Promise<Map<string, string[]>> {
  const rows = await run.ipJson<{ ifname: string; addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> }>(['addr', 'show'], options);
  return new Map(rows.map((r) => [r.ifname, (r.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`)]));
}
