// Console auth tokens on both engines: only the hash is stored, a token opens what it was
// issued for until it expires, and issuing sweeps expired ones out.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { Database } from '../../../src/core/db/database.js';
import { migrateToLatest } from '../../../src/core/db/migrations.js';
import { ConsoleAuthTokens } from '../../../src/services/compute/console-tokens.js';
import { computeMigrations } from '../../../src/services/compute/migrations.js';
import type { ComputeTables } from '../../../src/services/compute/tables.js';
import { DATABASES } from '../../helpers/databases.js';

for (const engine of DATABASES) {
  describe(`console auth tokens on ${engine.name}`, { skip: engine.skip }, () => {
    let opened: { database: Database; dispose(): Promise<void> };
    let db: Kysely<ComputeTables>;
    let tokens: ConsoleAuthTokens;
    const grant = { instanceId: '6f1c2a3e-0000-4000-8000-000000000001', consoleType: 'novnc', endpoint: { unixSocket: '/run/kumo/i-1/vnc.sock' }, computeHost: 'host-a' };

    before(async () => {
      opened = await engine.open();
      await migrateToLatest(opened.database, [computeMigrations]);
      db = opened.database.tables<ComputeTables>();
      tokens = new ConsoleAuthTokens(db);
    });
    after(async () => opened?.dispose());

    it('keeps only the hash and gives back what the token was issued for', async () => {
      const token = await tokens.issue(grant, 600);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      const rows = await db.selectFrom('compute_console_auth_token').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.token_hash, createHash('sha256').update(token).digest('hex'));
      assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is not stored');
      const found = await tokens.check(token);
      assert.deepEqual({ ...found, expiresAt: undefined }, { ...grant, expiresAt: undefined });
      const ttl = Date.parse(found?.expiresAt ?? '') - Date.now();
      assert.ok(ttl > 590_000 && ttl <= 600_000, `expires in ${ttl} ms`);

      const tcp = await tokens.issue({ ...grant, endpoint: { host: '127.0.0.1', port: 5901 } }, 600);
      assert.deepEqual((await tokens.check(tcp))?.endpoint, { host: '127.0.0.1', port: 5901 });
    });

    it('refuses malformed, unknown, expired and revoked tokens', async () => {
      assert.equal(await tokens.check(''), undefined);
      assert.equal(await tokens.check("' OR 1=1 --"), undefined);
      assert.equal(await tokens.check('A'.repeat(43)), undefined);
      const token = await tokens.issue(grant, 60);
      assert.ok(await tokens.check(token));
      assert.equal(await tokens.check(token, new Date(Date.now() + 61_000)), undefined, 'expired');
      await tokens.revoke(token);
      assert.equal(await tokens.check(token), undefined, 'revoked');
    });

    it('sweeps expired tokens when issuing', async () => {
      const old = await tokens.issue(grant, 600, new Date(Date.now() - 3_600_000));
      const hash = createHash('sha256').update(old).digest('hex');
      assert.ok(await db.selectFrom('compute_console_auth_token').select('token_hash').where('token_hash', '=', hash).executeTakeFirst());
      await tokens.issue(grant, 600);
      assert.equal(await db.selectFrom('compute_console_auth_token').select('token_hash').where('token_hash', '=', hash).executeTakeFirst(), undefined);
    });
  });
}
