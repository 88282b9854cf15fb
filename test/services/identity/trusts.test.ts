// OS-TRUST: trusts as tempest's test_trusts drives them, trust-scoped tokens, and what neither
// a stranger nor a trustee with a spent or deleted trust may do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, passwordToken, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertKeystoneError, IdentityAdmin, unique, V3 } from './helpers.js';

describe('OS-TRUST trusts and trust-scoped tokens', () => {
  let tc: TestCloud;
  let ia: IdentityAdmin;
  let projectId: string;
  let trustor: { id: string; name: string; token: string };
  let trustee: { id: string; name: string; token: string };
  let stranger: { id: string; name: string; token: string };
  let delegated: { id: string; name: string };
  let kept: { id: string; name: string };
  const call = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V3}${path}`, token, body);
  const PASSWORD = 'trust-test-secret';

  const trustBody = (extra: Record<string, unknown> = {}) => ({
    trust: { trustor_user_id: trustor.id, trustee_user_id: trustee.id, project_id: projectId, roles: [{ name: delegated.name }], impersonation: true, ...extra },
  });
  const create = async (extra: Record<string, unknown> = {}) => {
    const res = await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody(extra));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.json.trust as Record<string, any>;
  };
  /** The trustee's password login scoped to the trust. */
  const redeem = (trustId: string, who = trustee) =>
    api(tc.url, 'POST', `${V3}/auth/tokens`, undefined, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: who.name, domain: { id: 'default' }, password: PASSWORD } } },
        scope: { 'OS-TRUST:trust': { id: trustId } },
      },
    });

  before(async () => {
    tc = await startTestCloud();
    ia = new IdentityAdmin(tc.url, await tc.token('admin'));
    const project = await ia.project(unique('trust-project'));
    projectId = project.id as string;
    delegated = (await ia.role(unique('DelegatedRole'))) as { id: string; name: string };
    kept = (await ia.role(unique('NotDelegatedRole'))) as { id: string; name: string };
    const person = async (prefix: string, roles: string[]) => {
      const name = unique(prefix);
      const user = await ia.user(name, PASSWORD, { default_project_id: projectId });
      for (const role of roles) await ia.grant('projects', projectId, 'users', user.id as string, role);
      return { id: user.id as string, name, token: await passwordToken(tc.url, name, PASSWORD, project.name as string) };
    };
    const member = await ia.roleId('member');
    trustor = await person('trustor', [delegated.id, kept.id]);
    trustee = await person('trustee', [member]);
    stranger = await person('stranger', [member]);
  });
  after(async () => tc.stop());

  it('creates, shows and lists a trust with only the delegated role, as tempest checks it', async () => {
    const expires = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const trust = await create({ expires_at: expires });
    assert.equal(trust.trustor_user_id, trustor.id);
    assert.equal(trust.trustee_user_id, trustee.id);
    assert.equal(trust.project_id, projectId);
    assert.equal(trust.impersonation, true);
    assert.equal(trust.expires_at.replace(/\.\d{6}/, ''), expires);
    assert.deepEqual(trust.roles.map((r: { name: string }) => r.name), [delegated.name]);
    assert.match(trust.links.self, new RegExp(`v3/OS-TRUST/trusts/${trust.id}$`));

    const shown = await call('GET', `/OS-TRUST/trusts/${trust.id}`, trustee.token);
    assert.equal(shown.status, 200, 'the trustee sees it');
    assert.equal(shown.json.trust.id, trust.id);
    const roles = await call('GET', `/OS-TRUST/trusts/${trust.id}/roles`, trustor.token);
    assert.deepEqual(roles.json.roles.map((r: { id: string }) => r.id), [delegated.id]);
    assert.match(roles.json.roles[0].links.self, new RegExp(`v3/roles/${delegated.id}$`));
    assert.equal((await call('GET', `/OS-TRUST/trusts/${trust.id}/roles/${delegated.id}`, trustor.token)).status, 200);
    assertKeystoneError(await call('GET', `/OS-TRUST/trusts/${trust.id}/roles/${kept.id}`, trustor.token), 404);
    assert.equal((await call('HEAD', `/OS-TRUST/trusts/${trust.id}/roles/${delegated.id}`, trustor.token)).status, 200);
    assert.equal((await call('HEAD', `/OS-TRUST/trusts/${trust.id}/roles/${kept.id}`, trustor.token)).status, 404);

    const mine = await call('GET', `/OS-TRUST/trusts?trustor_user_id=${trustor.id}`, trustor.token);
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.json.trusts.map((t: { id: string }) => t.id), [trust.id]);
    const all = await call('GET', '/OS-TRUST/trusts', ia.token);
    assert.ok(all.json.trusts.some((t: { id: string }) => t.id === trust.id), 'the admin lists every trust');

    assertKeystoneError(await call('GET', `/OS-TRUST/trusts/${trust.id}`, stranger.token), 403);
    assertKeystoneError(await call('GET', `/OS-TRUST/trusts?trustor_user_id=${trustor.id}`, stranger.token), 403);
    assertKeystoneError(await call('GET', '/OS-TRUST/trusts', stranger.token), 403);
    assertKeystoneError(await call('DELETE', `/OS-TRUST/trusts/${trust.id}`, trustee.token), 403, undefined);
    assert.equal((await call('DELETE', `/OS-TRUST/trusts/${trust.id}`, trustor.token)).status, 204);
    assertKeystoneError(await call('GET', `/OS-TRUST/trusts/${trust.id}`, trustor.token), 404);
  });

  it('gives the trustee a token with the delegated roles only, as the trustor when it impersonates', async () => {
    for (const impersonation of [true, false]) {
      const trust = await create({ impersonation });
      const res = await redeem(trust.id);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const token = res.json.token;
      assert.equal(token.user.id, impersonation ? trustor.id : trustee.id);
      assert.equal(token.project.id, projectId);
      assert.deepEqual(token.roles.map((r: { id: string }) => r.id), [delegated.id]);
      assert.deepEqual(token['OS-TRUST:trust'], { id: trust.id, impersonation, trustee_user: { id: trustee.id }, trustor_user: { id: trustor.id } });
      // Other services see the delegated roles, and only those.
      const subject = res.headers.get('x-subject-token') as string;
      const checked = await api(tc.url, 'GET', `${V3}/auth/tokens`, ia.token, undefined, { 'x-subject-token': subject });
      assert.equal(checked.status, 200);
      assert.deepEqual(checked.json.token.roles.map((r: { id: string }) => r.id), [delegated.id]);
      // A trust-scoped token is not rescoped, and does not make trusts of its own.
      const rescope = await api(tc.url, 'POST', `${V3}/auth/tokens`, undefined, {
        auth: { identity: { methods: ['token'], token: { id: subject } }, scope: { project: { id: projectId } } },
      });
      assertKeystoneError(rescope, 403);
      const chained = await api(tc.url, 'POST', `${V3}/OS-TRUST/trusts`, subject, {
        trust: { trustor_user_id: token.user.id, trustee_user_id: stranger.id, project_id: projectId, roles: [{ id: delegated.id }], impersonation: false },
      });
      assertKeystoneError(chained, 403);
      // Nor credentials, which would carry the trustor's whole roles rather than the delegated one.
      const userId = token.user.id as string;
      assertKeystoneError(await api(tc.url, 'POST', `${V3}/users/${userId}/application_credentials`, subject, { application_credential: { name: unique('escalate') } }), 403);
      assertKeystoneError(await api(tc.url, 'POST', `${V3}/users/${userId}/credentials/OS-EC2`, subject, { tenant_id: projectId }), 403);
      assertKeystoneError(
        await api(tc.url, 'POST', `${V3}/credentials`, subject, { credential: { user_id: userId, project_id: projectId, type: 'ec2', blob: JSON.stringify({ access: unique('a'), secret: 's' }) } }),
        403,
      );
    }
  });

  it('refuses a trust to anyone but its trustee, after its last use, and once deleted its tokens fail', async () => {
    const trust = await create({ remaining_uses: 1 });
    assertKeystoneError(await redeem(trust.id, stranger), 403);
    const first = await redeem(trust.id);
    assert.equal(first.status, 201);
    assertKeystoneError(await redeem(trust.id), 403, /no uses left/);

    const lasting = await create();
    const res = await redeem(lasting.id);
    const subject = res.headers.get('x-subject-token') as string;
    const check = () => api(tc.url, 'GET', `${V3}/auth/tokens`, ia.token, undefined, { 'x-subject-token': subject });
    assert.equal((await check()).status, 200);
    assert.equal((await call('DELETE', `/OS-TRUST/trusts/${lasting.id}`, trustor.token)).status, 204);
    assert.equal((await check()).status, 404, 'a deleted trust takes its tokens with it');
  });

  it('stops validating a trust token once the trustor no longer holds the delegated role', async () => {
    const trust = await create({ impersonation: false });
    const res = await redeem(trust.id);
    const subject = res.headers.get('x-subject-token') as string;
    const check = () => api(tc.url, 'GET', `${V3}/auth/tokens`, ia.token, undefined, { 'x-subject-token': subject });
    assert.equal((await check()).status, 200);
    await ia.revoke('projects', projectId, 'users', trustor.id, delegated.id);
    try {
      assert.equal((await check()).status, 404);
    } finally {
      await ia.grant('projects', projectId, 'users', trustor.id, delegated.id);
      // The revocation took the trustor's own tokens too (as Keystone does).
      trustor.token = await passwordToken(tc.url, trustor.name, PASSWORD);
    }
  });

  it('answers bad trust requests with 400 and trusts for someone else, or for roles not held, with 403', async () => {
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ expires_at: 'bad.123Z' })), 400);
    const { impersonation: _dropped, ...withoutImpersonation } = trustBody().trust;
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, { trust: withoutImpersonation }), 400);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ impersonation: 'yes' })), 400);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ remaining_uses: 0 })), 400);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ roles: [] })), 400);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', stranger.token, trustBody()), 403);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ roles: [{ name: 'admin' }] })), 403);
    assertKeystoneError(await call('POST', '/OS-TRUST/trusts', trustor.token, trustBody({ trustee_user_id: 'f'.repeat(32) })), 404);
    assertKeystoneError(await redeem('f'.repeat(32)), 404);
  });
});
