import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Enforcer, type Credentials, type PolicyDefaults } from '../../../src/core/policy/index.js';

const member: Credentials = { user_id: 'u1', project_id: 'p1', roles: ['reader', 'member'] };

/**
 * Evaluates one rule string as action `x`, with `others` as defaults it may refer to. The
 * rule goes in as an override, the lenient path, so a malformed one denies instead of throwing.
 */
function allows(rule: string, target: object, credentials: Credentials, others: PolicyDefaults = {}): boolean {
  const enforcer = new Enforcer(others);
  enforcer.setOverrides({ x: rule });
  return enforcer.enforce('x', target, credentials);
}

function roles(...names: string[]): Credentials {
  return { user_id: 'u', roles: names };
}

describe('policy checks: constants', () => {
  it('allows for "" and "@", denies for "!"', () => {
    assert.equal(allows('', {}, member), true);
    assert.equal(allows('@', {}, member), true);
    assert.equal(allows('!', {}, member), false);
  });
});

describe('policy checks: role', () => {
  it('matches roles case-insensitively on both sides', () => {
    assert.equal(allows('role:admin', {}, roles('Admin')), true);
    assert.equal(allows('role:ADMIN', {}, roles('admin')), true);
    assert.equal(allows('role:Reader', {}, roles('member', 'READER')), true);
    assert.equal(allows('role:admin', {}, roles('member', 'reader')), false);
  });

  it('denies when the credentials carry no roles at all', () => {
    const odd = { user_id: 'u' } as unknown as Credentials;
    assert.equal(allows('role:admin', {}, odd), false);
  });

  it('substitutes the role name from the target', () => {
    assert.equal(allows('role:%(required)s', { required: 'Member' }, member), true);
    assert.equal(allows('role:%(required)s', { required: 'admin' }, member), false);
    assert.equal(allows('role:%(required)s', {}, member), false);
  });

  it("reads role:'member' as the role member", () => {
    assert.equal(allows("role:'Member'", {}, member), true);
  });
});

describe('policy checks: generic key:value', () => {
  it('compares a credential with a target value', () => {
    assert.equal(allows('project_id:%(project_id)s', { project_id: 'p1' }, member), true);
    assert.equal(allows('project_id:%(project_id)s', { project_id: 'p2' }, member), false);
  });

  it('is false, never an exception, when the target lacks the key', () => {
    assert.equal(allows('project_id:%(project_id)s', {}, member), false);
    assert.equal(allows('project_id:%(tenant_id)s', { project_id: 'p1' }, member), false);
  });

  it('is false when the credential is missing', () => {
    assert.equal(allows('domain_id:%(domain_id)s', { domain_id: 'd1' }, member), false);
  });

  it('never matches None against None (where oslo would), failing closed for unscoped tokens', () => {
    const unscoped: Credentials = { user_id: 'u1', project_id: null, roles: [] };
    assert.equal(allows('project_id:%(project_id)s', { project_id: null }, unscoped), false);
    assert.equal(allows('project_id:%(project_id)s', { project_id: undefined }, { user_id: 'u', roles: [] }), false);
  });

  it('compares Python-style str() values: True/False, numbers', () => {
    const admin: Credentials = { user_id: 'u', roles: [], is_admin: true };
    assert.equal(allows('is_admin:True', {}, admin), true);
    assert.equal(allows('is_admin:True', {}, { ...admin, is_admin: false }), false);
    assert.equal(allows('is_admin:False', {}, { ...admin, is_admin: false }), true);
    assert.equal(allows('is_admin:True', {}, member), false);
    // oslo compares str(True) == 'True' exactly; lower-case 'true' never matches a boolean.
    assert.equal(allows('is_admin:true', {}, admin), false);
    assert.equal(allows('level:5', {}, { ...member, level: 5 }), true);
    assert.equal(allows('level:%(level)s', { level: 5 }, { ...member, level: '5' }), true);
  });

  it('reads a quoted right side as a literal', () => {
    assert.equal(allows("project_id:'p1'", {}, member), true);
    assert.equal(allows('project_id:"p2"', {}, member), false);
  });

  it('substitutes into text around the placeholder', () => {
    const creds = { ...member, name: 'vm-p1-100%' };
    assert.equal(allows('name:vm-%(project_id)s-100%%', { project_id: 'p1' }, creds), true);
    assert.equal(allows('name:vm-%(project_id)s-100%%', { project_id: 'p2' }, creds), false);
    assert.equal(allows('name:vm-%(missing)s-100%%', {}, creds), false);
  });

  it('compares a Python literal on the left with the target', () => {
    assert.equal(allows("'member':%(role.name)s", { 'role.name': 'member' }, member), true);
    assert.equal(allows("'member':%(role.name)s", { role: { name: 'member' } }, member), true);
    assert.equal(allows("'member':%(role.name)s", { role: { name: 'admin' } }, member), false);
    assert.equal(allows('True:%(user.enabled)s', { user: { enabled: true } }, member), true);
    assert.equal(allows('True:%(user.enabled)s', { user: { enabled: false } }, member), false);
    assert.equal(allows('5:%(n)s', { n: 5 }, member), true);
    assert.equal(allows("'x':x", {}, member), true);
  });

  it('reads system_scope, and system as oslo aliases it', () => {
    const system: Credentials = { user_id: 'u', roles: ['reader'], system_scope: 'all' };
    assert.equal(allows('system_scope:all', {}, system), true);
    assert.equal(allows('system:all', {}, system), true);
    assert.equal(allows('system_scope:all', {}, member), false);
    assert.equal(allows('system:all', {}, member), false);
  });

  it('never matches objects or functions reached through the prototype', () => {
    assert.equal(allows('user_id:%(constructor)s', {}, member), false);
    assert.equal(allows('user_id:%(__proto__)s', {}, member), false);
    assert.equal(allows('user_id:%(constructor.name)s', {}, { ...member, user_id: 'Object' }), false);
    assert.equal(allows('toString:%(x)s', { x: 'function toString() { [native code] }' }, member), false);
    assert.equal(allows('roles:%(x)s', { x: { a: 1 } }, member), false);
  });

  it('never matches http: checks', () => {
    assert.equal(allows('http://policy.example.com/check', {}, member), false);
  });
});

describe('policy checks: target paths', () => {
  const rule = 'user_id:%(target.user.id)s';

  it('walks nested objects', () => {
    assert.equal(allows(rule, { target: { user: { id: 'u1' } } }, member), true);
    assert.equal(allows(rule, { target: { user: { id: 'u2' } } }, member), false);
  });

  it('reads flat keys containing dots, as Keystone flattens targets', () => {
    assert.equal(allows(rule, { 'target.user.id': 'u1' }, member), true);
    assert.equal(allows(rule, { 'target.user': { id: 'u1' } }, member), true);
    assert.equal(allows(rule, { target: { 'user.id': 'u1' } }, member), true);
  });

  it('prefers the flat key when both shapes are present', () => {
    assert.equal(allows(rule, { 'target.user.id': 'u1', target: { user: { id: 'u2' } } }, member), true);
    assert.equal(allows(rule, { 'target.user.id': 'u2', target: { user: { id: 'u1' } } }, member), false);
  });

  it('falls back to the nested shape when a flat prefix leads nowhere', () => {
    assert.equal(allows(rule, { 'target.user': { name: 'x' }, target: { user: { id: 'u1' } } }, member), true);
  });

  it('is false for missing or non-object steps, never throwing', () => {
    for (const target of [{}, { target: {} }, { target: { user: null } }, { target: 'str' }, { target: { user: 7 } }, { target: [] }]) {
      assert.equal(allows(rule, target, member), false, JSON.stringify(target));
    }
  });
});

describe('policy checks: credential paths', () => {
  it('walks nested credentials, as Keystone rules on token.* do', () => {
    const creds: Credentials = { ...member, token: { project: { domain: { id: 'd1' } } } };
    assert.equal(allows('token.project.domain.id:%(target.domain.id)s', { target: { domain: { id: 'd1' } } }, creds), true);
    assert.equal(allows('token.project.domain.id:%(target.domain.id)s', { target: { domain: { id: 'd2' } } }, creds), false);
  });

  it('matches any element of a list met on the way, as oslo does', () => {
    const creds: Credentials = { ...member, groups: ['g0', 'g1'], token: { roles: [{ name: 'a' }, { name: 'b' }] } };
    assert.equal(allows('groups:g1', {}, creds), true);
    assert.equal(allows('groups:g2', {}, creds), false);
    assert.equal(allows('token.roles.name:b', {}, creds), true);
    assert.equal(allows('token.roles.name:c', {}, creds), false);
  });
});

describe('policy checks: operators', () => {
  it('evaluates a or b and c as a or (b and c)', () => {
    const rule = 'role:a or role:b and role:c';
    assert.equal(allows(rule, {}, roles('a')), true);
    assert.equal(allows(rule, {}, roles('b')), false);
    assert.equal(allows(rule, {}, roles('c')), false);
    assert.equal(allows(rule, {}, roles('b', 'c')), true);
    assert.equal(allows('(role:a or role:b) and role:c', {}, roles('a')), false);
  });

  it('evaluates not before and, and parentheses first', () => {
    assert.equal(allows('not role:a', {}, roles('b')), true);
    assert.equal(allows('not role:a', {}, roles('a')), false);
    assert.equal(allows('not role:a and role:b', {}, roles('b')), true);
    assert.equal(allows('not role:a and role:b', {}, roles()), false);
    assert.equal(allows('not (role:a and role:b)', {}, roles()), true);
    assert.equal(allows('not (role:a and role:b)', {}, roles('a', 'b')), false);
  });

  it('evaluates and/or chains of many operands', () => {
    assert.equal(allows('role:a and role:b and role:c', {}, roles('a', 'b', 'c')), true);
    assert.equal(allows('role:a and role:b and role:c', {}, roles('a', 'c')), false);
    assert.equal(allows('role:a or role:b or role:c', {}, roles('c')), true);
    assert.equal(allows('role:a or role:b or role:c', {}, roles('d')), false);
  });

  it('lets a bad word deny only its own part of the rule', () => {
    assert.equal(allows('admin or role:x', {}, roles('x')), true);
    assert.equal(allows('admin and role:x', {}, roles('x')), false);
  });
});

describe('policy checks: real OpenStack rules', () => {
  const getUser =
    '(role:reader and system_scope:all) or (role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s';
  const target = { target: { user: { id: 'u2', domain_id: 'd1' } } };

  it("Keystone identity:get_user: system readers, the user's domain readers, and the user", () => {
    assert.equal(allows(getUser, target, { user_id: 'u9', roles: ['reader'], system_scope: 'all' }), true);
    assert.equal(allows(getUser, target, { user_id: 'u9', roles: ['member'], system_scope: 'all' }), false);
    assert.equal(allows(getUser, target, { user_id: 'u9', roles: ['Reader'], domain_id: 'd1' }), true);
    assert.equal(allows(getUser, target, { user_id: 'u9', roles: ['reader'], domain_id: 'd2' }), false);
    assert.equal(allows(getUser, target, { user_id: 'u2', project_id: 'p1', roles: [] }), true);
    assert.equal(allows(getUser, target, { user_id: 'u9', project_id: 'p1', roles: ['reader', 'admin'] }), false);
    assert.equal(allows(getUser, { 'target.user.id': 'u2', 'target.user.domain_id': 'd1' }, { user_id: 'u9', roles: ['reader'], domain_id: 'd1' }), true);
  });

  it("Nova's legacy admin_or_owner: admins anywhere, members in their own project", () => {
    const others = { admin_or_owner: 'is_admin:True or project_id:%(project_id)s' };
    const admin: Credentials = { user_id: 'a', project_id: 'admin', roles: ['admin'], is_admin: true };
    assert.equal(allows('rule:admin_or_owner', { project_id: 'p1' }, member, others), true);
    assert.equal(allows('rule:admin_or_owner', { project_id: 'p2' }, member, others), false);
    assert.equal(allows('rule:admin_or_owner', { project_id: 'p2' }, admin, others), true);
  });

  it("Nova's secure-RBAC project_member_or_admin", () => {
    const others = {
      context_is_admin: 'role:admin',
      project_member_or_admin: 'rule:project_member_api or rule:context_is_admin',
      project_member_api: 'role:member and project_id:%(project_id)s',
    };
    const rule = 'rule:project_member_or_admin';
    assert.equal(allows(rule, { project_id: 'p1' }, member, others), true);
    assert.equal(allows(rule, { project_id: 'p2' }, member, others), false);
    assert.equal(allows(rule, { project_id: 'p1' }, { user_id: 'r', project_id: 'p1', roles: ['reader'] }, others), false);
    assert.equal(allows(rule, { project_id: 'p2' }, { user_id: 'a', project_id: 'p9', roles: ['ADMIN'] }, others), true);
  });
});
