import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Enforcer,
  formatWarning,
  PolicyDefinitionError,
  PolicyFileError,
  PolicyNotAuthorized,
  type Credentials,
  type PolicyWarning,
} from '../../../src/core/policy/index.js';
import { toApiError } from '../../../src/core/http/errors.js';

const member: Credentials = { user_id: 'u1', project_id: 'p1', roles: ['member', 'reader'] };
const admin: Credentials = { user_id: 'a1', project_id: 'admin', roles: ['Admin'] };
const own = { project_id: 'p1' };
const other = { project_id: 'p2' };

const computeDefaults = {
  context_is_admin: 'role:admin',
  project_member_api: 'role:member and project_id:%(project_id)s',
  project_member_or_admin: { check: 'rule:project_member_api or rule:context_is_admin', description: 'Members and admins' },
  'os_compute_api:servers:create': 'rule:project_member_or_admin',
  'os_compute_api:servers:delete': 'rule:project_member_or_admin',
  'os_compute_api:os-hypervisors:list': 'rule:context_is_admin',
};

describe('Enforcer: defaults and enforcement', () => {
  it('enforces defaults through rule: chains', () => {
    const enforcer = new Enforcer(computeDefaults);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', own, member), true);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', other, member), false);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', other, admin), true);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', own, member), false);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', own, admin), true);
  });

  it('holds several services registered one after another', () => {
    const enforcer = new Enforcer();
    enforcer.registerDefaults(computeDefaults);
    enforcer.registerDefaults({ 'identity:list_projects': 'rule:admin_required', admin_required: 'role:admin' });
    assert.equal(enforcer.enforce('identity:list_projects', {}, admin), true);
    assert.equal(enforcer.enforce('os_compute_api:servers:delete', own, member), true);
    assert.equal(enforcer.has('identity:list_projects'), true);
    assert.equal(enforcer.has('identity:nothing'), false);
  });

  it('binds references to rules registered later', () => {
    const enforcer = new Enforcer({ 'network:create': 'rule:network_admin' });
    assert.equal(enforcer.enforce('network:create', {}, admin), false);
    enforcer.registerDefaults({ network_admin: 'role:admin' });
    assert.equal(enforcer.enforce('network:create', {}, admin), true);
  });

  it('evaluates a reference to an undefined rule as false', () => {
    const enforcer = new Enforcer({ x: 'rule:missing', y: 'rule:missing or role:member' });
    assert.equal(enforcer.enforce('x', {}, admin), false);
    assert.equal(enforcer.enforce('y', {}, member), true);
    assert.deepEqual(
      enforcer.validate().map((w) => w.rule),
      ['x', 'y'],
    );
    assert.match(enforcer.validate()[0]?.message ?? '', /rule:missing, which is not defined/);
  });

  it('judges an unknown action by the default rule, or denies without one', () => {
    assert.equal(new Enforcer({ a: '@' }).enforce('unknown', {}, admin), false);
    const withDefault = new Enforcer({ default: 'role:admin' });
    assert.equal(withDefault.enforce('unknown', {}, admin), true);
    assert.equal(withDefault.enforce('unknown', {}, member), false);
    const custom = new Enforcer({ fallback: 'role:member' }, { defaultRule: 'fallback' });
    assert.equal(custom.enforce('unknown', {}, member), true);
  });

  it('does not fall back to the default rule for an action that is only referenced', () => {
    const enforcer = new Enforcer({ default: '@', x: 'rule:undefined_one' });
    assert.equal(enforcer.enforce('undefined_one', {}, member), true);
    assert.equal(enforcer.enforce('x', {}, member), false);
  });

  it('accepts a repeated registration of the same rule', () => {
    const enforcer = new Enforcer({ context_is_admin: 'role:admin' });
    assert.deepEqual(enforcer.registerDefaults({ context_is_admin: 'role:admin' }), []);
  });

  it('rejects a name registered again with a different rule, naming it, and registers nothing', () => {
    const enforcer = new Enforcer({ admin_or_owner: 'is_admin:True or project_id:%(project_id)s' });
    assert.throws(
      () => enforcer.registerDefaults({ fresh: '@', admin_or_owner: 'rule:context_is_admin or rule:owner' }),
      (error: unknown) =>
        error instanceof PolicyDefinitionError &&
        error.problems.length === 1 &&
        error.problems[0]?.rule === 'admin_or_owner' &&
        /already registered/.test(error.message),
    );
    assert.equal(enforcer.has('fresh'), false);
  });

  it('rejects malformed defaults at registration, naming each rule', () => {
    assert.throws(
      () => new Enforcer({ good: 'role:a', bad: 'role:a and', worse: 'admin or role:b' }),
      (error: unknown) => {
        assert.ok(error instanceof PolicyDefinitionError);
        assert.deepEqual(
          error.problems.map((p) => p.rule),
          ['bad', 'worse'],
        );
        assert.match(error.message, /"bad": cannot parse "role:a and"/);
        assert.match(error.message, /"worse": 'admin' is not a check/);
        return true;
      },
    );
  });

  it('rejects cycles among defaults, self-references included', () => {
    assert.throws(() => new Enforcer({ a: 'rule:a' }), /"a": is part of a rule: cycle \(a refers to itself\)/);
    const enforcer = new Enforcer({ a: 'role:x or rule:b' });
    assert.throws(() => enforcer.registerDefaults({ b: 'rule:c', c: 'rule:a' }), /cycle \(a -> b -> c -> a\)/);
    assert.equal(enforcer.has('b'), false);
    assert.equal(enforcer.enforce('a', {}, roles('x')), true);
  });

  it('lists rules with descriptions and sources', () => {
    const enforcer = new Enforcer(computeDefaults);
    enforcer.setOverrides({ context_is_admin: 'role:cloud_admin' }, 'test');
    const listed = enforcer.listRules();
    assert.deepEqual(
      listed.map((r) => r.name),
      Object.keys(computeDefaults).sort(),
    );
    assert.deepEqual(
      listed.find((r) => r.name === 'project_member_or_admin'),
      {
        name: 'project_member_or_admin',
        check: 'rule:project_member_api or rule:context_is_admin',
        defaultCheck: 'rule:project_member_api or rule:context_is_admin',
        description: 'Members and admins',
        source: 'defaults',
      },
    );
    assert.deepEqual(
      listed.find((r) => r.name === 'context_is_admin'),
      { name: 'context_is_admin', check: 'role:cloud_admin', defaultCheck: 'role:admin', source: 'test' },
    );
  });
});

describe('Enforcer: authorize', () => {
  const enforcer = new Enforcer(computeDefaults);

  it('returns quietly when allowed', () => {
    assert.doesNotThrow(() => enforcer.authorize('os_compute_api:servers:create', own, member));
  });

  it('throws PolicyNotAuthorized carrying the action, with the OpenStack message', () => {
    assert.throws(
      () => enforcer.authorize('os_compute_api:servers:create', other, member),
      (error: unknown) =>
        error instanceof PolicyNotAuthorized &&
        error instanceof Error &&
        error.name === 'PolicyNotAuthorized' &&
        error.action === 'os_compute_api:servers:create' &&
        error.message === "Policy doesn't allow os_compute_api:servers:create to be performed.",
    );
  });

  it('is mapped to a 403 with that message by the HTTP layer', () => {
    const apiError = toApiError(new PolicyNotAuthorized('identity:get_user'));
    assert.equal(apiError.status, 403);
    assert.equal(apiError.message, "Policy doesn't allow identity:get_user to be performed.");
  });
});

describe('Enforcer: overrides from a policy file', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-policy-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  it('overrides defaults by name and adds new names, from YAML', () => {
    const path = write(
      'policy.yaml',
      [
        '# Operators may let readers list hypervisors.',
        '"os_compute_api:os-hypervisors:list": "role:admin or role:reader"',
        '"context_is_admin": "role:cloud_admin"',
        '"custom:thing": "project_id:%(project_id)s"',
        '',
      ].join('\n'),
    );
    const enforcer = new Enforcer(computeDefaults);
    assert.deepEqual(enforcer.loadOverrides(path), []);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, member), true);
    // The override is seen through every rule: reference, not only by its own name.
    assert.equal(enforcer.enforce('os_compute_api:servers:create', other, admin), false);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', other, roles('Cloud_Admin')), true);
    assert.equal(enforcer.enforce('custom:thing', own, member), true);
    assert.equal(enforcer.enforce('custom:thing', other, member), false);
  });

  it('reads JSON policy files and the legacy list form', () => {
    const path = write('policy.json', JSON.stringify({ 'os_compute_api:os-hypervisors:list': [['role:reader', 'project_id:p1'], ['role:admin']] }));
    const enforcer = new Enforcer(computeDefaults);
    assert.deepEqual(enforcer.loadOverrides(path), []);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, member), true);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, { ...member, project_id: 'p2' }), false);
  });

  it('reports malformed rules at load time with name and file, and denies them', () => {
    const path = write(
      'bad.yaml',
      [
        '"os_compute_api:servers:create": "role:member and"',
        '"os_compute_api:servers:delete": "admin or rule:project_member_api"',
        '"empty":',
        '"numeric": 5',
        '"dangling": "rule:nope or role:admin"',
      ].join('\n'),
    );
    const seen: PolicyWarning[] = [];
    const enforcer = new Enforcer(computeDefaults, { onWarning: (w) => seen.push(w) });
    const warnings = enforcer.loadOverrides(path);
    assert.deepEqual(seen, warnings);
    assert.deepEqual(
      warnings.map((w) => [w.rule, w.source]),
      [
        ['os_compute_api:servers:create', path],
        ['os_compute_api:servers:delete', path],
        ['empty', path],
        ['numeric', path],
        ['dangling', path],
      ],
    );
    assert.match(formatWarning(warnings[0] as PolicyWarning), /: rule "os_compute_api:servers:create": cannot parse "role:member and"/);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', own, member), false);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', own, admin), false);
    // Only the bad word fails; the rest of that rule still applies.
    assert.equal(enforcer.enforce('os_compute_api:servers:delete', own, member), true);
    assert.equal(enforcer.enforce('empty', {}, admin), false);
    assert.equal(enforcer.enforce('numeric', {}, admin), false);
    assert.equal(enforcer.enforce('dangling', {}, admin), true);
  });

  it('denies a rule that refers to itself instead of hanging, and warns', () => {
    const path = write('cycle.yaml', '"context_is_admin": "rule:context_is_admin or role:admin"\n"a": "rule:b"\n"b": "rule:a"\n');
    const enforcer = new Enforcer(computeDefaults);
    const warnings = enforcer.loadOverrides(path);
    assert.deepEqual(warnings.map((w) => w.rule).sort(), ['a', 'b', 'context_is_admin']);
    assert.match(warnings.find((w) => w.rule === 'context_is_admin')?.message ?? '', /refers to itself.*deny every request/);
    assert.equal(enforcer.enforce('context_is_admin', {}, admin), false);
    assert.equal(enforcer.enforce('a', {}, admin), false);
    // Rules that merely refer to a cyclic rule still evaluate their other branches.
    assert.equal(enforcer.enforce('os_compute_api:servers:create', own, member), true);
    assert.equal(enforcer.enforce('os_compute_api:servers:create', other, admin), false);
  });

  it('warns when a later registration closes a cycle through an override', () => {
    const seen: PolicyWarning[] = [];
    const enforcer = new Enforcer({}, { onWarning: (w) => seen.push(w) });
    enforcer.setOverrides({ a: 'rule:b' }, 'file');
    assert.equal(seen.length, 1);
    const warnings = enforcer.registerDefaults({ b: 'rule:a' });
    assert.deepEqual(warnings.map((w) => w.rule).sort(), ['a', 'b']);
    assert.equal(enforcer.enforce('b', {}, admin), false);
  });

  it('keeps the file override when the default is registered after it', () => {
    const enforcer = new Enforcer();
    enforcer.setOverrides({ 'image:get': 'role:admin' }, 'file');
    enforcer.registerDefaults({ 'image:get': '@' });
    assert.equal(enforcer.enforce('image:get', {}, member), false);
  });

  it('replaces earlier overrides on reload, restoring defaults for removed names', () => {
    const path = write('reload.yaml', '"context_is_admin": "!"\n');
    const enforcer = new Enforcer(computeDefaults);
    enforcer.loadOverrides(path);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, admin), false);
    writeFileSync(path, '# nothing overridden\n');
    assert.deepEqual(enforcer.loadOverrides(path), []);
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, admin), true);
    enforcer.setOverrides({ context_is_admin: '!' });
    enforcer.clearOverrides();
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, admin), true);
  });

  it('lets the file define the default rule for unknown actions', () => {
    const enforcer = new Enforcer(computeDefaults);
    enforcer.loadOverrides(write('default.yaml', 'default: "role:reader"\n'));
    assert.equal(enforcer.enforce('anything:else', {}, member), true);
    assert.equal(enforcer.enforce('anything:else', {}, admin), false);
  });

  it('rejects unreadable, unparseable and non-mapping files with the path', () => {
    const enforcer = new Enforcer(computeDefaults);
    const missing = join(dir, 'missing.yaml');
    assert.throws(() => enforcer.loadOverrides(missing), (e: unknown) => e instanceof PolicyFileError && e.path === missing && /cannot be read/.test(e.message));
    const broken = write('broken.yaml', '"a": "role:x"\n"a": "role:y"\n');
    assert.throws(() => enforcer.loadOverrides(broken), /broken\.yaml: is not valid YAML or JSON: Map keys must be unique at line 2/);
    const list = write('list.yaml', '- "role:admin"\n');
    assert.throws(() => enforcer.loadOverrides(list), /list\.yaml: must be a mapping/);
    // A failed load leaves the rules in force untouched.
    assert.equal(enforcer.enforce('os_compute_api:os-hypervisors:list', {}, admin), true);
  });
});

function roles(...names: string[]): Credentials {
  return { user_id: 'u', roles: names };
}
