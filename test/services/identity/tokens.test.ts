import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { fernetDecrypt } from '../../../src/services/identity/fernet/fernet.js';
import { FernetKeyRepository } from '../../../src/services/identity/fernet/key-repository.js';
import {
  assertKeystoneError,
  IdentityAdmin,
  issue,
  mustIssue,
  passwordAuth,
  sleep,
  tokenWorks,
  unique,
  V3,
  validate,
} from './helpers.js';

type Json = Record<string, any>;

interface Person {
  id: string;
  name: string;
  password: string;
  domainId: string;
  /** A project the person holds `member` on. */
  projectId: string;
  projectName: string;
}

const ADMIN = passwordAuth({ name: 'admin', domain: { id: 'default' } }, ADMIN_PASSWORD);
const roleNames = (token: Json): string[] => (token.roles as Array<{ name: string }>).map((r) => r.name).sort();

describe('Identity tokens', () => {
  let tc: TestCloud;
  let url: string;
  let admin: string;
  let ia: IdentityAdmin;
  const ids = {} as { adminUser: string; adminProject: string; admin: string; member: string; reader: string };

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    admin = await tc.token('admin');
    ia = new IdentityAdmin(url, admin);
    ids.adminUser = await ia.userId('admin');
    ids.adminProject = await ia.projectId('admin');
    ids.admin = await ia.roleId('admin');
    ids.member = await ia.roleId('member');
    ids.reader = await ia.roleId('reader');
  });

  after(async () => {
    await tc?.stop();
  });

  /** A fresh user with `member` on a fresh project (in `domainId`), optionally as default project. */
  async function person(label: string, opts: { domainId?: string; defaultProject?: boolean; role?: boolean } = {}): Promise<Person> {
    const domainId = opts.domainId ?? 'default';
    const projectName = unique(`${label}-project`);
    const project = await ia.project(projectName, { domain_id: domainId });
    const name = unique(label);
    const password = `${name}-secret`;
    const user = await ia.user(name, password, { domain_id: domainId, ...(opts.defaultProject ? { default_project_id: project.id } : {}) });
    if (opts.role !== false) await ia.grant('projects', project.id, 'users', user.id, ids.member);
    return { id: user.id, name, password, domainId, projectId: project.id, projectName };
  }

  const projectToken = async (p: Person) => (await mustIssue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } }))).token;

  describe('password authentication and scopes', () => {
    it('by user id, without scope or default project: an unscoped token without roles', async () => {
      const p = await person('unscoped');
      const { token, body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password));
      assert.deepEqual(body.methods, ['password']);
      assert.deepEqual(body.user, { id: p.id, name: p.name, domain: { id: 'default', name: 'Default' }, password_expires_at: null });
      assert.equal(body.project, undefined);
      assert.equal(body.domain, undefined);
      assert.equal(body.system, undefined);
      assert.equal(body.roles, undefined);
      assert.equal(body.audit_ids.length, 1);
      assert.match(body.audit_ids[0], /^[A-Za-z0-9_-]{22}$/);
      assert.match(body.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      assert.match(body.issued_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      const lifetime = Date.parse(body.expires_at) - Date.parse(body.issued_at);
      assert.ok(Math.abs(lifetime - 3600_000) < 1000, `default lifetime is an hour, got ${lifetime} ms`);
      assert.ok(await tokenWorks(url, token));
      // The token is a Fernet token: url-safe base64 with the padding stripped, as Keystone's.
      assert.match(token, /^gAAAAA[A-Za-z0-9_-]+$/);
      assert.ok(token.length < 255, `token is ${token.length} characters (Keystone keeps them under 255)`);
    });

    it('by name and domain id, and by name and domain name', async () => {
      const p = await person('byname');
      for (const domain of [{ id: 'default' }, { name: 'Default' }]) {
        const { body } = await mustIssue(url, passwordAuth({ name: p.name, domain }, p.password));
        assert.equal(body.user.id, p.id);
      }
      const d = await ia.domain(unique('auth-domain'));
      const q = await person('in-domain', { domainId: d.id });
      assert.equal((await mustIssue(url, passwordAuth({ name: q.name, domain: { name: d.name } }, q.password))).body.user.domain.id, d.id);
      assert.equal((await mustIssue(url, passwordAuth({ name: q.name, domain: { id: d.id } }, q.password))).body.user.domain.name, d.name);
    });

    it('project scope by id, by name and domain id, by name and domain name', async () => {
      const p = await person('projscope');
      const scopes = [
        { project: { id: p.projectId } },
        { project: { name: p.projectName, domain: { id: 'default' } } },
        { project: { name: p.projectName, domain: { name: 'Default' } } },
      ];
      for (const scope of scopes) {
        const { token, body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password, scope));
        assert.deepEqual(body.project, { id: p.projectId, name: p.projectName, domain: { id: 'default', name: 'Default' } }, JSON.stringify(scope));
        assert.equal(body.is_domain, false);
        assert.deepEqual(roleNames(body), ['member', 'reader'], 'member, and reader which member implies');
        assert.ok(Array.isArray(body.catalog));
        assert.ok(await tokenWorks(url, token));
      }
    });

    it('domain scope', async () => {
      const p = await person('domscope');
      const d = await ia.domain(unique('scope-domain'));
      await ia.grant('domains', d.id, 'users', p.id, ids.reader);
      for (const scope of [{ domain: { id: d.id } }, { domain: { name: d.name } }]) {
        const { token, body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password, scope));
        assert.deepEqual(body.domain, { id: d.id, name: d.name });
        assert.equal(body.project, undefined);
        assert.deepEqual(roleNames(body), ['reader']);
        assert.ok(await tokenWorks(url, token));
      }
      // A role on a project of the domain is not a role on the domain.
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { domain: { id: 'default' } })), 401);
    });

    it('system scope', async () => {
      const { token, body } = await mustIssue(url, { auth: { ...ADMIN.auth as Json, scope: { system: { all: true } } } });
      assert.deepEqual(body.system, { all: true });
      assert.equal(body.project, undefined);
      assert.deepEqual(roleNames(body), ['admin', 'member', 'reader']);
      // A system reader may list users, as Keystone's default policy says.
      assert.equal((await api(url, 'GET', `${V3}/users`, token)).status, 200);
      const p = await person('sysscope');
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { system: { all: true } })), 401);
    });

    it('default project: no scope means the default project when the user has a role there', async () => {
      const withRole = await person('default-proj', { defaultProject: true });
      const scoped = await mustIssue(url, passwordAuth({ id: withRole.id }, withRole.password));
      assert.equal(scoped.body.project?.id, withRole.projectId);
      assert.deepEqual(roleNames(scoped.body), ['member', 'reader']);
      // Explicitly unscoped overrides the default project.
      const explicit = await mustIssue(url, passwordAuth({ id: withRole.id }, withRole.password, 'unscoped'));
      assert.equal(explicit.body.project, undefined);
      // Without a role there, Keystone hands out an unscoped token rather than failing.
      const noRole = await person('default-norole', { defaultProject: true, role: false });
      const unscoped = await mustIssue(url, passwordAuth({ id: noRole.id }, noRole.password));
      assert.equal(unscoped.body.project, undefined);
      // The bootstrap admin has the admin project as default.
      const adminDefault = await mustIssue(url, ADMIN);
      assert.equal(adminDefault.body.project.id, ids.adminProject);
    });

    it('nocatalog leaves the catalog out; otherwise it lists this cloud', async () => {
      const full = await mustIssue(url, ADMIN);
      const identity = (full.body.catalog as Json[]).find((s) => s.type === 'identity');
      assert.ok(identity, 'the catalog lists identity');
      assert.deepEqual(
        (identity.endpoints as Json[]).map((e) => e.interface).sort(),
        ['admin', 'internal', 'public'],
      );
      for (const e of identity.endpoints as Json[]) assert.equal(e.url, `${url}/identity/v3`);
      const bare = await mustIssue(url, ADMIN, '?nocatalog');
      assert.equal(bare.body.catalog, undefined);
      assert.equal(bare.body.project.id, ids.adminProject);
      const validated = await validate(url, admin, bare.token, '?nocatalog=1');
      assert.equal(validated.status, 200);
      assert.equal(validated.json.token.catalog, undefined);
      const withCatalog = await validate(url, admin, bare.token);
      assert.ok(Array.isArray(withCatalog.json.token.catalog));
    });

    it('GET and HEAD /v3/auth/tokens validate a token and echo it; a user may validate their own', async () => {
      const p = await person('validate');
      const { token, body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } }));
      const res = await validate(url, admin, token);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-subject-token'), token);
      assert.deepEqual(res.json.token, body);
      const head = await api(url, 'HEAD', `${V3}/auth/tokens`, admin, undefined, { 'x-subject-token': token });
      assert.equal(head.status, 200);
      const own = await validate(url, token, token);
      assert.equal(own.status, 200, 'token_subject may validate');
      const other = await validate(url, token, admin);
      assertKeystoneError(other, 403);
    });

    it('rescoping: an unscoped token becomes a project token with the same expiry and audit chain', async () => {
      const p = await person('rescope');
      const first = await mustIssue(url, passwordAuth({ id: p.id }, p.password));
      assert.equal(first.body.project, undefined);
      await sleep(5);
      const rescoped = await mustIssue(url, { auth: { identity: { methods: ['token'], token: { id: first.token } }, scope: { project: { id: p.projectId } } } });
      assert.equal(rescoped.body.project.id, p.projectId);
      assert.equal(rescoped.body.expires_at, first.body.expires_at, 'a rescoped token never outlives its parent');
      assert.equal(rescoped.body.audit_ids.length, 2);
      assert.equal(rescoped.body.audit_ids[1], first.body.audit_ids[0], 'the chain ends with the parent audit id');
      assert.notEqual(rescoped.body.audit_ids[0], first.body.audit_ids[0]);
      assert.ok(rescoped.body.methods.includes('token'));
      assert.ok(rescoped.body.methods.includes('password'));
      assert.deepEqual(roleNames(rescoped.body), ['member', 'reader']);
      assert.ok(await tokenWorks(url, rescoped.token));
      // Rescoping again keeps the original audit id at the end of the chain.
      const again = await mustIssue(url, { auth: { identity: { methods: ['token'], token: { id: rescoped.token } }, scope: 'unscoped' } });
      assert.equal(again.body.audit_ids[1], first.body.audit_ids[0]);
      assert.equal(again.body.expires_at, first.body.expires_at);
      // Scoping to a project without a role fails, whatever the method.
      assertKeystoneError(await issue(url, { auth: { identity: { methods: ['token'], token: { id: first.token } }, scope: { project: { id: ids.adminProject } } } }), 401);
    });
  });

  describe('application credentials', () => {
    const appCredAuth = (credential: Json) => ({ auth: { identity: { methods: ['application_credential'], application_credential: credential } } });
    let owner: Person;
    let ownerToken: string;

    before(async () => {
      owner = await person('appcred');
      await ia.grant('projects', owner.projectId, 'users', owner.id, ids.admin);
      ownerToken = await projectToken(owner);
    });

    const create = async (attrs: Json, token = ownerToken) => {
      const res = await api(url, 'POST', `${V3}/users/${owner.id}/application_credentials`, token, { application_credential: attrs });
      return res;
    };

    it('authenticates by id, by name and user id, by name and user name; pinned to its project', async () => {
      const name = unique('cred');
      const res = await create({ name, description: 'for tests' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const cred = res.json.application_credential as Json;
      assert.equal(typeof cred.secret, 'string');
      assert.equal(cred.project_id, owner.projectId);
      assert.deepEqual((cred.roles as Json[]).map((r) => r.name).sort(), ['admin', 'member', 'reader']);
      const refs: Json[] = [
        { id: cred.id, secret: cred.secret },
        { name, user: { id: owner.id }, secret: cred.secret },
        { name, user: { name: owner.name, domain: { id: 'default' } }, secret: cred.secret },
        { name, user: { name: owner.name, domain: { name: 'Default' } }, secret: cred.secret },
      ];
      for (const ref of refs) {
        const { token, body } = await mustIssue(url, appCredAuth(ref));
        assert.deepEqual(body.methods, ['application_credential']);
        assert.equal(body.project.id, owner.projectId);
        assert.equal(body.application_credential.id, cred.id);
        assert.equal(body.user.id, owner.id);
        assert.ok(await tokenWorks(url, token));
      }
      assertKeystoneError(await issue(url, appCredAuth({ id: cred.id, secret: 'wrong' })), 401);
      assertKeystoneError(await issue(url, appCredAuth({ name, user: { id: ids.adminUser }, secret: cred.secret })), 401);
      // An application credential cannot be scoped elsewhere.
      const elsewhere = { ...appCredAuth({ id: cred.id, secret: cred.secret }), };
      (elsewhere.auth as Json).scope = { project: { id: ids.adminProject } };
      assertKeystoneError(await issue(url, elsewhere), 401);
    });

    it('restricted roles: the token carries only the roles of the credential (and what they imply)', async () => {
      const reader = await create({ name: unique('reader-cred'), roles: [{ name: 'reader' }] });
      assert.equal(reader.status, 201, JSON.stringify(reader.body));
      const readerToken = await mustIssue(url, appCredAuth({ id: reader.json.application_credential.id, secret: reader.json.application_credential.secret }));
      assert.deepEqual(roleNames(readerToken.body), ['reader']);
      assertKeystoneError(await api(url, 'POST', `${V3}/projects`, readerToken.token, { project: { name: unique('nope') } }), 403);

      const member = await create({ name: unique('member-cred'), roles: [{ id: ids.member }] });
      assert.equal(member.status, 201, JSON.stringify(member.body));
      const memberToken = await mustIssue(url, appCredAuth({ id: member.json.application_credential.id, secret: member.json.application_credential.secret }));
      assert.deepEqual(roleNames(memberToken.body), ['member', 'reader']);

      // Roles the user does not hold on the project cannot be delegated.
      const plain = await person('appcred-plain');
      const plainToken = await projectToken(plain);
      const refused = await api(url, 'POST', `${V3}/users/${plain.id}/application_credentials`, plainToken, {
        application_credential: { name: unique('too-much'), roles: [{ name: 'admin' }] },
      });
      assertKeystoneError(refused, 403);
    });

    it('an application credential token cannot create or delete application credentials', async () => {
      const res = await create({ name: unique('parent-cred') });
      const cred = res.json.application_credential as Json;
      const { token } = await mustIssue(url, appCredAuth({ id: cred.id, secret: cred.secret }));
      assertKeystoneError(await create({ name: unique('child-cred') }, token), 403);
      assertKeystoneError(await api(url, 'DELETE', `${V3}/users/${owner.id}/application_credentials/${cred.id}`, token), 403);
      // Nor can it be rescoped into a token without that restriction.
      const rescope = await issue(url, { auth: { identity: { methods: ['token'], token: { id: token } } } });
      assert.ok([401, 403].includes(rescope.status), `rescoping an application credential token: ${rescope.status}`);
      assertKeystoneError(rescope, rescope.status);
    });

    it('expiry: a credential past its expiry is refused, and its tokens die with it', async () => {
      const past = await create({ name: unique('past'), expires_at: '2000-01-01T00:00:00Z' });
      assertKeystoneError(past, 400);
      const expiresAt = Date.now() + 2500;
      const res = await create({ name: unique('short'), expires_at: new Date(expiresAt).toISOString() });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const cred = res.json.application_credential as Json;
      const { token, body } = await mustIssue(url, appCredAuth({ id: cred.id, secret: cred.secret }));
      assert.ok(Date.parse(body.expires_at) <= expiresAt + 1, 'the token does not outlive the credential');
      assert.ok(await tokenWorks(url, token));
      await sleep(Math.max(0, expiresAt - Date.now()) + 150);
      assertKeystoneError(await issue(url, appCredAuth({ id: cred.id, secret: cred.secret })), 401);
      assert.equal(await tokenWorks(url, token), false);
    });

    it('deleting the credential revokes its tokens', async () => {
      const res = await create({ name: unique('deleted') });
      const cred = res.json.application_credential as Json;
      const { token } = await mustIssue(url, appCredAuth({ id: cred.id, secret: cred.secret }));
      assert.ok(await tokenWorks(url, token));
      const del = await api(url, 'DELETE', `${V3}/users/${owner.id}/application_credentials/${cred.id}`, ownerToken);
      assert.equal(del.status, 204);
      assert.equal(await tokenWorks(url, token), false);
      assertKeystoneError(await issue(url, appCredAuth({ id: cred.id, secret: cred.secret })), 401);
    });
  });

  describe('revocation', () => {
    it('DELETE /v3/auth/tokens revokes that token only', async () => {
      const p = await person('revoke');
      const doomed = await projectToken(p);
      const survivor = await projectToken(p);
      const res = await api(url, 'DELETE', `${V3}/auth/tokens`, admin, undefined, { 'x-subject-token': doomed });
      assert.equal(res.status, 204);
      assert.equal(await tokenWorks(url, doomed), false);
      assertKeystoneError(await validate(url, admin, doomed), 404, /^Could not find token/);
      const head = await api(url, 'HEAD', `${V3}/auth/tokens`, admin, undefined, { 'x-subject-token': doomed });
      assertKeystoneError(head, 404, undefined, 'HEAD', 'HEAD');
      assertKeystoneError(await api(url, 'DELETE', `${V3}/auth/tokens`, admin, undefined, { 'x-subject-token': doomed }), 404);
      assert.ok(await tokenWorks(url, survivor), 'other tokens of the user still work');
      // A user may revoke their own token.
      assert.equal((await api(url, 'DELETE', `${V3}/auth/tokens`, survivor, undefined, { 'x-subject-token': survivor })).status, 204);
      assert.equal(await tokenWorks(url, survivor), false);
      // A revoked token cannot be rescoped (Keystone: TokenNotFound, 404).
      assertKeystoneError(await issue(url, { auth: { identity: { methods: ['token'], token: { id: doomed } } } }), 404);
    });

    it('disabling a user revokes their tokens, for good', async () => {
      const p = await person('disabled');
      const token = await projectToken(p);
      await ia.call('PATCH', `/users/${p.id}`, { user: { enabled: false } });
      assert.equal(await tokenWorks(url, token), false);
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password)), 401);
      await ia.call('PATCH', `/users/${p.id}`, { user: { enabled: true } });
      assert.equal(await tokenWorks(url, token), false, 're-enabling does not bring old tokens back');
      assert.ok(await tokenWorks(url, await projectToken(p)), 'new tokens work');
    });

    it('changing the password (by an admin, or by the user) revokes the tokens', async () => {
      const p = await person('password');
      const before = await projectToken(p);
      await ia.call('PATCH', `/users/${p.id}`, { user: { password: 'second-secret' } });
      assert.equal(await tokenWorks(url, before), false);
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password)), 401);
      const second = (await mustIssue(url, passwordAuth({ id: p.id }, 'second-secret', { project: { id: p.projectId } }))).token;
      assert.ok(await tokenWorks(url, second));
      const change = await api(url, 'POST', `${V3}/users/${p.id}/password`, undefined, { user: { original_password: 'second-secret', password: 'third-secret' } });
      assert.equal(change.status, 204, JSON.stringify(change.body));
      assert.equal(await tokenWorks(url, second), false);
      assertKeystoneError(
        await api(url, 'POST', `${V3}/users/${p.id}/password`, undefined, { user: { original_password: 'second-secret', password: 'x' } }),
        401,
      );
      assert.ok(await tokenWorks(url, (await mustIssue(url, passwordAuth({ id: p.id }, 'third-secret'))).token));
    });

    it('deleting a user revokes their tokens', async () => {
      const p = await person('deleted');
      const token = await projectToken(p);
      await ia.call('DELETE', `/users/${p.id}`, undefined, 204);
      assert.equal(await tokenWorks(url, token), false);
      assertKeystoneError(await validate(url, admin, token), 404);
    });

    it('disabling or deleting a project revokes tokens scoped to it, not the others', async () => {
      const p = await person('project-off');
      const projectScoped = await projectToken(p);
      const unscoped = (await mustIssue(url, passwordAuth({ id: p.id }, p.password))).token;
      await ia.call('PATCH', `/projects/${p.projectId}`, { project: { enabled: false } });
      assert.equal(await tokenWorks(url, projectScoped), false);
      assert.ok(await tokenWorks(url, unscoped));
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } })), 401);
      await ia.call('PATCH', `/projects/${p.projectId}`, { project: { enabled: true } });
      assert.equal(await tokenWorks(url, projectScoped), false, 're-enabling does not bring old tokens back');

      const q = await person('project-gone');
      const doomed = await projectToken(q);
      await ia.call('DELETE', `/projects/${q.projectId}`, undefined, 204);
      assert.equal(await tokenWorks(url, doomed), false);
      assertKeystoneError(await validate(url, admin, doomed), 404);
    });

    it('disabling a domain revokes the tokens of its users and of its projects', async () => {
      const d = await ia.domain(unique('domain-off'));
      const inside = await person('domain-user', { domainId: d.id });
      const insideToken = await projectToken(inside);
      // A user of the default domain with a role on a project of the domain.
      const outside = await person('domain-visitor');
      await ia.grant('projects', inside.projectId, 'users', outside.id, ids.member);
      const visitorToken = (await mustIssue(url, passwordAuth({ id: outside.id }, outside.password, { project: { id: inside.projectId } }))).token;
      const visitorHome = await projectToken(outside);
      await ia.call('PATCH', `/domains/${d.id}`, { domain: { enabled: false } });
      assert.equal(await tokenWorks(url, insideToken), false);
      assert.equal(await tokenWorks(url, visitorToken), false);
      assert.ok(await tokenWorks(url, visitorHome), 'tokens elsewhere live on');
      assertKeystoneError(await issue(url, passwordAuth({ id: inside.id }, inside.password)), 401);
    });

    it('removing a role assignment revokes the project token; other projects keep theirs', async () => {
      const p = await person('unassigned');
      const other = await ia.project(unique('other-project'));
      await ia.grant('projects', other.id, 'users', p.id, ids.member);
      const token = await projectToken(p);
      const otherToken = (await mustIssue(url, passwordAuth({ id: p.id }, p.password, { project: { id: other.id } }))).token;
      await ia.revoke('projects', p.projectId, 'users', p.id, ids.member);
      assert.equal(await tokenWorks(url, token), false);
      assertKeystoneError(await validate(url, admin, token), 404);
      assert.ok(await tokenWorks(url, otherToken));
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } })), 401);
      // Granted again, new tokens work; the revoked one stays revoked.
      await ia.grant('projects', p.projectId, 'users', p.id, ids.member);
      assert.ok(await tokenWorks(url, await projectToken(p)));
      assert.equal(await tokenWorks(url, token), false);
    });
  });

  describe('roles and assignments', () => {
    it('implied roles: an admin token lists admin, member and reader', async () => {
      const res = await validate(url, admin, admin);
      assert.deepEqual(roleNames(res.json.token), ['admin', 'member', 'reader']);
    });

    it('a custom implication applies at once, and stops applying when removed', async () => {
      const p = await person('implies', { role: false });
      const prior = await ia.role(unique('prior'));
      const implied = await ia.role(unique('implied'));
      await ia.grant('projects', p.projectId, 'users', p.id, prior.id);
      await ia.call('PUT', `/roles/${prior.id}/implies/${implied.id}`, undefined, 201);
      const token = await projectToken(p);
      assert.deepEqual(roleNames((await validate(url, admin, token)).json.token), [implied.name, prior.name].sort());
      await ia.call('DELETE', `/roles/${prior.id}/implies/${implied.id}`, undefined, 204);
      assert.deepEqual(roleNames((await validate(url, admin, token)).json.token), [prior.name]);
    });

    it('a group assignment gives its members the role; leaving the group takes it away', async () => {
      const p = await person('grouped', { role: false });
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } })), 401);
      const group = await ia.group(unique('group'));
      await ia.grant('projects', p.projectId, 'groups', group.id, ids.member);
      await ia.call('PUT', `/groups/${group.id}/users/${p.id}`, undefined, 204);
      const { token, body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } }));
      assert.deepEqual(roleNames(body), ['member', 'reader']);
      const effective = await ia.call('GET', `/role_assignments?effective&user.id=${p.id}`);
      const onProject = (effective.json.role_assignments as Json[]).filter((a) => a.scope.project?.id === p.projectId);
      assert.deepEqual(onProject.map((a) => a.role.id).sort(), [ids.member, ids.reader].sort());
      assert.ok(onProject.every((a) => a.user?.id === p.id && a.group === undefined), 'effective assignments are per user');
      await ia.call('DELETE', `/groups/${group.id}/users/${p.id}`, undefined, 204);
      assert.equal(await tokenWorks(url, token), false);
    });

    it('an inherited domain assignment gives the role on every project of the domain, not on the domain', async () => {
      const d = await ia.domain(unique('inherit-domain'));
      const p = await person('inheritor', { role: false });
      const first = await ia.project(unique('inherited-1'), { domain_id: d.id });
      await ia.call('PUT', `/OS-INHERIT/domains/${d.id}/users/${p.id}/roles/${ids.member}/inherited_to_projects`, undefined, 204);
      const check = await api(url, 'HEAD', `${V3}/OS-INHERIT/domains/${d.id}/users/${p.id}/roles/${ids.member}/inherited_to_projects`, admin);
      assert.equal(check.status, 204);
      const second = await ia.project(unique('inherited-2'), { domain_id: d.id });
      for (const project of [first, second]) {
        const { body } = await mustIssue(url, passwordAuth({ id: p.id }, p.password, { project: { id: project.id } }));
        assert.deepEqual(roleNames(body), ['member', 'reader'], project.name);
      }
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { domain: { id: d.id } })), 401, undefined, 'domain scope');
      // Projects elsewhere are not covered.
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { project: { id: p.projectId } })), 401, undefined, 'other domain');

      // The assignment as stored...
      const direct = await ia.call('GET', `/role_assignments?user.id=${p.id}`);
      assert.equal(direct.json.role_assignments.length, 1);
      const stored = direct.json.role_assignments[0] as Json;
      assert.deepEqual(stored.scope, { domain: { id: d.id }, 'OS-INHERIT:inherited_to': 'projects' });
      assert.equal(stored.role.id, ids.member);
      assert.equal(stored.links.assignment, `${url}${V3}/OS-INHERIT/domains/${d.id}/users/${p.id}/roles/${ids.member}/inherited_to_projects`);

      // ...and in effect, with names: each project of the domain, member and the reader it implies.
      const effective = await ia.call('GET', `/role_assignments?effective&include_names&user.id=${p.id}`);
      const entries = effective.json.role_assignments as Json[];
      const seen = entries.map((a) => `${a.scope.project?.name}:${a.role.name}`).sort();
      assert.deepEqual(seen, [`${first.name}:member`, `${first.name}:reader`, `${second.name}:member`, `${second.name}:reader`].sort());
      for (const a of entries) {
        assert.deepEqual(a.user, { id: p.id, name: p.name, domain: { id: 'default', name: 'Default' } });
        assert.deepEqual(a.scope.project.domain, { id: d.id, name: d.name });
        assert.equal(a.scope['OS-INHERIT:inherited_to'], undefined);
      }

      await ia.call('DELETE', `/OS-INHERIT/domains/${d.id}/users/${p.id}/roles/${ids.member}/inherited_to_projects`, undefined, 204);
      assertKeystoneError(await issue(url, passwordAuth({ id: p.id }, p.password, { project: { id: first.id } })), 401);
    });

    it('GET /v3/role_assignments?effective&include_names shows the bootstrap admin with names', async () => {
      const res = await ia.call('GET', `/role_assignments?effective&include_names&user.id=${ids.adminUser}&scope.project.id=${ids.adminProject}`);
      const entries = res.json.role_assignments as Json[];
      assert.deepEqual(entries.map((a) => a.role.name).sort(), ['admin', 'member', 'reader']);
      for (const a of entries) {
        assert.deepEqual(a.user, { id: ids.adminUser, name: 'admin', domain: { id: 'default', name: 'Default' } });
        assert.deepEqual(a.scope.project, { id: ids.adminProject, name: 'admin', domain: { id: 'default', name: 'Default' } });
        assert.equal(typeof a.links.assignment, 'string');
      }
      const system = await ia.call('GET', `/role_assignments?user.id=${ids.adminUser}&scope.system=all`);
      assert.deepEqual((system.json.role_assignments as Json[]).map((a) => a.scope), [{ system: { all: true } }]);
    });
  });
});

describe('Identity token expiry', () => {
  let tc: TestCloud;
  before(async () => {
    tc = await startTestCloud({ env: { KUMO_TOKEN_EXPIRATION: '2' } });
  });
  after(async () => {
    await tc?.stop();
  });

  it('an expired token is refused; allow_expired=true lets the subject token through', async () => {
    const url = tc.url;
    const { token, body } = await mustIssue(url, ADMIN);
    const lifetime = Date.parse(body.expires_at) - Date.parse(body.issued_at);
    assert.ok(Math.abs(lifetime - 2000) < 50, `lifetime ${lifetime} ms`);
    const unscoped = await mustIssue(url, passwordAuth({ name: 'admin', domain: { id: 'default' } }, ADMIN_PASSWORD, 'unscoped'));
    assert.ok(await tokenWorks(url, token));
    const revokedLater = (await mustIssue(url, ADMIN)).token;
    assert.equal((await api(url, 'DELETE', `${V3}/auth/tokens`, token, undefined, { 'x-subject-token': revokedLater })).status, 204);

    await sleep(Math.max(0, Date.parse(body.expires_at) - Date.now()) + 200);

    assert.equal(await tokenWorks(url, token), false);
    assertKeystoneError(await api(url, 'GET', `${V3}/projects`, token), 401);
    const caller = (await mustIssue(url, ADMIN)).token;
    assertKeystoneError(await validate(url, caller, token), 404, /^Could not find token/);
    const allowed = await validate(url, caller, token, '?allow_expired=true');
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.json.token.expires_at, body.expires_at);
    assert.equal(allowed.json.token.project.id, body.project.id);
    const head = await api(url, 'HEAD', `${V3}/auth/tokens?allow_expired=1`, caller, undefined, { 'x-subject-token': token });
    assert.equal(head.status, 200);
    // allow_expired does not resurrect revoked tokens, and never applies to the caller's own token.
    assertKeystoneError(await validate(url, caller, revokedLater, '?allow_expired=true'), 404);
    assertKeystoneError(await api(url, 'GET', `${V3}/auth/tokens?allow_expired=true`, token, undefined, { 'x-subject-token': caller }), 401);
    // An expired token cannot be rescoped into a fresh one (Keystone: TokenNotFound, 404).
    assertKeystoneError(
      await issue(url, { auth: { identity: { methods: ['token'], token: { id: unscoped.token } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }),
      404,
    );
  });
});

describe('Fernet key rotation', () => {
  let tc: TestCloud;
  before(async () => {
    tc = await startTestCloud();
  });
  after(async () => {
    await tc?.stop();
  });

  it('keeps old tokens valid, signs new ones with the new primary, and drops tokens of removed keys', async () => {
    const url = tc.url;
    const keys = tc.cloud.identity.keys;
    const first = (await mustIssue(url, ADMIN)).token;
    const firstKey = keys.primaryKey();
    assert.ok(fernetDecrypt([firstKey], first), 'signed with the primary');

    keys.rotate(3);
    const secondKey = keys.primaryKey();
    assert.notDeepEqual(secondKey.signing, firstKey.signing);
    assert.ok(await tokenWorks(url, first), 'a token of the old primary still validates');
    const second = (await mustIssue(url, ADMIN)).token;
    assert.ok(fernetDecrypt([secondKey], second), 'new tokens are signed with the new primary');
    assert.equal(fernetDecrypt([firstKey], second), undefined);

    keys.rotate(3); // the first key is now past the three kept
    assert.equal(await tokenWorks(url, first), false, 'a token of a removed key no longer validates');
    assertKeystoneError(await validate(url, second, first), 404);
    assert.ok(await tokenWorks(url, second), 'the previous primary is still accepted');
    const third = (await mustIssue(url, ADMIN)).token;
    assert.ok(fernetDecrypt([keys.primaryKey()], third));
    assert.ok(await tokenWorks(url, third));
  });

  it('picks up a rotation made by another process (kumo identity rotate-keys)', async () => {
    const url = tc.url;
    const keys = tc.cloud.identity.keys;
    const before = (await mustIssue(url, ADMIN)).token;
    const other = new FernetKeyRepository(keys.directory);
    other.setup();
    other.rotate(3);
    await sleep(1100); // processes re-read the key directory at most once a second
    const after = (await mustIssue(url, ADMIN)).token;
    assert.ok(fernetDecrypt([other.primaryKey()], after), 'new tokens are signed with the primary the other process promoted');
    assert.ok(await tokenWorks(url, before));
    other.rotate(3);
    await sleep(1100);
    assert.ok(await tokenWorks(url, after), 'tokens issued after the first rotation survive the second');
    assert.equal(await tokenWorks(url, before), false, 'tokens of the removed key do not');
  });
});
