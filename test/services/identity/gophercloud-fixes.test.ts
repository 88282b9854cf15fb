import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { IdentityAdmin, issue, passwordAuth, V3 } from './helpers.js';

/** Behaviours gophercloud's identity acceptance tests showed us (issue 18). */
describe('identity behaviours found by gophercloud', () => {
  let tc: TestCloud;
  let admin: string;
  const call = (method: string, path: string, body?: unknown) => api(tc.url, method, `${V3}${path}`, admin, body);

  before(async () => {
    tc = await startTestCloud();
    admin = await tc.token('admin');
  });

  after(async () => {
    await tc?.stop();
  });

  it('keeps the attributes given beside type and blob, and merges them on update', async () => {
    const created = await call('POST', '/policies', { policy: { type: 'application/json', blob: '{}', description: 'policy for foobar_user', owner: { team: 'x' } } });
    assert.equal(created.status, 201);
    const policy = created.json.policy;
    assert.equal(policy.description, 'policy for foobar_user');
    assert.deepEqual(policy.owner, { team: 'x' });
    assert.deepEqual((await call('GET', `/policies/${policy.id}`)).json.policy, policy);
    const updated = await call('PATCH', `/policies/${policy.id}`, { policy: { type: 'text/plain', description: 'changed' } });
    assert.equal(updated.json.policy.description, 'changed');
    assert.deepEqual(updated.json.policy.owner, { team: 'x' });
    assert.equal(updated.json.policy.type, 'text/plain');
  });

  it('filters the list by type, exactly and inexactly', async () => {
    const json = (await call('POST', '/policies', { policy: { type: 'application/json', blob: '{}' } })).json.policy.id as string;
    const ids = async (query: string) => ((await call('GET', `/policies?${query}`)).json.policies as Array<{ id: string }>).map((p) => p.id);
    assert.ok((await ids('type__contains=json')).includes(json));
    assert.ok(!(await ids('type__contains=foobar')).includes(json));
    assert.ok((await ids('type__istartswith=APPLICATION')).includes(json));
    assert.ok(!(await ids('type=text/plain')).includes(json));
  });

  it('finds a domain by a name that differs only in case when the name is not ambiguous', async () => {
    const password = 'Secret-case-0';
    const ia = new IdentityAdmin(tc.url, admin);
    await ia.call('POST', '/users', { user: { name: 'case-user', domain_id: 'default', password } });
    const lower = await issue(tc.url, passwordAuth({ name: 'case-user', domain: { name: 'default' } }, password));
    assert.equal(lower.status, 201);
    assert.equal(lower.json.token.user.domain.id, 'default');
    // Two domains that differ only in case: the exact name still works, another spelling finds none.
    await ia.call('POST', '/domains', { domain: { name: 'CaseDom' } });
    const second = await ia.call('POST', '/domains', { domain: { name: 'casedom' } });
    await ia.call('POST', '/users', { user: { name: 'cd-user', domain_id: second.json.domain.id, password } });
    assert.equal((await issue(tc.url, passwordAuth({ name: 'cd-user', domain: { name: 'casedom' } }, password))).status, 201);
    assert.equal((await issue(tc.url, passwordAuth({ name: 'cd-user', domain: { name: 'CASEDOM' } }, password))).status, 401);
  });
});
