/**
 * oslo.policy's rule language, parsed into a syntax tree.
 *
 * Tokenising follows oslo_policy/_parser.py: the rule is split on whitespace, leading `(`
 * and trailing `)` are peeled off each word, and `and`/`or`/`not` are keywords in any
 * case. Precedence is oslo's: `not` binds tighter than `and`, which binds tighter than `or`.
 *
 * Failure also follows oslo: a rule that does not parse becomes `!` (deny), and a single
 * word oslo cannot interpret (no `:`, an `http:` call-out) becomes `!` inside an otherwise
 * valid rule. Unlike oslo, every such case is reported as a problem string, so the
 * enforcer can name the rule when it loads it instead of failing closed silently.
 */

/** `%(name)s` placeholders and literal text; `path` is the name between the parentheses. */
export type TemplatePart = { readonly literal: string } | { readonly path: string };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** The left side of a generic check: a credential path, or a Python literal compared as `str()`. */
export type GenericSubject =
  | { readonly kind: 'credential'; readonly path: string }
  | { readonly kind: 'literal'; readonly value: string; readonly source: string };

export type PolicyNode =
  | { readonly type: 'always' }
  | { readonly type: 'never' }
  | { readonly type: 'not'; readonly operand: PolicyNode }
  | { readonly type: 'and'; readonly operands: readonly PolicyNode[] }
  | { readonly type: 'or'; readonly operands: readonly PolicyNode[] }
  | { readonly type: 'rule'; readonly name: string }
  | { readonly type: 'role'; readonly role: Template }
  | { readonly type: 'generic'; readonly subject: GenericSubject; readonly match: Template };

export interface ParseResult {
  readonly node: PolicyNode;
  /** Empty when the rule means exactly what it says; otherwise why (part of) it now denies. */
  readonly problems: readonly string[];
}

export const ALWAYS: PolicyNode = Object.freeze({ type: 'always' });
export const NEVER: PolicyNode = Object.freeze({ type: 'never' });

type Token =
  | { readonly type: '(' | ')' | 'and' | 'or' | 'not' }
  | { readonly type: 'string'; readonly text: string }
  | { readonly type: 'check'; readonly text: string; readonly node: PolicyNode };

class RuleSyntaxError extends Error {}

const DENIES = '; the whole rule is treated as "!" (deny)';

/** Parses one rule string. Never throws: failures come back as `!` plus problems. */
export function parseRule(rule: string): ParseResult {
  // oslo tests `if not rule` before tokenising: only the truly empty string means "anyone".
  if (rule === '') return { node: ALWAYS, problems: [] };
  const problems: string[] = [];
  const tokens = tokenize(rule, problems);
  if (tokens.length === 0) {
    return { node: NEVER, problems: [`the rule is blank; write "" or "@" to allow everyone, "!" to allow no one${DENIES}`] };
  }
  try {
    return { node: new Parser(tokens).parseAll(), problems };
  } catch (error) {
    if (!(error instanceof RuleSyntaxError)) throw error;
    return { node: NEVER, problems: [`cannot parse ${JSON.stringify(rule)}: ${error.message}${DENIES}`] };
  }
}

/**
 * Parses whatever a policy file may hold for one name: a rule string, or the legacy
 * list-of-lists form (`[["role:a", "rule:b"], ["role:c"]]`: outer list is `or`, inner `and`).
 */
export function parsePolicyValue(value: unknown): ParseResult {
  if (typeof value === 'string') return parseRule(value);
  if (Array.isArray(value)) return parseLegacyList(value);
  // oslo reads a YAML null as an empty list, i.e. "allow everyone"; an empty value in a
  // file is far more likely a mistake than a grant, so it fails closed here.
  const shown = value === null || value === undefined ? 'empty' : `a ${typeof value} (${String(value)})`;
  return { node: NEVER, problems: [`the value is ${shown}; a rule must be a string such as "role:admin"${DENIES}`] };
}

function parseLegacyList(list: readonly unknown[]): ParseResult {
  if (list.length === 0) return { node: ALWAYS, problems: [] };
  const problems: string[] = [];
  const alternatives: PolicyNode[] = [];
  for (const inner of list) {
    const conjuncts = typeof inner === 'string' ? [inner] : Array.isArray(inner) ? inner : undefined;
    if (conjuncts === undefined) {
      return { node: NEVER, problems: [`legacy list form holds a ${typeof inner}; expected strings or lists of strings${DENIES}`] };
    }
    if (conjuncts.length === 0) continue;
    const nodes: PolicyNode[] = [];
    for (const check of conjuncts) {
      if (typeof check !== 'string') {
        return { node: NEVER, problems: [`legacy list form holds a ${typeof check}; expected check strings${DENIES}`] };
      }
      nodes.push(parseCheck(check, problems));
    }
    alternatives.push(nodes.length === 1 ? (nodes[0] as PolicyNode) : { type: 'and', operands: nodes });
  }
  if (alternatives.length === 0) return { node: NEVER, problems };
  return { node: alternatives.length === 1 ? (alternatives[0] as PolicyNode) : { type: 'or', operands: alternatives }, problems };
}

function tokenize(rule: string, problems: string[]): Token[] {
  const tokens: Token[] = [];
  for (const word of rule.split(/\s+/)) {
    if (word === '') continue;
    let start = 0;
    while (start < word.length && word[start] === '(') {
      tokens.push({ type: '(' });
      start++;
    }
    let end = word.length;
    // Parentheses inside a check (`%(name)s`) can never be last, so only trailing ones are structure.
    while (end > start && word[end - 1] === ')') end--;
    if (end > start) {
      const text = word.slice(start, end);
      const lowered = text.toLowerCase();
      if (lowered === 'and' || lowered === 'or' || lowered === 'not') tokens.push({ type: lowered });
      else if (isQuoted(text)) tokens.push({ type: 'string', text });
      else tokens.push({ type: 'check', text, node: parseCheck(text, problems) });
    }
    for (let i = end; i < word.length; i++) tokens.push({ type: ')' });
  }
  return tokens;
}

/** Recursive descent over oslo's grammar; equivalent to its shift-reduce parser on valid input. */
class Parser {
  private position = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): PolicyNode {
    const node = this.parseOr();
    const extra = this.tokens[this.position];
    if (extra !== undefined) throw new RuleSyntaxError(`unexpected ${describeToken(extra)}${this.where()}`);
    return node;
  }

  private parseOr(): PolicyNode {
    const operands = [this.parseAnd()];
    while (this.tokens[this.position]?.type === 'or') {
      this.position++;
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? (operands[0] as PolicyNode) : { type: 'or', operands };
  }

  private parseAnd(): PolicyNode {
    const operands = [this.parseNot()];
    while (this.tokens[this.position]?.type === 'and') {
      this.position++;
      operands.push(this.parseNot());
    }
    return operands.length === 1 ? (operands[0] as PolicyNode) : { type: 'and', operands };
  }

  private parseNot(): PolicyNode {
    if (this.tokens[this.position]?.type === 'not') {
      this.position++;
      return { type: 'not', operand: this.parseNot() };
    }
    return this.parseAtom();
  }

  private parseAtom(): PolicyNode {
    const token = this.tokens[this.position];
    if (token === undefined) {
      const previous = this.tokens[this.position - 1];
      throw new RuleSyntaxError(`the rule ends after ${previous ? describeToken(previous) : 'nothing'}; expected a check`);
    }
    if (token.type === 'check') {
      this.position++;
      return token.node;
    }
    if (token.type === '(') {
      this.position++;
      const inner = this.parseOr();
      if (this.tokens[this.position]?.type !== ')') {
        const found = this.tokens[this.position];
        throw new RuleSyntaxError(found ? `expected ')' but found ${describeToken(found)}${this.where()}` : `unclosed '('`);
      }
      this.position++;
      return inner;
    }
    if (token.type === 'string') {
      throw new RuleSyntaxError(
        `a quoted string (${token.text}) cannot stand alone; it may only be the left side of a check, as in 'member':%(role.name)s`,
      );
    }
    throw new RuleSyntaxError(`expected a check but found ${describeToken(token)}${this.where()}`);
  }

  private where(): string {
    return ` (token ${this.position + 1} of ${this.tokens.length})`;
  }
}

function describeToken(token: Token): string {
  switch (token.type) {
    case 'check':
    case 'string':
      return `'${token.text}'`;
    default:
      return `'${token.type}'`;
  }
}

/** One `kind:match` word, `@` or `!`. Problems are recorded and the word fails closed. */
export function parseCheck(text: string, problems: string[]): PolicyNode {
  if (text === '!') return NEVER;
  if (text === '@') return ALWAYS;
  const colon = text.indexOf(':');
  if (colon < 0) {
    problems.push(`'${text}' is not a check (expected kind:match, "@" or "!"); it will never match`);
    return NEVER;
  }
  const kind = text.slice(0, colon);
  const match = text.slice(colon + 1);
  switch (kind) {
    case 'rule':
      if (match === '') return fail(problems, `'${text}' names no rule`);
      return { type: 'rule', name: match };
    case 'role': {
      if (match === '') return fail(problems, `'${text}' names no role`);
      const role = parseMatch(match, problems, text);
      return role ? { type: 'role', role } : NEVER;
    }
    case 'http':
    case 'https':
      // oslo would POST the target and credentials to that URL on every request.
      return fail(problems, `'${text}': ${kind}: checks are not supported; it will never match`);
    case '':
      return fail(problems, `'${text}' has nothing before ':'`);
    default: {
      const subject = parseSubject(kind, problems, text);
      if (subject === undefined) return NEVER;
      const template = parseMatch(match, problems, text);
      return template ? { type: 'generic', subject, match: template } : NEVER;
    }
  }
}

function fail(problems: string[], problem: string): PolicyNode {
  problems.push(problem);
  return NEVER;
}

/** What Python's `ast.literal_eval` would accept on a check's left side, as its `str()`. */
function parseSubject(kind: string, problems: string[], text: string): GenericSubject | undefined {
  if (kind === 'True' || kind === 'False' || kind === 'None') return { kind: 'literal', value: kind, source: kind };
  if (isQuoted(kind)) return { kind: 'literal', value: kind.slice(1, -1), source: kind };
  if (/^[+-]?\d+$/.test(kind)) return { kind: 'literal', value: BigInt(kind).toString(), source: kind };
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(kind)) {
    const value = Number(kind);
    // Python prints integral floats with a trailing ".0" (str(1e3) == '1000.0').
    const shown = Number.isInteger(value) && Math.abs(value) < 1e16 ? `${value}.0` : String(value);
    return { kind: 'literal', value: shown, source: kind };
  }
  if (kind.startsWith("'") || kind.startsWith('"')) {
    problems.push(`'${text}' has an unterminated quoted string before ':'; it will never match`);
    return undefined;
  }
  return { kind: 'credential', path: kind };
}

/**
 * The right side of a check. A fully quoted right side (`'member'`) is taken as the literal
 * between the quotes: oslo would compare it quotes and all, which can never match a real
 * credential, so reading it as written only revives rules that were dead in oslo.
 */
function parseMatch(source: string, problems: string[], text: string): Template | undefined {
  if (isQuoted(source)) return { source, parts: [{ literal: source.slice(1, -1) }] };
  return parseTemplate(source, problems, text);
}

/** Python's `match % target`, limited to what rules use: `%(name)s` and `%%`. */
function parseTemplate(source: string, problems: string[], text: string): Template | undefined {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < source.length) {
    const percent = source.indexOf('%', i);
    if (percent < 0) {
      literal += source.slice(i);
      break;
    }
    literal += source.slice(i, percent);
    if (source[percent + 1] === '%') {
      literal += '%';
      i = percent + 2;
      continue;
    }
    const close = source[percent + 1] === '(' ? source.indexOf(')', percent + 2) : -1;
    if (close < 0 || source[close + 1] !== 's') {
      problems.push(`'${text}' uses a substitution other than %(name)s or %%; it will never match`);
      return undefined;
    }
    if (literal !== '') parts.push({ literal });
    literal = '';
    parts.push({ path: source.slice(percent + 2, close) });
    i = close + 2;
  }
  if (literal !== '' || parts.length === 0) parts.push({ literal });
  return { source, parts };
}

function isQuoted(text: string): boolean {
  if (text.length < 2) return false;
  const first = text[0];
  return (first === "'" || first === '"') && text[text.length - 1] === first;
}

/** Every `rule:` name a tree refers to; the enforcer uses it for cycle and dangling-reference checks. */
export function referencedRules(node: PolicyNode, into: Set<string> = new Set()): Set<string> {
  switch (node.type) {
    case 'rule':
      into.add(node.name);
      break;
    case 'not':
      referencedRules(node.operand, into);
      break;
    case 'and':
    case 'or':
      for (const operand of node.operands) referencedRules(operand, into);
      break;
    default:
      break;
  }
  return into;
}

/** The canonical text of a tree (oslo's `str(check)`), for listings and messages. */
export function formatRule(node: PolicyNode): string {
  switch (node.type) {
    case 'always':
      return '@';
    case 'never':
      return '!';
    case 'not':
      return `not ${formatRule(node.operand)}`;
    case 'and':
    case 'or':
      return `(${node.operands.map(formatRule).join(` ${node.type} `)})`;
    case 'rule':
      return `rule:${node.name}`;
    case 'role':
      return `role:${node.role.source}`;
    case 'generic': {
      const left = node.subject.kind === 'credential' ? node.subject.path : node.subject.source;
      return `${left}:${node.match.source}`;
    }
  }
}
