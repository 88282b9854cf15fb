import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatRule, parsePolicyValue, parseRule } from '../../../src/core/policy/index.js';

/** The canonical form of a rule that must parse without problems. */
function shape(rule: string): string {
  const { node, problems } = parseRule(rule);
  assert.deepEqual(problems, [], `unexpected problems for ${JSON.stringify(rule)}`);
  return formatRule(node);
}

/** Parses a rule that must fail closed, returning its problems. */
function denied(rule: string): readonly string[] {
  const { node, problems } = parseRule(rule);
  assert.equal(formatRule(node), '!', `${JSON.stringify(rule)} should fail closed`);
  assert.ok(problems.length > 0, `${JSON.stringify(rule)} should report a problem`);
  return problems;
}

describe('policy parser: atoms', () => {
  it('reads "" and "@" as always, "!" as never', () => {
    assert.equal(shape(''), '@');
    assert.equal(shape('@'), '@');
    assert.equal(shape('!'), '!');
  });

  it('reads role:, rule: and generic checks', () => {
    assert.deepEqual(parseRule('role:admin').node, { type: 'role', role: { source: 'admin', parts: [{ literal: 'admin' }] } });
    assert.deepEqual(parseRule('rule:admin_or_owner').node, { type: 'rule', name: 'admin_or_owner' });
    assert.deepEqual(parseRule('project_id:%(project_id)s').node, {
      type: 'generic',
      subject: { kind: 'credential', path: 'project_id' },
      match: { source: '%(project_id)s', parts: [{ path: 'project_id' }] },
    });
  });

  it('splits a check on its first colon only, as oslo does', () => {
    assert.deepEqual(parseRule('role:compute:admin').node, {
      type: 'role',
      role: { source: 'compute:admin', parts: [{ literal: 'compute:admin' }] },
    });
  });

  it('reads substitutions mixed with text, and %% as a literal percent', () => {
    const { node } = parseRule('name:vm-%(target.id)s-100%%');
    assert.equal(node.type, 'generic');
    assert.deepEqual(node.type === 'generic' && node.match.parts, [{ literal: 'vm-' }, { path: 'target.id' }, { literal: '-100%' }]);
  });

  it('reads Python literals on the left side as their str()', () => {
    const subject = (rule: string) => {
      const { node } = parseRule(rule);
      return node.type === 'generic' ? node.subject : undefined;
    };
    assert.deepEqual(subject("'member':%(role.name)s"), { kind: 'literal', value: 'member', source: "'member'" });
    assert.deepEqual(subject('"member":%(role.name)s'), { kind: 'literal', value: 'member', source: '"member"' });
    assert.deepEqual(subject('True:%(user.enabled)s'), { kind: 'literal', value: 'True', source: 'True' });
    assert.deepEqual(subject('False:%(x)s'), { kind: 'literal', value: 'False', source: 'False' });
    assert.deepEqual(subject('007:%(x)s'), { kind: 'literal', value: '7', source: '007' });
    assert.deepEqual(subject('1.50:%(x)s'), { kind: 'literal', value: '1.5', source: '1.50' });
    assert.deepEqual(subject('1e3:%(x)s'), { kind: 'literal', value: '1000.0', source: '1e3' });
    assert.deepEqual(subject('is_admin:True'), { kind: 'credential', path: 'is_admin' });
  });

  it('takes a fully quoted right side as the text between the quotes', () => {
    const { node } = parseRule("role:'Member'");
    assert.deepEqual(node, { type: 'role', role: { source: "'Member'", parts: [{ literal: 'Member' }] } });
  });
});

describe('policy parser: operators', () => {
  it('binds and tighter than or', () => {
    assert.equal(shape('a:1 or b:2 and c:3'), '(a:1 or (b:2 and c:3))');
    assert.equal(shape('a:1 and b:2 or c:3'), '((a:1 and b:2) or c:3)');
    assert.equal(shape('a:1 and b:2 or c:3 and d:4'), '((a:1 and b:2) or (c:3 and d:4))');
    assert.equal(shape('a:1 or b:2 and c:3 and d:4 or e:5'), '(a:1 or (b:2 and c:3 and d:4) or e:5)');
  });

  it('binds not tighter than and', () => {
    assert.equal(shape('not a:1 and b:2'), '(not a:1 and b:2)');
    assert.equal(shape('a:1 or not b:2'), '(a:1 or not b:2)');
    assert.equal(shape('not not a:1'), 'not not a:1');
    assert.equal(shape('not (a:1 or b:2)'), 'not (a:1 or b:2)');
  });

  it('lets parentheses override precedence and nest', () => {
    assert.equal(shape('(a:1 or b:2) and c:3'), '((a:1 or b:2) and c:3)');
    assert.equal(shape('((role:a))'), 'role:a');
    assert.equal(shape('(a:1 and (b:2 or (c:3 and not d:4)))'), '(a:1 and (b:2 or (c:3 and not d:4)))');
  });

  it('keeps %(name)s parentheses inside a check and peels only outer ones', () => {
    assert.equal(shape('(project_id:%(project_id)s)'), 'project_id:%(project_id)s');
    assert.equal(shape('(role:a or user_id:%(target.user.id)s)'), '(role:a or user_id:%(target.user.id)s)');
  });

  it('reads keywords in any case and any whitespace between tokens', () => {
    assert.equal(shape('a:1 AND NOT b:2 Or c:3'), '((a:1 and not b:2) or c:3)');
    assert.equal(shape('  a:1\n\tand\r\n b:2  '), '(a:1 and b:2)');
  });
});

describe('policy parser: malformed rules fail closed with a reason', () => {
  it('rejects dangling operators', () => {
    assert.match(denied('role:admin and')[0] ?? '', /ends after 'and'/);
    assert.match(denied('or role:admin')[0] ?? '', /expected a check but found 'or'/);
    assert.match(denied('not')[0] ?? '', /ends after 'not'/);
  });

  it('rejects unbalanced or empty parentheses', () => {
    assert.match(denied('(role:a or role:b')[0] ?? '', /unclosed '\('/);
    assert.match(denied('role:a)')[0] ?? '', /unexpected '\)'/);
    assert.match(denied('()')[0] ?? '', /expected a check but found '\)'/);
  });

  it('rejects adjacent checks and bare quoted strings', () => {
    assert.match(denied('role:a role:b')[0] ?? '', /unexpected 'role:b'/);
    assert.match(denied("'member'")[0] ?? '', /quoted string/);
  });

  it('rejects a blank rule (oslo denies it too) and says how to allow everyone', () => {
    assert.match(denied('   ')[0] ?? '', /blank/);
  });

  it('names the rule text and that the whole rule now denies', () => {
    assert.match(denied('role:a and and role:b')[0] ?? '', /^cannot parse "role:a and and role:b": .*treated as "!" \(deny\)$/);
  });

  it('turns a single bad word into ! inside an otherwise valid rule, as oslo does', () => {
    const cases: Array<[string, RegExp]> = [
      ['admin or role:x', /'admin' is not a check/],
      ['http://example.com/check or role:x', /http: checks are not supported/],
      ['https://example.com/check or role:x', /https: checks are not supported/],
      ['rule: or role:x', /names no rule/],
      ['role: or role:x', /names no role/],
      [':x or role:x', /nothing before ':'/],
      ['project_id:%(project_id)d or role:x', /substitution other than/],
      ['quota:50% or role:x', /substitution other than/],
      ["'open:x or role:x", /unterminated quoted string/],
    ];
    for (const [rule, reason] of cases) {
      const { node, problems } = parseRule(rule);
      assert.equal(formatRule(node), '(! or role:x)', rule);
      assert.equal(problems.length, 1, rule);
      assert.match(problems[0] ?? '', reason, rule);
    }
  });
});

describe('policy parser: policy file values', () => {
  it('reads strings as rules', () => {
    assert.equal(formatRule(parsePolicyValue('role:a or role:b').node), '(role:a or role:b)');
  });

  it('reads the legacy list-of-lists form: outer or, inner and', () => {
    const { node, problems } = parsePolicyValue([['role:a', 'project_id:%(project_id)s'], ['rule:admin'], 'role:c']);
    assert.deepEqual(problems, []);
    assert.equal(formatRule(node), '((role:a and project_id:%(project_id)s) or rule:admin or role:c)');
    assert.equal(formatRule(parsePolicyValue([]).node), '@');
    assert.equal(formatRule(parsePolicyValue([[]]).node), '!');
  });

  it('denies values that are not rules, saying what was found', () => {
    for (const value of [null, undefined, 5, true, { role: 'admin' }, [[5]], [7]]) {
      const { node, problems } = parsePolicyValue(value);
      assert.equal(formatRule(node), '!', JSON.stringify(value));
      assert.equal(problems.length, 1, JSON.stringify(value));
    }
    assert.match(parsePolicyValue(null).problems[0] ?? '', /value is empty/);
  });
});
