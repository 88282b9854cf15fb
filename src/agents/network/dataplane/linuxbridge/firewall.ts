import type { CommandRunner } from '../../../../core/host/commands.js';
import type { ReconcileReport } from '../driver.js';
import { planSetRemovals, planSetUpdates, readSets, restoreSets } from './firewall-ipsets.js';
import { FirewallNames, planFirewall, type FirewallPlan } from './firewall-rules.js';
import { applyTable, planTable, readTable } from './firewall-tables.js';
import type { DataplaneUnit, ReconcileContext } from './unit.js';

const EMPTY_PLAN: FirewallPlan = { chains: { 4: new Map(), 6: new Map() }, sets: new Map() };

/**
 * Security groups, as Neutron's iptables hybrid firewall enforces them on a linuxbridge host:
 * stateful filtering of every instance port with port security on, in the host namespace's
 * iptables and ip6tables (bridged frames reach them through br_netfilter), with ipsets for
 * remote-group members. `firewall-rules.ts` says what the chains contain.
 *
 * A pass renders everything first (bad input fails it before any tool runs), then costs one
 * `ipset save` and one `iptables-save` per family (read together), and changes something only where the host
 * differs: sets are created or swapped, the differing chains re-declared in one atomic
 * `iptables-restore --noflush`, then sets nothing names any more destroyed. A rule deleted by
 * hand is back on the next pass; a second pass over the same state runs nothing else.
 */
export class FirewallUnit implements DataplaneUnit {
  readonly name = 'firewall';

  async reconcile(ctx: ReconcileContext): Promise<void> {
    const names = new FirewallNames(ctx.config.cloudId);
    await apply(ctx.run, planFirewall(ctx.desired, names), names, ctx.report);
  }

  async teardown(ctx: ReconcileContext): Promise<void> {
    await apply(ctx.run, EMPTY_PLAN, new FirewallNames(ctx.config.cloudId), ctx.report);
  }
}

async function apply(run: CommandRunner, plan: FirewallPlan, names: FirewallNames, report: ReconcileReport): Promise<void> {
  // The three reads are independent; together they are most of a pass over a big host.
  const [sets, v4, v6] = await Promise.all([readSets(run, plan.sets.size > 0, names), readTable(run, 4, names), readTable(run, 6, names)]);
  const tables = { 4: v4, 6: v6 };
  // Sets first: iptables-restore refuses a rule naming a set that does not exist.
  const updates = planSetUpdates(plan.sets, sets, names);
  if (updates.input !== undefined) await restoreSets(run, updates.input);
  report.applied.push(...updates.names);
  for (const family of [4, 6] as const) {
    const change = planTable(family, tables[family], plan.chains[family], names);
    await applyTable(run, family, change);
    report.applied.push(...change.applied);
    report.removed.push(...change.removed);
  }
  // Last: a set cannot be destroyed while a rule still names it.
  const removals = planSetRemovals(plan.sets, sets);
  if (removals.input !== undefined) await restoreSets(run, removals.input);
  report.removed.push(...removals.names);
}
