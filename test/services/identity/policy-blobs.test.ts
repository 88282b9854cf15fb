import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { V3 } from './helpers.js';

/** /v3/policies as gophercloud's acceptance test uses them: extra attributes kept, inexact filters on type. */
describe('identity policies: extra attributes and type filters', () => {
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
});
