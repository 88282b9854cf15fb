import ipaddr from 'ipaddr.js';
import type { CommandRunner } from '../../../../core/host/commands.js';
import { protocolNumberOf, type Family } from './firewall-input.js';
import { FirewallNames } from './firewall-rules.js';

/**
 * Brings the firewall's chains in one family's filter table to what was rendered: one read
 * (`iptables-save -t filter`), and when anything differs one atomic `iptables-restore
 * --noflush` that re-declares just the chains that differ (a declared chain is flushed in
 * that mode, checked on iptables 1.8.9 nft and legacy), deletes the chains no longer wanted,
 * and keeps exactly one jump from FORWARD (and INPUT) at the top, below other clouds' jumps
 * only. Chains and rules not ours are never named.
 */

const TOOLS: Record<Family, { save: string; restore: string; name: string }> = {
  4: { save: 'iptables-save', restore: 'iptables-restore', name: 'iptables' },
  6: { save: 'ip6tables-save', restore: 'ip6tables-restore', name: 'ip6tables' },
};

export interface SavedTable {
  /** Our chains as they are, rules in order (`-A chain` left off). */
  chains: Map<string, string[]>;
  /** The rules of the built-in chains we hook (FORWARD, INPUT), in order. */
  hooks: Map<string, string[]>;
}

export function parseSave(text: string, names: FirewallNames): SavedTable {
  const chains = new Map<string, string[]>();
  const hooks = new Map<string, string[]>(Object.keys(names.hooks).map((chain) => [chain, []]));
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] ?? '';
      if (names.ownedChain.test(name)) chains.set(name, []);
    } else if (line.startsWith('-A ')) {
      const space = line.indexOf(' ', 3);
      const chain = line.slice(3, space < 0 ? undefined : space);
      const spec = space < 0 ? '' : line.slice(space + 1);
      (hooks.get(chain) ?? chains.get(chain))?.push(spec);
    }
  }
  return { chains, hooks };
}

/**
 * A rule as iptables means it, whatever the spelling: protocols as numbers (iptables-save
 * prints names from /etc/protocols) and addresses in one canonical form.
 */
export function normaliseRule(spec: string): string {
  const tokens = spec.split(' ');
  for (let i = 0; i < tokens.length - 1; i++) {
    const flag = tokens[i];
    const value = tokens[i + 1] as string;
    if (flag === '-p') tokens[i + 1] = String(protocolNumberOf(value) ?? value);
    else if (flag === '-s' || flag === '-d') tokens[i + 1] = canonicalPrefix(value);
    else if (flag === '--mac-source') tokens[i + 1] = value.toLowerCase();
  }
  return tokens.join(' ');
}

function canonicalPrefix(value: string): string {
  try {
    const [address, length] = ipaddr.parseCIDR(value.includes('/') ? value : `${value}/${value.includes(':') ? 128 : 32}`);
    return `${address.toString()}/${length}`;
  } catch {
    return value;
  }
}

/** Rules are mostly spelt alike already; normalising only the others keeps a pass over 1,000 ports quick. */
const sameRules = (a: string[], b: string[]) =>
  a.length === b.length && a.every((rule, i) => rule === b[i] || normaliseRule(rule) === normaliseRule(b[i] as string));

export interface TableChange {
  /** The iptables-restore input, or undefined when the table already matches. */
  input: string | undefined;
  applied: string[];
  removed: string[];
}

/** What it takes to turn `saved` into `desired` (an empty `desired` removes all of ours). */
export function planTable(family: Family, saved: SavedTable, desired: Map<string, string[]>, names: FirewallNames): TableChange {
  const tool = TOOLS[family].name;
  const declare: string[] = [];
  const rules: string[] = [];
  const applied: string[] = [];
  const removed: string[] = [];
  for (const [chain, wanted] of desired) {
    const have = saved.chains.get(chain);
    if (have && sameRules(have, wanted)) continue;
    declare.push(`:${chain} - [0:0]`);
    for (const rule of wanted) rules.push(`-A ${chain} ${rule}`);
    applied.push(`${tool} chain ${chain}`);
  }
  const orphans = [...saved.chains.keys()].filter((chain) => !desired.has(chain));
  // Orphans are flushed (declared) before any is deleted, since they may jump to each other.
  for (const chain of orphans) declare.push(`:${chain} - [0:0]`);
  const jumpRules: string[] = [];
  for (const [hook, target] of Object.entries(names.hooks)) {
    const hookRules = saved.hooks.get(hook) ?? [];
    const jump = `-j ${target}`;
    const jumps = hookRules.filter((rule) => rule === jump).length;
    const wanted = desired.has(target);
    // Other clouds on the host put their jumps at the top too: above ours stand only theirs.
    const onTop = hookRules.slice(0, hookRules.indexOf(jump)).every((rule) => FirewallNames.ANY_HOOK_TARGET.test(rule));
    if (wanted ? jumps === 1 && onTop : jumps === 0) continue;
    for (let i = 0; i < jumps; i++) jumpRules.push(`-D ${hook} ${jump}`);
    if (wanted) {
      jumpRules.push(`-I ${hook} 1 ${jump}`);
      applied.push(`${tool} ${hook} ${jump}`);
    } else removed.push(`${tool} ${hook} ${jump}`);
  }
  for (const chain of orphans) removed.push(`${tool} chain ${chain}`);
  if (declare.length === 0 && jumpRules.length === 0) return { input: undefined, applied, removed };
  const input = ['*filter', ...declare, ...rules, ...jumpRules, ...orphans.map((chain) => `-X ${chain}`), 'COMMIT', ''].join('\n');
  return { input, applied, removed };
}

export async function readTable(run: CommandRunner, family: Family, names: FirewallNames): Promise<SavedTable> {
  return parseSave(await run.run([TOOLS[family].save, '-t', 'filter']), names);
}

/** Applies the change `planTable` worked out, in one atomic restore. */
export async function applyTable(run: CommandRunner, family: Family, change: TableChange): Promise<void> {
  // -w: wait for the xtables lock rather than fail, where the legacy backend takes one.
  if (change.input !== undefined) await run.run([TOOLS[family].restore, '-w', '10', '--noflush'], { input: change.input });
}
