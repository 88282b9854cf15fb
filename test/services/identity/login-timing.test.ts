// A failed login must not tell whether the name exists: an unknown user (or domain, or a user
// without a password, or a disabled one) costs the same bcrypt work as a wrong password.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import bcrypt from 'bcrypt';
import { PasswordHasher } from '../../../src/services/identity/passwords.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

const passwordLogin = (user: Record<string, unknown>, password: string) => ({
  auth: { identity: { methods: ['password'], password: { user: { ...user, password } } } },
});

describe('failed logins cost the same whoever is named', () => {
  let cloud: TestCloud;
  let admin: string;
  const ids: Record<string, string> = {};

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    const make = async (user: Record<string, unknown>) => {
      const response = await api(cloud.url, 'POST', '/identity/v3/users', admin, { user });
      assert.equal(response.status, 201, JSON.stringify(response.json));
      return response.json.user.id as string;
    };
    ids.known = await make({ name: 'known', password: 'right-password' });
    ids.passwordless = await make({ name: 'passwordless' });
    ids.disabled = await make({ name: 'disabled', password: 'right-password', enabled: false });
  });

  after(async () => {
    await cloud?.stop();
  });

  /** bcrypt comparisons made while `attempt` runs, with its answer. */
  async function comparisons(t: TestContext, attempt: () => Promise<{ status: number; json: Record<string, any> }>) {
    const compare = t.mock.method(bcrypt, 'compare');
    try {
      const { status, json } = await attempt();
      return { status, json, compares: compare.mock.callCount() };
    } finally {
      compare.mock.restore();
    }
  }

  const login = (body: unknown) => () => api(cloud.url, 'POST', '/identity/v3/auth/tokens', undefined, body);

  it('every failed password login does exactly one bcrypt comparison and answers alike', async (t) => {
    const cases: Record<string, unknown> = {
      'a known user, wrong password': passwordLogin({ name: 'known', domain: { id: 'default' } }, 'wrong'),
      'an unknown user': passwordLogin({ name: 'nobody-here', domain: { id: 'default' } }, 'wrong'),
      'an unknown domain': passwordLogin({ name: 'known', domain: { name: 'NoSuchDomain' } }, 'wrong'),
      'an unknown user id': passwordLogin({ id: 'f'.repeat(32) }, 'wrong'),
      'a user without a password': passwordLogin({ name: 'passwordless', domain: { id: 'default' } }, 'wrong'),
      'a disabled user, wrong password': passwordLogin({ name: 'disabled', domain: { id: 'default' } }, 'wrong'),
      'a disabled user, right password': passwordLogin({ name: 'disabled', domain: { id: 'default' } }, 'right-password'),
    };
    const bodies = new Set<string>();
    for (const [name, body] of Object.entries(cases)) {
      const result = await comparisons(t, login(body));
      assert.equal(result.status, 401, `${name}: ${JSON.stringify(result.json)}`);
      assert.equal(result.compares, 1, `${name}: one bcrypt comparison`);
      bodies.add(JSON.stringify(result.json));
    }
    assert.equal(bodies.size, 1, `one answer for all: ${[...bodies].join(' | ')}`);
  });

  it('an unknown application credential and an unknown user changing a password cost one comparison too', async (t) => {
    const appCredential = await comparisons(
      t,
      login({ auth: { identity: { methods: ['application_credential'], application_credential: { id: 'e'.repeat(32), secret: 'guess' } } } }),
    );
    assert.deepEqual([appCredential.status, appCredential.compares], [401, 1]);
    const byName = await comparisons(
      t,
      login({
        auth: {
          identity: {
            methods: ['application_credential'],
            application_credential: { name: 'nope', secret: 'guess', user: { name: 'nobody-here', domain: { id: 'default' } } },
          },
        },
      }),
    );
    assert.deepEqual([byName.status, byName.compares], [401, 1]);
    for (const userId of ['d'.repeat(32), ids.known as string]) {
      const change = await comparisons(t, () =>
        api(cloud.url, 'POST', `/identity/v3/users/${userId}/password`, undefined, { user: { original_password: 'wrong', password: 'new-password' } }),
      );
      assert.deepEqual([change.status, change.compares], [401, 1], `password change of ${userId === ids.known ? 'a known' : 'an unknown'} user`);
    }
  });

  it('an unknown user takes about as long as a wrong password at a real bcrypt cost (median ratio within 0.5x to 2x)', async () => {
    // Cost 10 (about 60 ms a comparison here) makes bcrypt, not HTTP, the bulk of the time.
    const ctx = cloud.cloud.identity.context;
    const cheap = ctx.hasher;
    ctx.hasher = new PasswordHasher(10);
    try {
      const created = await api(cloud.url, 'POST', '/identity/v3/users', admin, { user: { name: 'timed', password: 'right-password' } });
      assert.equal(created.status, 201);
      const known = login(passwordLogin({ name: 'timed', domain: { id: 'default' } }, 'wrong'));
      const unknown = login(passwordLogin({ name: 'timed-nobody', domain: { id: 'default' } }, 'wrong'));
      const timed = async (attempt: () => Promise<{ status: number }>) => {
        const started = performance.now();
        assert.equal((await attempt()).status, 401);
        return performance.now() - started;
      };
      await timed(known);
      await timed(unknown); // the first one also makes the stand-in hash
      const knownMs: number[] = [];
      const unknownMs: number[] = [];
      for (let i = 0; i < 7; i++) {
        knownMs.push(await timed(known));
        unknownMs.push(await timed(unknown));
      }
      const ratio = median(unknownMs) / median(knownMs);
      assert.ok(
        ratio > 0.5 && ratio < 2,
        `unknown/known median ratio ${ratio.toFixed(2)} (unknown ${median(unknownMs).toFixed(1)} ms, known ${median(knownMs).toFixed(1)} ms)`,
      );
    } finally {
      ctx.hasher = cheap;
    }
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}
