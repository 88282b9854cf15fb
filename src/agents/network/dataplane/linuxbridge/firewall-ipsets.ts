import ipaddr from 'ipaddr.js';
import type { CommandRunner } from '../../../../core/host/commands.js';
import type { Family } from './firewall-input.js';
import type { FirewallNames, IpSetPlan } from './firewall-rules.js';

/**
 * The member sets of remote security groups (Neutron's ipset enhancement): one `hash:net`
 * set per group and family, read with one `ipset save`, changed with one `ipset restore`.
 * A set whose members change is rebuilt beside itself and swapped in, so a rule never sees
 * it half-filled. Sets live in the host's network namespace, like its iptables.
 */

export interface SavedSet {
  family: Family | undefined;
  members: Set<string>;
}

export function parseIpsetSave(text: string, names: FirewallNames): Map<string, SavedSet> {
  const sets = new Map<string, SavedSet>();
  for (const line of text.split('\n')) {
    const [command, name, ...rest] = line.trim().split(/\s+/);
    if (!name || !names.ownedSet.test(name)) continue;
    if (command === 'create') {
      const family = rest.includes('inet6') ? 6 : rest.includes('inet') ? 4 : undefined;
      sets.set(name, { family, members: new Set() });
    } else if (command === 'add' && rest[0]) {
      sets.get(name)?.members.add(canonicalMember(rest[0]));
    }
  }
  return sets;
}

/** `10.0.0.1`, `10.0.0.1/32` and `2001:DB8::1` in one spelling each. */
function canonicalMember(text: string): string {
  try {
    if (text.includes('/')) {
      const [address, length] = ipaddr.parseCIDR(text);
      return length === (address.kind() === 'ipv4' ? 32 : 128) ? address.toString() : `${address.toString()}/${length}`;
    }
    return ipaddr.parse(text).toString();
  } catch {
    return text;
  }
}

export interface SetChange {
  input: string | undefined;
  names: string[];
}

/** Creates missing sets and swaps in new members; runs before iptables needs the sets. */
export function planSetUpdates(desired: Map<string, IpSetPlan>, saved: Map<string, SavedSet>, firewall: FirewallNames): SetChange {
  const lines: string[] = [];
  const names: string[] = [];
  for (const [name, set] of desired) {
    const have = saved.get(name);
    const create = (target: string) => `create ${target} hash:net family ${set.family === 4 ? 'inet' : 'inet6'}`;
    if (!have) {
      lines.push(create(name), ...set.members.map((m) => `add ${name} ${m}`));
    } else if (have.members.size !== set.members.length || set.members.some((m) => !have.members.has(m))) {
      const twin = firewall.swapTwin(name);
      lines.push(`${create(twin)} -exist`, `flush ${twin}`, ...set.members.map((m) => `add ${twin} ${m}`), `swap ${twin} ${name}`, `destroy ${twin}`);
    } else continue;
    names.push(`ipset ${name}`);
  }
  return { input: lines.length > 0 ? [...lines, ''].join('\n') : undefined, names };
}

/** Destroys our sets nothing wants any more; runs after iptables stopped naming them. */
export function planSetRemovals(desired: Map<string, IpSetPlan>, saved: Map<string, SavedSet>): SetChange {
  const stale = [...saved.keys()].filter((name) => !desired.has(name));
  return {
    input: stale.length > 0 ? [...stale.map((name) => `destroy ${name}`), ''].join('\n') : undefined,
    names: stale.map((name) => `ipset ${name}`),
  };
}

/** Our sets as they are. Without sets to make, a missing ipset tool simply means there are none. */
export async function readSets(run: CommandRunner, needed: boolean, names: FirewallNames): Promise<Map<string, SavedSet>> {
  const text = needed ? await run.run(['ipset', 'save']) : await run.tryRun(['ipset', 'save']);
  return parseIpsetSave(text ?? '', names);
}

export async function restoreSets(run: CommandRunner, input: string): Promise<void> {
  await run.run(['ipset', 'restore'], { input });
}
