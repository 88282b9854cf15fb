// How a fresh database gets its first-start accounts: once, whichever process gets there first,
// and never on a database an older version already started.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MIGRATIONS } from '../../../src/cloud.js';
import { loadConfig } from '../../../src/core/config.js';
import { openDatabase, type Database } from '../../../src/core/db/database.js';
import { migrateToLatest } from '../../../src/core/db/migrations.js';
import { createLogger } from '../../../src/core/log.js';
import { Enforcer } from '../../../src/core/policy/index.js';
import { authenticate } from '../../../src/services/identity/auth.js';
import { bootstrapIdentity, prepareFirstStart } from '../../../src/services/identity/bootstrap.js';
import { IdentityService } from '../../../src/services/identity/service.js';
import { DATABASES } from '../../helpers/databases.js';

for (const engine of DATABASES) {
  describe(`first-start seeding on ${engine.name}`, { skip: engine.skip }, () => {
    const log = createLogger('silent');
    let dataDir: string;
    before(() => {
      dataDir = mkdtempSync(join(tmpdir(), 'kumo-seed-'));
    });
    after(() => rmSync(dataDir, { recursive: true, force: true }));

    const identityOn = (database: Database) =>
      new IdentityService(loadConfig({ dataDir, identity: { passwordHashRounds: 4 } }, {}), database, new Enforcer({}), undefined, log).context;

    it('two processes starting on one fresh database seed it once', async () => {
      const opened = await engine.open();
      // PostgreSQL: a second handle is a second process's connection pool. SQLite: one handle,
      // whose one connection serialises the two (two handles in one process would block each other).
      const other = opened.schema !== undefined ? await openDatabase(opened.url, { schema: opened.schema }) : opened.database;
      try {
        await migrateToLatest(opened.database, MIGRATIONS);
        const [a, b] = await Promise.all([bootstrapIdentity(identityOn(opened.database), [], {}), bootstrapIdentity(identityOn(other), [], {})]);
        const seeded = [a, b].filter((r) => Object.keys(r.created).length > 0);
        assert.equal(seeded.length, 1, `one of them seeded: ${JSON.stringify([a, b])}`);
        assert.deepEqual(Object.keys(seeded[0]!.created).sort(), ['adminPassword', 'demoPassword', 'novaPassword']);
        const users = await identityOn(opened.database).stores.users.listUsers({ domainId: 'default' });
        assert.deepEqual(users.map((u) => u.name), ['admin', 'demo', 'nova']);
      } finally {
        if (other !== opened.database) await other.close();
        await opened.dispose();
      }
    });

    it('a database an older version started counts as seeded', async () => {
      const opened = await engine.open();
      try {
        const older = MIGRATIONS.map((set) => Object.fromEntries(Object.entries(set).filter(([name]) => name !== 'identity-0004-bootstrap-marker')));
        await migrateToLatest(opened.database, older);
        const ctx = identityOn(opened.database);
        // What an older start left: the default domain and its operator's own admin (bootstrap's users deleted).
        await ctx.stores.resources.createDomain({ id: 'default', name: 'Default', description: '', enabled: true, extra: {} });
        assert.deepEqual(await migrateToLatest(opened.database, MIGRATIONS), ['identity-0004-bootstrap-marker']);
        const result = await bootstrapIdentity(ctx, [], {});
        assert.deepEqual(result.created, {});
        assert.deepEqual(await ctx.stores.users.listUsers(), [], 'no account was made');
      } finally {
        await opened.dispose();
      }
    });

    it('a fresh database is seeded even when its migrations ran before (a start that failed later)', async () => {
      const opened = await engine.open();
      try {
        await migrateToLatest(opened.database, MIGRATIONS);
        const ctx = identityOn(opened.database);
        assert.deepEqual(Object.keys((await bootstrapIdentity(ctx, [], { adminPassword: 'a-secret' })).created).sort(), ['adminPassword', 'demoPassword', 'novaPassword']);
        const admin = await ctx.stores.users.getUserByName('default', 'admin');
        assert.ok(admin && (await ctx.hasher.verify('a-secret', admin.passwordHash)), 'the wanted password');
      } finally {
        await opened.dispose();
      }
    });

    it('a login that comes before the first-start accounts exist waits for them instead of failing', async () => {
      const opened = await engine.open();
      try {
        await migrateToLatest(opened.database, MIGRATIONS);
        const service = new IdentityService(loadConfig({ dataDir, identity: { passwordHashRounds: 4 } }, {}), opened.database, new Enforcer({}), undefined, log);
        await service.start(); // its Fernet keys, to issue the token
        const ctx = service.context;
        const firstStart = prepareFirstStart(ctx, { adminPassword: 'early-secret' });
        await firstStart;
        const login = authenticate(ctx, {
          auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'early-secret' } } } },
        });
        let settled = false;
        void login.then(() => (settled = true), () => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(settled, false, 'the login waits while the accounts are being made');
        await bootstrapIdentity(ctx, [], { adminPassword: 'early-secret' }, firstStart);
        const token = await login;
        assert.equal(token.user.name, 'admin');
        assert.equal(ctx.accountsPending, undefined, 'later logins do not wait');
        await assert.rejects(
          authenticate(ctx, { auth: { identity: { methods: ['password'], password: { user: { name: 'nobody', domain: { id: 'default' }, password: 'x' } } } } }),
          (err: Error & { status?: number }) => err.status === 401,
        );
        await service.stop();
      } finally {
        await opened.dispose();
      }
    });
  });
}
