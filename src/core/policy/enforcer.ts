/**
 * One rule set for the whole cloud: each service registers its defaults in code, an
 * operator's policy.yaml overrides or adds names, and requests are checked against the
 * result. Modelled on oslo_policy.policy.Enforcer.
 *
 * All the work happens when rules change: parsing, compiling, binding `rule:` references
 * to slots and finding cycles. `enforce` is a map lookup and a closure call.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compileCheck, deny, type RuleSlot } from './checks.js';
import { PolicyDefinitionError, PolicyFileError, PolicyNotAuthorized, type PolicyProblem } from './errors.js';
import { formatRule, parsePolicyValue, parseRule, referencedRules, type PolicyNode } from './parser.js';
import type { CheckFn, Credentials, PolicyTarget } from './types.js';

export interface RuleDefault {
  readonly check: string;
  readonly description?: string;
}

/** Rule name to rule string, or to the string with a description for generated docs. */
export type PolicyDefaults = Readonly<Record<string, string | RuleDefault>>;

/** Something in the rules that will deny more than its author meant; never fatal. */
export interface PolicyWarning {
  readonly rule: string;
  /** `'defaults'`, the policy file's path, or the source given to `setOverrides`. */
  readonly source: string;
  readonly message: string;
}

export interface EnforcerOptions {
  /** Called for each warning as rules are loaded (wire a logger here); warnings are also returned. */
  readonly onWarning?: (warning: PolicyWarning) => void;
  /** The rule an action without a rule of its own falls back to, as oslo's `policy_default_rule`. */
  readonly defaultRule?: string;
}

export interface PolicyRuleInfo {
  readonly name: string;
  /** The rule in force. */
  readonly check: string;
  /** The registered default, when there is one. */
  readonly defaultCheck?: string;
  readonly description?: string;
  /** `'defaults'`, or where the override in force came from. */
  readonly source: string;
}

interface Definition {
  readonly text: string;
  readonly node: PolicyNode;
  readonly source: string;
  readonly references: ReadonlySet<string>;
  compiled?: CheckFn;
}

interface Slot extends RuleSlot {
  defined: boolean;
}

const DEFAULTS_SOURCE = 'defaults';

export function formatWarning(warning: PolicyWarning): string {
  return `${warning.source}: rule ${JSON.stringify(warning.rule)}: ${warning.message}`;
}

export class Enforcer {
  private readonly defaults = new Map<string, Definition>();
  private readonly descriptions = new Map<string, string>();
  private overrides = new Map<string, Definition>();
  /** Stable per name, so compiled `rule:` references never need a lookup. */
  private readonly slots = new Map<string, Slot>();
  private readonly fallback: Slot;
  private readonly onWarning: ((warning: PolicyWarning) => void) | undefined;

  constructor(defaults: PolicyDefaults = {}, options: EnforcerOptions = {}) {
    this.onWarning = options.onWarning;
    this.fallback = this.slotFor(options.defaultRule ?? 'default');
    this.registerDefaults(defaults);
  }

  /**
   * Adds a service's rules. Registering a name again with the same rule is a no-op, so
   * shared base rules may be declared by each service that uses them.
   * @throws PolicyDefinitionError for a rule that does not parse cleanly, a name already
   *   registered with a different rule, or a cycle among defaults; nothing is registered then.
   */
  registerDefaults(defaults: PolicyDefaults): readonly PolicyWarning[] {
    const problems: PolicyProblem[] = [];
    const added = new Map<string, Definition>();
    for (const [name, value] of Object.entries(defaults)) {
      const text: unknown = typeof value === 'string' ? value : value?.check;
      if (typeof text !== 'string') {
        problems.push({ rule: name, message: 'the default has no rule string' });
        continue;
      }
      const registered = this.defaults.get(name);
      if (registered !== undefined) {
        if (registered.text !== text) {
          problems.push({
            rule: name,
            message: `already registered as ${JSON.stringify(registered.text)}, cannot also be ${JSON.stringify(text)}`,
          });
        }
        continue;
      }
      const parsed = parseRule(text);
      for (const message of parsed.problems) problems.push({ rule: name, message });
      added.set(name, definition(text, parsed.node, DEFAULTS_SOURCE));
    }
    if (problems.length === 0) {
      const all = new Map([...this.defaults, ...added]);
      for (const cycle of findCycles(all)) {
        problems.push({ rule: cycle[0] as string, message: `is part of a rule: cycle (${describeCycle(cycle)})` });
      }
    }
    if (problems.length > 0) throw new PolicyDefinitionError(problems);

    for (const [name, value] of Object.entries(defaults)) {
      if (typeof value !== 'string' && value.description !== undefined && !this.descriptions.has(name)) {
        this.descriptions.set(name, value.description);
      }
    }
    for (const [name, entry] of added) this.defaults.set(name, entry);
    // Only a newly registered rule can close a new cycle (through an override already loaded).
    const cycles = this.rebuild().filter((cycle) => cycle.some((name) => added.has(name)));
    const effective = this.effective();
    return this.emit(cycles.flatMap((cycle) => cycleWarnings(cycle, effective)));
  }

  /**
   * Reads an oslo-style policy file (YAML, or JSON which is YAML too) and makes its entries
   * the overrides in force, replacing any loaded before: a name removed from the file goes
   * back to its default.
   * @throws PolicyFileError when the file cannot be read or is not a mapping; rules that do
   *   not parse are warnings, and deny.
   */
  loadOverrides(path: string): readonly PolicyWarning[] {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new PolicyFileError(path, `cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (error) {
      throw new PolicyFileError(path, `is not valid YAML or JSON: ${error instanceof Error ? error.message.trimEnd() : String(error)}`);
    }
    if (data === null || data === undefined) data = {};
    if (typeof data !== 'object' || Array.isArray(data)) {
      throw new PolicyFileError(path, 'must be a mapping of rule names to rule strings');
    }
    return this.setOverrides(data as Record<string, unknown>, path);
  }

  /** As `loadOverrides`, from entries already in memory. */
  setOverrides(entries: Readonly<Record<string, unknown>>, source = 'overrides'): readonly PolicyWarning[] {
    const warnings: PolicyWarning[] = [];
    const next = new Map<string, Definition>();
    for (const [name, value] of Object.entries(entries)) {
      const parsed = parsePolicyValue(value);
      for (const message of parsed.problems) warnings.push({ rule: name, source, message });
      const text = typeof value === 'string' ? value : formatRule(parsed.node);
      next.set(name, definition(text, parsed.node, source));
    }
    this.overrides = next;
    const effective = this.effective();
    warnings.push(...this.rebuild().flatMap((cycle) => cycleWarnings(cycle, effective)));
    for (const [name, entry] of next) warnings.push(...this.danglingReferences(name, entry));
    return this.emit(warnings);
  }

  clearOverrides(): void {
    this.overrides = new Map();
    this.rebuild();
  }

  /**
   * Whether `credentials` may perform `action` on `target`. An action with no rule of its
   * own is judged by the default rule, and denied if there is none.
   */
  enforce(action: string, target: PolicyTarget, credentials: Credentials): boolean {
    const slot = this.slots.get(action);
    if (slot !== undefined && slot.defined) return slot.check(target, credentials);
    return this.fallback.defined && this.fallback.check(target, credentials);
  }

  /** `enforce`, throwing `PolicyNotAuthorized` (HTTP 403) on denial. */
  authorize(action: string, target: PolicyTarget, credentials: Credentials): void {
    if (!this.enforce(action, target, credentials)) throw new PolicyNotAuthorized(action);
  }

  /** Whether a rule of this name is defined, by default or override. */
  has(name: string): boolean {
    return this.slots.get(name)?.defined ?? false;
  }

  /**
   * Everything suspect in the rules in force, as oslo's `check_rules`: references to
   * undefined rules and cycles. Meant for after all services have registered; not emitted.
   */
  validate(): readonly PolicyWarning[] {
    const effective = this.effective();
    const warnings = findCycles(effective).flatMap((cycle) => cycleWarnings(cycle, effective));
    for (const [name, entry] of effective) warnings.push(...this.danglingReferences(name, entry));
    return warnings;
  }

  /** The rules in force, sorted by name, for `policy list` style tooling and docs. */
  listRules(): PolicyRuleInfo[] {
    return [...this.effective()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, entry]) => {
        const fallback = this.defaults.get(name);
        const description = this.descriptions.get(name);
        return {
          name,
          check: entry.text,
          source: entry.source,
          ...(fallback !== undefined ? { defaultCheck: fallback.text } : {}),
          ...(description !== undefined ? { description } : {}),
        };
      });
  }

  private effective(): Map<string, Definition> {
    const effective = new Map(this.defaults);
    for (const [name, entry] of this.overrides) effective.set(name, entry);
    return effective;
  }

  /** Points every slot at the rule now in force; rules caught in a cycle deny. Returns the cycles. */
  private rebuild(): string[][] {
    const effective = this.effective();
    for (const entry of effective.values()) entry.compiled ??= compileCheck(entry.node, (name) => this.slotFor(name));
    const cycles = findCycles(effective);
    const cyclic = new Set(cycles.flat());
    for (const name of effective.keys()) this.slotFor(name);
    for (const [name, slot] of this.slots) {
      const entry = effective.get(name);
      slot.defined = entry !== undefined;
      slot.check = entry === undefined || cyclic.has(name) ? deny : (entry.compiled ?? deny);
    }
    return cycles;
  }

  private slotFor(name: string): Slot {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = { check: deny, defined: false };
      this.slots.set(name, slot);
    }
    return slot;
  }

  private danglingReferences(name: string, entry: Definition): PolicyWarning[] {
    const warnings: PolicyWarning[] = [];
    for (const reference of entry.references) {
      if (this.slots.get(reference)?.defined) continue;
      warnings.push({
        rule: name,
        source: entry.source,
        message: `refers to rule:${reference}, which is not defined; that reference never matches`,
      });
    }
    return warnings;
  }

  private emit(warnings: PolicyWarning[]): readonly PolicyWarning[] {
    if (this.onWarning !== undefined) for (const warning of warnings) this.onWarning(warning);
    return warnings;
  }
}

function definition(text: string, node: PolicyNode, source: string): Definition {
  return { text, node, source, references: referencedRules(node) };
}

function describeCycle(cycle: readonly string[]): string {
  return cycle.length === 1 ? `${cycle[0]} refers to itself` : `${cycle.join(' -> ')} -> ${cycle[0]}`;
}

function cycleWarnings(cycle: readonly string[], effective: ReadonlyMap<string, Definition>): PolicyWarning[] {
  return cycle.map((name) => ({
    rule: name,
    source: effective.get(name)?.source ?? DEFAULTS_SOURCE,
    message: `is part of a rule: cycle (${describeCycle(cycle)}); it will deny every request`,
  }));
}

/**
 * The rule: cycles, as strongly connected components (Tarjan), each listed in reference
 * order where possible. oslo recurses until Python's stack gives out; here the members deny.
 */
function findCycles(rules: ReadonlyMap<string, Definition>): string[][] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;

  const visit = (name: string): void => {
    index.set(name, counter);
    lowLink.set(name, counter);
    counter++;
    stack.push(name);
    onStack.add(name);
    for (const next of rules.get(name)?.references ?? []) {
      if (!rules.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        lowLink.set(name, Math.min(lowLink.get(name) as number, lowLink.get(next) as number));
      } else if (onStack.has(next)) {
        lowLink.set(name, Math.min(lowLink.get(name) as number, index.get(next) as number));
      }
    }
    if (lowLink.get(name) !== index.get(name)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== name);
    const selfLoop = component.length === 1 && rules.get(name)?.references.has(name) === true;
    if (component.length > 1 || selfLoop) cycles.push(component.reverse());
  };

  for (const name of rules.keys()) if (!index.has(name)) visit(name);
  return cycles;
}
