import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../../src/core/db/database.js';
import { migrateToLatest } from '../../../src/core/db/migrations.js';
import { newHexId } from '../../../src/core/ids.js';
import { identityMigrations } from '../../../src/services/identity/migrations.js';
import type { Project, Role, User } from '../../../src/services/identity/model.js';
import { IdentityStores } from '../../../src/services/identity/store/index.js';
import { DATABASES } from '../../helpers/databases.js';

const project = (name: string, domainId = 'd1', extra: Partial<Project> = {}): Project => ({
  id: newHexId(),
  name,
  domainId,
  parentId: null,
  description: '',
  enabled: true,
  tags: [],
  extra: {},
  ...extra,
});

const user = (name: string, domainId = 'd1'): User => ({
  id: newHexId(),
  name,
  domainId,
  enabled: true,
  passwordHash: 'hash',
  passwordExpiresAt: null,
  defaultProjectId: null,
  description: '',
  extra: { email: `${name}@example.org` },
  options: {},
});

const role = (name: string, domainId: string | null = null): Role => ({
  id: newHexId(),
  name,
  domainId,
  description: '',
  options: {},
  extra: {},
});

// One suite, every engine: the same SQL must behave the same on SQLite and PostgreSQL.
for (const engine of DATABASES) {
  describe(`identity store on ${engine.name}`, { skip: engine.skip }, () => {
    let database: Database;
    let stores: IdentityStores;
    let dispose: () => Promise<void>;

    before(async () => {
      const opened = await engine.open();
      database = opened.database;
      dispose = opened.dispose;
      const applied = await migrateToLatest(database, [identityMigrations]);
      assert.deepEqual(applied, Object.keys(identityMigrations).sort());
      stores = new IdentityStores(database);
      await stores.resources.createDomain({ id: 'd1', name: 'D1', description: '', enabled: true, extra: {} });
    });

    after(async () => {
      await dispose();
    });

    it('runs migrations once', async () => {
      assert.deepEqual(await migrateToLatest(database, [identityMigrations]), []);
    });

    it('refuses a migration name used twice', async () => {
      await assert.rejects(migrateToLatest(database, [identityMigrations, identityMigrations]), /defined twice/);
    });

    it('stores projects with tags and finds them by id, name and filters', async () => {
      const p = project('alpha', 'd1', { tags: ['a', 'b'], extra: { color: 'blue' } });
      await stores.resources.createProject(p);
      assert.deepEqual(await stores.resources.getProject(p.id), p);
      assert.deepEqual(await stores.resources.getProjectByName('d1', 'alpha'), p);
      assert.equal(await stores.resources.getProjectByName('d1', 'ALPHA-missing'), undefined);
      const child = project('alpha-child', 'd1', { parentId: p.id });
      await stores.resources.createProject(child);
      assert.deepEqual((await stores.resources.listProjects({ parentId: p.id })).map((x) => x.id), [child.id]);
      assert.equal(await stores.resources.countChildren(p.id), 1);
      await stores.resources.updateProject({ ...p, enabled: false, tags: ['c'] });
      const updated = await stores.resources.getProject(p.id);
      assert.equal(updated?.enabled, false);
      assert.deepEqual(updated?.tags, ['c']);
      assert.deepEqual((await stores.resources.listProjects({ enabled: false })).map((x) => x.id), [p.id]);
      assert.deepEqual(await stores.resources.listProjects({ ids: [] }), []);
    });

    it('rejects a duplicate project name in one domain as a unique violation', async () => {
      await stores.resources.createProject(project('dup'));
      await assert.rejects(stores.resources.createProject(project('dup')), (error: unknown) => database.isUniqueViolation(error));
      await stores.resources.createDomain({ id: 'd2', name: 'D2', description: '', enabled: true, extra: {} });
      await stores.resources.createProject(project('dup', 'd2'));
    });

    it('stores users and group membership', async () => {
      const u = user('ursula');
      await stores.users.createUser(u);
      assert.deepEqual(await stores.users.getUser(u.id), u);
      await assert.rejects(stores.users.createUser({ ...user('ursula'), id: newHexId() }), (e: unknown) => database.isUniqueViolation(e));
      await stores.users.createGroup({ id: 'g1', name: 'G1', domainId: 'd1', description: '', extra: {} });
      await stores.users.addMember('g1', u.id);
      await stores.users.addMember('g1', u.id);
      assert.deepEqual(await stores.users.groupIdsOfUser(u.id), ['g1']);
      assert.equal(await stores.users.isMember('g1', u.id), true);
      assert.equal(await stores.users.removeMember('g1', u.id), true);
      assert.equal(await stores.users.removeMember('g1', u.id), false);
      await stores.users.updateUser({ ...u, enabled: false, passwordHash: 'other' }, true);
      assert.equal((await stores.users.getUser(u.id))?.passwordHash, 'other');
      await stores.users.deleteUser(u.id);
      assert.equal(await stores.users.getUser(u.id), undefined);
    });

    it('keeps global and domain roles apart and lists assignments by actor and target', async () => {
      const global = role('operator');
      const scoped = role('operator', 'd1');
      await stores.assignments.createRole(global);
      await stores.assignments.createRole(scoped);
      await assert.rejects(stores.assignments.createRole(role('operator')), (e: unknown) => database.isUniqueViolation(e));
      assert.equal((await stores.assignments.getRoleByName('operator'))?.id, global.id);
      assert.equal((await stores.assignments.getRoleByName('operator', 'd1'))?.id, scoped.id);

      const grant = { actorType: 'user', actorId: 'u1', targetType: 'project', targetId: 'p1', roleId: global.id, inherited: false } as const;
      await stores.assignments.grant(grant);
      await stores.assignments.grant(grant);
      await stores.assignments.grant({ ...grant, targetType: 'system', targetId: 'system' });
      await stores.assignments.grant({ ...grant, actorType: 'group', actorId: 'g9', inherited: true, targetType: 'domain', targetId: 'd1' });
      assert.equal((await stores.assignments.list({ actorIds: ['u1'] })).length, 2);
      assert.equal((await stores.assignments.list({ targetType: 'system' })).length, 1);
      assert.deepEqual(
        (await stores.assignments.list({ actorType: 'group', inherited: true })).map((a) => [a.actorId, a.targetType, a.targetId]),
        [['g9', 'domain', 'd1']],
      );
      assert.equal(await stores.assignments.revoke(grant), true);
      assert.equal(await stores.assignments.revoke(grant), false);

      await stores.assignments.addImpliedRole(global.id, scoped.id);
      assert.equal(await stores.assignments.hasImpliedRole(global.id, scoped.id), true);
      await stores.assignments.deleteRole(scoped.id);
      assert.equal(await stores.assignments.hasImpliedRole(global.id, scoped.id), false);
    });

    it('stores the catalog and deletes a service with its endpoints', async () => {
      await stores.catalog.createRegion({ id: 'R1', description: 'r', parentRegionId: null, extra: {} });
      await stores.catalog.createService({ id: 's1', type: 'compute', name: 'nova', description: '', enabled: true, extra: {} });
      await stores.catalog.createEndpoint({
        id: 'e1',
        serviceId: 's1',
        interface: 'public',
        regionId: 'R1',
        url: 'http://127.0.0.1/compute',
        enabled: true,
        extra: {},
      });
      assert.equal((await stores.catalog.listEndpoints({ serviceId: 's1', interface: 'public' })).length, 1);
      await stores.catalog.deleteService('s1');
      assert.equal(await stores.catalog.getEndpoint('e1'), undefined);
    });

    it('keeps revocation events and prunes old ones', async () => {
      const now = Date.now();
      await stores.credentials.addRevocationEvent({
        id: 'old',
        userId: 'u1',
        projectId: null,
        domainId: null,
        auditId: null,
        issuedBefore: now - 10_000,
        revokedAt: now - 10_000,
      });
      await stores.credentials.addRevocationEvent({
        id: 'new',
        userId: null,
        projectId: null,
        domainId: null,
        auditId: 'abc',
        issuedBefore: now,
        revokedAt: now,
      });
      assert.deepEqual((await stores.credentials.listRevocationEvents(now - 60_000)).map((e) => e.id).sort(), ['new', 'old']);
      await stores.credentials.pruneRevocationEvents(now - 5_000);
      const left = await stores.credentials.listRevocationEvents(0);
      assert.deepEqual(left.map((e) => e.id), ['new']);
      assert.equal(left[0]?.issuedBefore, now);
    });

    it('stores application credentials with their roles', async () => {
      await stores.credentials.createApplicationCredential({
        id: 'ac1',
        name: 'ci',
        userId: 'u1',
        projectId: 'p1',
        secretHash: 'h',
        description: '',
        expiresAt: null,
        unrestricted: false,
        roleIds: ['r1', 'r2'],
        accessRuleIds: [],
      });
      assert.deepEqual((await stores.credentials.getApplicationCredentialByName('u1', 'ci'))?.roleIds, ['r1', 'r2']);
      assert.equal((await stores.credentials.listApplicationCredentials('u1')).length, 1);
      await stores.credentials.deleteApplicationCredential('ac1');
      assert.equal(await stores.credentials.getApplicationCredential('ac1'), undefined);
    });

    it('serialises concurrent creates of one name: exactly one wins', async () => {
      const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => stores.resources.createProject(project('race'))));
      assert.equal(attempts.filter((a) => a.status === 'fulfilled').length, 1);
      for (const failed of attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected')) {
        assert.ok(database.isUniqueViolation(failed.reason));
      }
    });
  });
}
