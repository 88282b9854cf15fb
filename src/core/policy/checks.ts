/**
 * Turns a parsed rule into a closure tree, once, so enforcement is a few calls and string
 * comparisons with no parsing, allocation or map lookups (`rule:` references are bound to
 * their slot at compile time).
 *
 * Semantics are oslo_policy/_checks.py's, with one deliberate difference: a value that
 * Python would print as `None` (null or undefined, on either side) never matches. In oslo,
 * `project_id:%(project_id)s` is true for an unscoped token acting on a target whose
 * project_id is None, because both sides print as "None"; here that fails closed.
 */
import type { GenericSubject, PolicyNode, Template } from './parser.js';
import type { CheckFn, Credentials, PolicyTarget } from './types.js';

/** Where a `rule:name` reference looks at evaluation time; the enforcer swaps `check` as rules change. */
export interface RuleSlot {
  check: CheckFn;
}

export const allow: CheckFn = () => true;
export const deny: CheckFn = () => false;

export function compileCheck(node: PolicyNode, slotFor: (name: string) => RuleSlot): CheckFn {
  switch (node.type) {
    case 'always':
      return allow;
    case 'never':
      return deny;
    case 'not': {
      const operand = compileCheck(node.operand, slotFor);
      return (target, credentials) => !operand(target, credentials);
    }
    case 'and':
      return compileAnd(node.operands.map((operand) => compileCheck(operand, slotFor)));
    case 'or':
      return compileOr(node.operands.map((operand) => compileCheck(operand, slotFor)));
    case 'rule': {
      // An undefined name's slot denies. oslo would fall back to the `default` rule here
      // (Rules.__missing__); a typo in a reference should not inherit a permissive default.
      const slot = slotFor(node.name);
      return (target, credentials) => slot.check(target, credentials);
    }
    case 'role':
      return compileRole(node.role);
    case 'generic':
      return compileGeneric(node.subject, node.match);
  }
}

function compileAnd(checks: readonly CheckFn[]): CheckFn {
  const [first, second] = checks;
  if (checks.length === 2 && first && second) return (target, credentials) => first(target, credentials) && second(target, credentials);
  return (target, credentials) => {
    for (const check of checks) if (!check(target, credentials)) return false;
    return true;
  };
}

function compileOr(checks: readonly CheckFn[]): CheckFn {
  const [first, second] = checks;
  if (checks.length === 2 && first && second) return (target, credentials) => first(target, credentials) || second(target, credentials);
  return (target, credentials) => {
    for (const check of checks) if (check(target, credentials)) return true;
    return false;
  };
}

function compileRole(template: Template): CheckFn {
  const constant = constantOf(template);
  if (constant !== undefined) {
    const wanted = constant.toLowerCase();
    return (_target, credentials) => hasRole(credentials, wanted);
  }
  const render = compileTemplate(template);
  return (target, credentials) => {
    const role = render(target);
    return role !== undefined && hasRole(credentials, role.toLowerCase());
  };
}

function hasRole(credentials: Credentials, wanted: string): boolean {
  const roles: unknown = credentials.roles;
  if (!Array.isArray(roles)) return false;
  for (const role of roles) {
    // Roles are nearly always stored lower-case already; the exact compare skips toLowerCase.
    if (role === wanted || (typeof role === 'string' && role.toLowerCase() === wanted)) return true;
  }
  return false;
}

function compileGeneric(subject: GenericSubject, match: Template): CheckFn {
  const constant = constantOf(match);
  if (subject.kind === 'literal') {
    if (constant !== undefined) return constant === subject.value ? allow : deny;
    const render = compileTemplate(match);
    const value = subject.value;
    return (target) => render(target) === value;
  }
  const matches = compileCredentialMatcher(subject.path);
  if (constant !== undefined) return (_target, credentials) => matches(credentials, constant);
  const render = compileTemplate(match);
  return (target, credentials) => {
    const wanted = render(target);
    return wanted !== undefined && matches(credentials, wanted);
  };
}

function constantOf(template: Template): string | undefined {
  const [only] = template.parts;
  return template.parts.length === 1 && only !== undefined && 'literal' in only ? only.literal : undefined;
}

/** Python's `str()` for the scalars a check can compare; undefined for anything that never matches. */
export function pythonString(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      if (Number.isNaN(value)) return 'nan';
      if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
      return String(value);
    case 'bigint':
      return String(value);
    default:
      return undefined;
  }
}

type Render = (target: PolicyTarget) => string | undefined;

/** `match % target`: undefined when a placeholder's key is missing, as oslo's KeyError means "false". */
function compileTemplate(template: Template): Render {
  const pieces = template.parts.map((part) => ('literal' in part ? part.literal : compileLookup(part.path)));
  const [only] = pieces;
  if (pieces.length === 1 && typeof only === 'function') return (target) => pythonString(only(target));
  return (target) => {
    let text = '';
    for (const piece of pieces) {
      if (typeof piece === 'string') {
        text += piece;
        continue;
      }
      const value = pythonString(piece(target));
      if (value === undefined) return undefined;
      text += value;
    }
    return text;
  };
}

/**
 * Reads `a.b.c` from an object, preferring the flat key `'a.b.c'` (what oslo's `%` sees, and
 * how Keystone flattens targets) and otherwise walking nested objects, at each level trying
 * the longest dotted key first so flat keys also work below the top.
 */
function compileLookup(path: string): (root: object) => unknown {
  const segments = path.split('.');
  if (segments.length === 1) return (root) => ownValue(root, path);
  const keys = dottedKeys(segments);
  const walk = (node: object, from: number): unknown => {
    const row = keys[from] as readonly string[];
    for (let to = segments.length; to > from; to--) {
      const value = ownValue(node, row[to] as string);
      if (value === undefined) continue;
      if (to === segments.length) return value;
      if (typeof value !== 'object' || value === null) continue;
      const found = walk(value, to);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return (root) => walk(root, 0);
}

/**
 * The credential side of `kind:match`. As in oslo's `_find_in_dict`, a list met on the way
 * fans out: `roles:admin` holds if any element matches.
 */
function compileCredentialMatcher(path: string): (credentials: Credentials, wanted: string) => boolean {
  // oslo copies `system_scope` into `system` before checking, for rules written as `system:all`.
  const read =
    path === 'system'
      ? (credentials: Credentials): unknown => ownValue(credentials, 'system') ?? ownValue(credentials, 'system_scope')
      : undefined;
  const segments = path.split('.');
  if (segments.length === 1) {
    return (credentials, wanted) => {
      const value = read ? read(credentials) : ownValue(credentials, path);
      return value === wanted || leafMatches(value, wanted, true);
    };
  }
  const keys = dottedKeys(segments);
  const walk = (node: unknown, from: number, wanted: string): boolean => {
    if (from === segments.length) return leafMatches(node, wanted, false);
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
    const row = keys[from] as readonly string[];
    for (let to = segments.length; to > from; to--) {
      const value = ownValue(node, row[to] as string);
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        for (const element of value) if (walk(element, to, wanted)) return true;
      } else if (walk(value, to, wanted)) {
        return true;
      }
    }
    return false;
  };
  return (credentials, wanted) => walk(credentials, 0, wanted);
}

function leafMatches(value: unknown, wanted: string, fanOut: boolean): boolean {
  if (fanOut && Array.isArray(value)) {
    for (const element of value) if (pythonString(element) === wanted) return true;
    return false;
  }
  return pythonString(value) === wanted;
}

/** keys[from][to] is segments[from..to) joined by dots, so no string is built while checking. */
function dottedKeys(segments: readonly string[]): string[][] {
  return segments.map((_, from) => {
    const row: string[] = [];
    for (let to = from + 1; to <= segments.length; to++) row[to] = segments.slice(from, to).join('.');
    return row;
  });
}

/** Own properties only, so a rule cannot reach `constructor` or `__proto__` through the prototype. */
function ownValue(node: object, key: string): unknown {
  return Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
}
