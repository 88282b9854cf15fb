import type { CommandRunner, CommandOptions } from '../../../../core/host/commands.js';
import { ANY_DEVICE_MARK, assertDeviceName, deviceMark } from '../../../../contracts/host-devices.js';

/** One interface as `ip -j -d link show` reports it (the fields the driver reads). */
export interface Link {
  ifname: string;
  ifindex: number;
  master?: string;
  address?: string;
  flags: string[];
  mtu: number;
  /** The alias: `kumo:<cloud id>` on every device a cloud created (names.ts). */
  ifalias?: string;
  linkinfo?: {
    info_kind?: string;
    info_data?: { id?: number; local?: string; remote?: string; link?: string; port?: number };
    info_slave_kind?: string;
  };
}

export async function listLinks(run: CommandRunner, options: CommandOptions = {}): Promise<Map<string, Link>> {
  const links = await run.ipJson<Link>(['-d', 'link', 'show'], options);
  return new Map(links.map((l) => [l.ifname, l]));
}

export const kindOf = (link: Link | undefined): string | undefined => link?.linkinfo?.info_kind;
export const isUp = (link: Link | undefined): boolean => link?.flags.includes('UP') ?? false;

/** Is this device the cloud's own (it carries the cloud's mark)? */
export const isOurs = (link: Link | undefined, cloudId: string): boolean => link?.ifalias === deviceMark(cloudId);

/** Does this device carry another cloud's mark? Such a device is never touched. */
export const isOtherClouds = (link: Link | undefined, cloudId: string): boolean =>
  link?.ifalias !== undefined && ANY_DEVICE_MARK.test(link.ifalias) && !isOurs(link, cloudId);

/** What a batch line may hold: `ip -batch` splits on whitespace and reads no quotes. */
const BATCH_WORD = /^[A-Za-z0-9_.:/-]+$/;

/**
 * `ip link add ARGS` and the cloud's mark on the new device in one `ip -batch`: a device of
 * ours is never left unmarked, so `kumo down` and orphan removal find every one.
 */
export async function addMarkedLink(run: CommandRunner, cloudId: string, name: string, addArgs: string[], options: CommandOptions = {}): Promise<void> {
  assertDeviceName(name);
  for (const word of addArgs) if (!BATCH_WORD.test(word)) throw new Error(`not an ip argument: ${JSON.stringify(word)}`);
  await run.run(['ip', '-batch', '-'], { ...options, input: `link add ${addArgs.join(' ')}\nlink set dev ${name} alias ${deviceMark(cloudId)}\n` });
}

/** Marks a device as the cloud's (one left unmarked by an older Kumo, adopted because it is wanted). */
export async function markLink(run: CommandRunner, cloudId: string, name: string): Promise<void> {
  await run.run(['ip', 'link', 'set', 'dev', assertDeviceName(name), 'alias', deviceMark(cloudId)]);
}

/** Named network namespaces on the machine (`ip netns list`), which are global. */
export async function listNamespaces(run: CommandRunner): Promise<Set<string>> {
  // Namespaces are not inside the host namespace: list them from the real host.
  const out = await run.run(['ip', '-j', 'netns', 'list'], { netns: '' });
  const text = out.trim();
  const rows = text === '' ? [] : (JSON.parse(text) as Array<{ name: string }>);
  return new Set(rows.map((r) => r.name));
}

/** Addresses per interface inside a namespace: `ip -j addr show`, as "addr/prefix". */
export async function listAddresses(run: CommandRunner, options: CommandOptions): Promise<Map<string, string[]>> {
  const rows = await run.ipJson<{ ifname: string; addr_info?: Array<{ local: string; prefixlen: number; scope?: string }> }>(['addr', 'show'], options);
  return new Map(rows.map((r) => [r.ifname, (r.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`)]));
}
