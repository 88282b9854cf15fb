// Application credentials' access rules: made with the credential, listed and removed on their
// own, and binding the credential's tokens to the calls they name in every service.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertKeystoneError, IdentityAdmin, unique, V3 } from './helpers.js';

describe('application credential access rules', () => {
  let tc: TestCloud;
  let demo: string;
  let demoId: string;
  const call = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V3}${path}`, token, body);
  const appCredToken = async (cred: { id: string; secret: string }) => {
    const res = await api(tc.url, 'POST', `${V3}/auth/tokens`, undefined, {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { token: res.headers.get('x-subject-token') as string, body: res.json.token };
  };
  const RULES = [
    { service: 'compute', method: 'GET', path: '/v2.1/servers' },
    { service: 'compute', method: 'GET', path: '/v2.1/servers/*' },
    { service: 'identity', method: 'GET', path: '/v3/users/{user_id}' },
  ];

  before(async () => {
    tc = await startTestCloud();
    demo = await tc.token('demo');
    demoId = await new IdentityAdmin(tc.url, await tc.token('admin')).userId('demo');
  });
  after(async () => tc.stop());

  it('confines the credential to its rules in every service, and shows them', async () => {
    const created = await call('POST', `/users/${demoId}/application_credentials`, demo, { application_credential: { name: unique('ac'), access_rules: RULES } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const cred = created.json.application_credential;
    assert.deepEqual(cred.access_rules.map(({ service, method, path }: Record<string, string>) => ({ service, method, path })), RULES);
    const { token, body } = await appCredToken(cred);
    assert.deepEqual(body.application_credential.access_rules.map((r: { id: string }) => r.id), cred.access_rules.map((r: { id: string }) => r.id));

    assert.equal((await api(tc.url, 'GET', '/compute/v2.1/servers', token)).status, 200);
    assert.equal((await api(tc.url, 'GET', '/compute/v2.1/servers?limit=1', token)).status, 200, 'the query is no part of the path');
    assert.equal((await api(tc.url, 'GET', `/compute/v2.1/servers/${'0'.repeat(8)}-0000-0000-0000-000000000000`, token)).status, 404, 'a rule lets it through to the service');
    assert.equal((await api(tc.url, 'GET', '/compute/v2.1/flavors', token)).status, 401);
    assert.equal((await api(tc.url, 'POST', '/compute/v2.1/servers', token, { server: {} })).status, 401);
    assert.equal((await api(tc.url, 'GET', '/networking/v2.0/networks', token)).status, 401);
    assert.equal((await api(tc.url, 'GET', '/image/v2/images', token)).status, 401);
    assert.equal((await api(tc.url, 'GET', `${V3}/users/${demoId}`, token)).status, 200);
    assert.equal((await api(tc.url, 'GET', `${V3}/projects`, token)).status, 401);

    // Shown with the credential, and on their own.
    const shown = await call('GET', `/users/${demoId}/application_credentials/${cred.id}`, demo);
    assert.deepEqual(shown.json.application_credential.access_rules, cred.access_rules);
    const listed = await call('GET', `/users/${demoId}/access_rules`, demo);
    assert.equal(listed.status, 200);
    // Listed in the order they were made, as Keystone lists them (gophercloud compares the two lists).
    const mine = new Set(cred.access_rules.map((r: { id: string }) => r.id));
    assert.deepEqual(
      listed.json.access_rules.map((r: { id: string }) => r.id).filter((id: string) => mine.has(id)),
      cred.access_rules.map((r: { id: string }) => r.id),
    );
    for (const rule of cred.access_rules) {
      assert.ok(listed.json.access_rules.some((r: { id: string }) => r.id === rule.id));
      const one = await call('GET', `/users/${demoId}/access_rules/${rule.id}`, demo);
      assert.equal(one.json.access_rule.path, rule.path);
    }
  });

  it('shares a rule between credentials, keeps it while one names it, and then deletes it', async () => {
    const first = await call('POST', `/users/${demoId}/application_credentials`, demo, {
      application_credential: { name: unique('ac'), access_rules: [{ service: 'image', method: 'GET', path: '/v2/images' }] },
    });
    const rule = first.json.application_credential.access_rules[0];
    const second = await call('POST', `/users/${demoId}/application_credentials`, demo, {
      application_credential: { name: unique('ac'), access_rules: [{ service: 'image', method: 'GET', path: '/v2/images' }] },
    });
    assert.equal(second.json.application_credential.access_rules[0].id, rule.id, 'the same description is the same rule');
    const third = await call('POST', `/users/${demoId}/application_credentials`, demo, { application_credential: { name: unique('ac'), access_rules: [{ id: rule.id }] } });
    assert.equal(third.status, 201);
    assert.equal(third.json.application_credential.access_rules[0].path, '/v2/images');

    assertKeystoneError(await call('DELETE', `/users/${demoId}/access_rules/${rule.id}`, demo), 403);
    for (const made of [first, second, third]) {
      assert.equal((await call('DELETE', `/users/${demoId}/application_credentials/${made.json.application_credential.id}`, demo)).status, 204);
    }
    assert.equal((await call('DELETE', `/users/${demoId}/access_rules/${rule.id}`, demo)).status, 204);
    assertKeystoneError(await call('GET', `/users/${demoId}/access_rules/${rule.id}`, demo), 404);
  });

  it('refuses bad rules, and rules of another user', async () => {
    const make = (rules: unknown) => call('POST', `/users/${demoId}/application_credentials`, demo, { application_credential: { name: unique('ac'), access_rules: rules } });
    assertKeystoneError(await make([{ service: 'compute', method: 'FETCH', path: '/v2.1/servers' }]), 400);
    assertKeystoneError(await make([{ service: 'compute', method: 'GET', path: 'v2.1/servers' }]), 400);
    assertKeystoneError(await make([{ service: 'compute', method: 'GET', path: '/**/a/**/b/**' }]), 400);
    assertKeystoneError(await make([{ service: 'compute', method: 'GET' }]), 400);
    assertKeystoneError(await make('all'), 400);
    assertKeystoneError(await make([{ id: 'f'.repeat(32) }]), 404);
    const admin = await tc.token('admin');
    const adminId = await new IdentityAdmin(tc.url, admin).userId('admin');
    const theirs = await call('POST', `/users/${adminId}/application_credentials`, admin, {
      application_credential: { name: unique('ac'), access_rules: [{ service: 'image', method: 'GET', path: '/v2/schemas/**' }] },
    });
    assert.equal(theirs.status, 201);
    assertKeystoneError(await make([{ id: theirs.json.application_credential.access_rules[0].id }]), 404);
    assertKeystoneError(await call('GET', `/users/${adminId}/access_rules`, demo), 403);
  });
});
