import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertKeystoneError, IdentityAdmin, unique, V3 } from './helpers.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('Identity credentials, EC2 credentials, policies and domain configuration', () => {
  let tc: TestCloud;
  let admin: string;
  let demo: string;
  let ia: IdentityAdmin;
  let adminId: string;
  let demoId: string;
  let demoProject: string;
  const call = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V3}${path}`, token, body);

  before(async () => {
    tc = await startTestCloud();
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    ia = new IdentityAdmin(tc.url, admin);
    adminId = await ia.userId('admin');
    demoId = await ia.userId('demo');
    demoProject = await ia.projectId('demo');
  });
  after(async () => tc.stop());

  describe('/v3/credentials', () => {
    it('creates, shows, updates, lists and deletes an ec2 credential keyed by its access hash', async () => {
      const blob = JSON.stringify({ access: unique('access'), secret: 'a secret kept as given' });
      const created = await call('POST', '/credentials', admin, { credential: { user_id: demoId, project_id: demoProject, type: 'ec2', blob } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const cred = created.json.credential;
      assert.equal(cred.id, sha256(JSON.parse(blob).access));
      assert.equal(cred.blob, blob);
      assert.equal(cred.user_id, demoId);
      assert.equal(cred.project_id, demoProject);
      assert.match(cred.links.self, new RegExp(`/v3/credentials/${cred.id}$`));

      const newBlob = JSON.stringify({ access: unique('new-access'), secret: 'new' });
      const updated = await call('PATCH', `/credentials/${cred.id}`, admin, { credential: { blob: newBlob } });
      assert.equal(updated.status, 200);
      assert.equal(updated.json.credential.id, cred.id, 'the id stays put when the access key changes');
      assert.equal(updated.json.credential.blob, newBlob);

      const shown = await call('GET', `/credentials/${cred.id}`, demo);
      assert.equal(shown.status, 200, 'the owner may read it');
      assert.equal(shown.json.credential.blob, newBlob);

      const listed = await call('GET', `/credentials?user_id=${demoId}&type=ec2`, admin);
      assert.ok(listed.json.credentials.some((c: { id: string }) => c.id === cred.id));
      assert.equal((await call('GET', `/credentials?type=totp`, admin)).json.credentials.length, 0);

      assert.equal((await call('DELETE', `/credentials/${cred.id}`, demo)).status, 204);
      assertKeystoneError(await call('GET', `/credentials/${cred.id}`, admin), 404, `Could not find credential: ${cred.id}.`);
    });

    it('lets a user keep their own credentials and hides everyone else’s', async () => {
      const mine = await call('POST', '/credentials', demo, { credential: { user_id: demoId, type: 'totp', blob: 'x' } });
      assert.equal(mine.status, 201);
      assert.match(mine.json.credential.id, /^[0-9a-f]{32}$/);
      assert.equal(mine.json.credential.project_id, null);
      const theirs = await call('POST', '/credentials', admin, { credential: { user_id: adminId, type: 'cert', blob: 'y' } });
      assert.equal(theirs.status, 201);

      const list = await call('GET', '/credentials', demo);
      assert.equal(list.status, 200);
      const ids = list.json.credentials.map((c: { id: string }) => c.id);
      assert.ok(ids.includes(mine.json.credential.id));
      assert.ok(!ids.includes(theirs.json.credential.id));
      assertKeystoneError(await call('GET', `/credentials?user_id=${adminId}`, demo), 403);
      assertKeystoneError(await call('GET', `/credentials/${theirs.json.credential.id}`, demo), 403);
      assertKeystoneError(await call('PATCH', `/credentials/${theirs.json.credential.id}`, demo, { credential: { blob: 'z' } }), 403);
      assertKeystoneError(await call('DELETE', `/credentials/${theirs.json.credential.id}`, demo), 403);
      assertKeystoneError(await call('POST', '/credentials', demo, { credential: { user_id: adminId, type: 'x', blob: 'y' } }), 403);
      assertKeystoneError(
        await call('PATCH', `/credentials/${mine.json.credential.id}`, demo, { credential: { user_id: adminId } }),
        403,
        undefined,
        'giving a credential away',
      );
    });

    it('refuses bad input with Keystone errors', async () => {
      const post = (credential: unknown) => call('POST', '/credentials', admin, { credential });
      assertKeystoneError(await post({ type: 'x', blob: 'y' }), 400, /user_id/);
      assertKeystoneError(await post({ user_id: demoId, blob: 'y' }), 400, /type/);
      assertKeystoneError(await post({ user_id: demoId, type: 'x' }), 400, /blob/);
      assertKeystoneError(await post({ user_id: demoId, type: 'x', blob: { not: 'a string' } }), 400, /blob/);
      assertKeystoneError(await post({ user_id: demoId, project_id: demoProject, type: 'ec2', blob: 'not json' }), 400, /Invalid blob/);
      assertKeystoneError(await post({ user_id: demoId, project_id: demoProject, type: 'ec2', blob: '{"secret":"s"}' }), 400, /access/);
      assertKeystoneError(await post({ user_id: demoId, type: 'ec2', blob: '{"access":"a"}' }), 400, /project_id/);
      assertKeystoneError(await call('POST', '/credentials', admin, []), 400);
      const blob = JSON.stringify({ access: unique('dup'), secret: 's' });
      assert.equal((await post({ user_id: demoId, project_id: demoProject, type: 'ec2', blob })).status, 201);
      assertKeystoneError(await post({ user_id: demoId, project_id: demoProject, type: 'ec2', blob }), 409, /Duplicate ID/);
      assertKeystoneError(await call('PATCH', '/credentials/nope', admin, { credential: { blob: 'x' } }), 404);
      assertKeystoneError(await call('DELETE', '/credentials/nope', admin), 404);
      const plain = await post({ user_id: demoId, type: 'x', blob: 'y' });
      assertKeystoneError(
        await call('PATCH', `/credentials/${plain.json.credential.id}`, admin, { credential: { type: 'ec2' } }),
        400,
        undefined,
        'turning a credential into ec2 needs an ec2 blob',
      );
      assertKeystoneError(await call('PATCH', `/credentials/${plain.json.credential.id}`, admin, { credential: { id: 'other' } }), 400);
    });
  });

  describe('OS-EC2', () => {
    const ec2 = (user: string) => `/users/${user}/credentials/OS-EC2`;

    it('creates, lists, shows and deletes the caller’s EC2 keys, stored as ec2 credentials', async () => {
      const created = await call('POST', ec2(demoId), demo, { tenant_id: demoProject });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const c = created.json.credential;
      assert.deepEqual(Object.keys(c).sort(), ['access', 'links', 'secret', 'tenant_id', 'trust_id', 'user_id']);
      assert.equal(c.user_id, demoId);
      assert.equal(c.tenant_id, demoProject);
      assert.equal(c.trust_id, null);
      assert.match(c.links.self, new RegExp(`/v3/users/${demoId}/credentials/OS-EC2/${c.access}$`));

      const list = await call('GET', ec2(demoId), demo);
      assert.equal(list.status, 200);
      assert.ok(list.json.credentials.some((x: { access: string }) => x.access === c.access));
      const shown = await call('GET', `${ec2(demoId)}/${c.access}`, demo);
      assert.deepEqual(shown.json.credential, c);

      const generic = await call('GET', `/credentials/${sha256(c.access)}`, admin);
      assert.equal(generic.json.credential.type, 'ec2');
      assert.equal(JSON.parse(generic.json.credential.blob).secret, c.secret);

      assert.equal((await call('DELETE', `${ec2(demoId)}/${c.access}`, demo)).status, 204);
      assertKeystoneError(await call('GET', `${ec2(demoId)}/${c.access}`, demo), 404);
      assertKeystoneError(await call('DELETE', `${ec2(demoId)}/${c.access}`, demo), 404);
    });

    it('refuses bad input, strangers and other users’ keys', async () => {
      assertKeystoneError(await call('POST', ec2(demoId), demo, {}), 400, /tenant_id/);
      assertKeystoneError(await call('POST', ec2(demoId), demo, { tenant_id: 42 }), 400, /tenant_id/);
      assertKeystoneError(await call('POST', ec2(demoId), demo, { tenant_id: 'nope' }), 404, 'Could not find project: nope.');
      assertKeystoneError(await call('POST', ec2('nope'), admin, { tenant_id: demoProject }), 404, 'Could not find user: nope.');
      assertKeystoneError(await call('POST', ec2(adminId), demo, { tenant_id: demoProject }), 403);
      assertKeystoneError(await call('GET', ec2(adminId), demo), 403);
      const mine = (await call('POST', ec2(adminId), admin, { tenant_id: demoProject })).json.credential;
      assertKeystoneError(await call('GET', `${ec2(adminId)}/${mine.access}`, demo), 403);
      assertKeystoneError(await call('GET', `${ec2(demoId)}/${mine.access}`, admin), 404, undefined, 'the key belongs to another user');
    });

    it('goes with its user', async () => {
      const user = await ia.user(unique('ec2-user'), 'pw');
      const c = (await call('POST', ec2(user.id), admin, { tenant_id: demoProject })).json.credential;
      assert.equal((await call('DELETE', `/users/${user.id}`, admin)).status, 204);
      assertKeystoneError(await call('GET', `/credentials/${sha256(c.access)}`, admin), 404);
    });
  });

  describe('/v3/policies', () => {
    it('creates, lists, shows, updates and deletes a policy blob', async () => {
      const created = await call('POST', '/policies', admin, { policy: { type: 'application/json', blob: '{"a": "rule:b"}' } });
      assert.equal(created.status, 201);
      const p = created.json.policy;
      assert.equal(p.blob, '{"a": "rule:b"}');
      assert.match(p.links.self, new RegExp(`/v3/policies/${p.id}$`));
      const listed = await call('GET', '/policies?type=application/json', admin);
      assert.ok(listed.json.policies.some((x: { id: string }) => x.id === p.id));
      const updated = await call('PATCH', `/policies/${p.id}`, admin, { policy: { type: 'text/plain' } });
      assert.equal(updated.json.policy.type, 'text/plain');
      assert.equal(updated.json.policy.blob, p.blob);
      assert.equal((await call('GET', `/policies/${p.id}`, admin)).json.policy.type, 'text/plain');
      assert.equal((await call('DELETE', `/policies/${p.id}`, admin)).status, 204);
      assertKeystoneError(await call('GET', `/policies/${p.id}`, admin), 404, `Could not find policy: ${p.id}.`);
    });

    it('is for admins only and checks its input', async () => {
      assertKeystoneError(await call('GET', '/policies', demo), 403);
      assertKeystoneError(await call('POST', '/policies', demo, { policy: { type: 't', blob: 'b' } }), 403);
      assertKeystoneError(await call('POST', '/policies', admin, { policy: { blob: 'b' } }), 400, /type/);
      assertKeystoneError(await call('POST', '/policies', admin, { policy: { type: 't' } }), 400, /blob/);
      assertKeystoneError(await call('POST', '/policies', admin, { policy: { type: 'x'.repeat(256), blob: 'b' } }), 400, /type/);
      assertKeystoneError(await call('POST', '/policies', admin, { policy: 'b' }), 400);
      assertKeystoneError(await call('PATCH', '/policies/nope', admin, { policy: { type: 't' } }), 404);
      assertKeystoneError(await call('DELETE', '/policies/nope', admin), 404);
    });
  });

  describe('domain configuration', () => {
    const custom = { identity: { driver: 'ldap' }, ldap: { url: 'ldap://example.org/', user_tree_dn: 'ou=Users,dc=example,dc=org' } };

    it('shows the defaults of the identity and ldap groups', async () => {
      const all = await call('GET', '/domains/config/default', admin);
      assert.equal(all.status, 200);
      assert.deepEqual(Object.keys(all.json.config).sort(), ['identity', 'ldap']);
      assert.ok(!('password' in all.json.config.ldap), 'the sensitive option has no shown default');
      assert.deepEqual((await call('GET', '/domains/config/identity/default', admin)).json.config, { identity: { driver: 'sql', list_limit: null } });
      assert.deepEqual((await call('GET', '/domains/config/ldap/url/default', admin)).json.config, { url: 'ldap://localhost' });
      assertKeystoneError(await call('GET', '/domains/config/assignment/default', admin), 403);
      assertKeystoneError(await call('GET', '/domains/config/ldap/nope/default', admin), 403);
      assertKeystoneError(await call('GET', '/domains/config/default', demo), 403);
    });

    it('creates, reads, updates and deletes a domain’s configuration, by group and option too', async () => {
      const domain = await ia.domain(unique('config-domain'));
      const base = `/domains/${domain.id}/config`;
      assertKeystoneError(await call('GET', base, admin), 404, `Could not find any in domain configuration for domain ${domain.id}.`);
      const created = await call('PUT', base, admin, { config: { ...custom, ldap: { ...custom.ldap, password: 'bind-secret' } } });
      assert.equal(created.status, 201);
      assert.deepEqual(created.json.config, custom, 'the password is kept but never shown');
      assert.equal((await call('PUT', base, admin, { config: custom })).status, 200, 'a second PUT replaces');
      assert.deepEqual((await call('GET', `${base}/ldap`, admin)).json.config, { ldap: custom.ldap });
      assert.deepEqual((await call('GET', `${base}/ldap/url`, admin)).json.config, { url: custom.ldap.url });

      const patched = await call('PATCH', base, admin, { config: { ldap: { url: 'ldap://other/' } } });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.json.config.ldap, { ...custom.ldap, url: 'ldap://other/' });
      const group = await call('PATCH', `${base}/identity`, admin, { config: { identity: { driver: 'd2', list_limit: 7 } } });
      assert.deepEqual(group.json.config.identity, { driver: 'd2', list_limit: 7 });
      const option = await call('PATCH', `${base}/identity/driver`, admin, { config: { driver: 'd3' } });
      assert.equal(option.json.config.identity.driver, 'd3');

      assert.equal((await call('DELETE', `${base}/identity/driver`, admin)).status, 204);
      assertKeystoneError(await call('GET', `${base}/identity/driver`, admin), 404);
      assert.equal((await call('DELETE', `${base}/identity`, admin)).status, 204);
      assertKeystoneError(await call('GET', `${base}/identity`, admin), 404);
      assertKeystoneError(await call('PATCH', `${base}/identity`, admin, { config: { identity: { driver: 'x' } } }), 404);
      assert.equal((await call('DELETE', base, admin)).status, 204);
      assertKeystoneError(await call('GET', base, admin), 404);
      assertKeystoneError(await call('DELETE', base, admin), 404);
    });

    it('refuses unknown groups and options, bad bodies, missing domains and non-admins', async () => {
      const domain = await ia.domain(unique('config-bad'));
      const base = `/domains/${domain.id}/config`;
      assertKeystoneError(await call('PUT', base, admin, { config: { assignment: { driver: 'sql' } } }), 403, /group assignment/);
      assertKeystoneError(await call('PUT', base, admin, { config: { ldap: { nope: 1 } } }), 403, /option nope/);
      assertKeystoneError(await call('PUT', base, admin, { config: {} }), 403);
      assertKeystoneError(await call('PUT', base, admin, { config: { ldap: 'x' } }), 400);
      assertKeystoneError(await call('PUT', base, admin, { nothing: true }), 400, /config/);
      assertKeystoneError(await call('PUT', '/domains/nope/config', admin, { config: custom }), 404, 'Could not find domain: nope.');
      assertKeystoneError(await call('PUT', base, demo, { config: custom }), 403);
      assert.equal((await call('PUT', base, admin, { config: custom })).status, 201);
      assertKeystoneError(await call('GET', base, demo), 403);
      assertKeystoneError(await call('GET', `${base}/assignment`, admin), 403);
      assertKeystoneError(await call('PATCH', `${base}/identity`, admin, { config: { ldap: { url: 'x' } } }), 403);
      assertKeystoneError(await call('PATCH', `${base}/identity/driver`, admin, { config: { list_limit: 3 } }), 403);
      assertKeystoneError(await call('GET', `${base}/ldap/password`, admin), 404, undefined, 'sensitive options are never shown');
    });
  });
});
