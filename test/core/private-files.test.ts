// The database (password hashes, EC2 secrets) and the other secrets of a cloud's data directory
// are readable by their owner only, whatever the umask, and also after an older version.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../../src/core/db/database.js';
import { startTestCloud } from '../helpers/cloud.js';
import { modeOf, octal, openToOthers } from '../helpers/file-modes.js';

describe('secrets in the data directory are private', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kumo-private-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('the SQLite database and its -wal and -shm files are 0600 whatever the umask', async () => {
    const dir = join(root, 'db');
    const path = join(dir, 'kumo.sqlite');
    const previous = process.umask(0o022);
    try {
      const database = await openDatabase(`sqlite:${path}`);
      await database.tables<{ t: { x: number } }>().schema.createTable('t').addColumn('x', 'integer').execute();
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.ok(existsSync(file), `${file} exists while the database is open`);
        assert.equal(octal(modeOf(file)), '0600', file);
      }
      await database.close();
      // An older version's file (0644) is closed when it is opened again.
      chmodSync(path, 0o644);
      const again = await openDatabase(`sqlite:${path}`);
      assert.equal(octal(modeOf(path)), '0600');
      await again.close();
    } finally {
      process.umask(previous);
    }
  });

  it("a cloud's data directory holds nothing others can read, after a first start and after a later one", async () => {
    const dataDir = join(root, 'cloud');
    let cloud = await startTestCloud({ dataDir });
    try {
      assert.equal(octal(modeOf(dataDir)), '0700');
      for (const name of ['kumo.sqlite', 'kumo.sqlite-wal', 'kumo.sqlite-shm', 'metadata-secret']) {
        assert.equal(octal(modeOf(join(dataDir, name))), '0600', name);
      }
      // This test process keeps the usual umask (0022): the secrets above are private by their own
      // modes. Directories the services make later follow the umask (0077 in `kumo`, which
      // test/cli/kumo-up-accounts.test.ts checks file by file), behind the 0700 directory here.
      assert.deepEqual(
        openToOthers(dataDir).filter((line) => !/\/(images|image-staging)( |\/)/.test(line)),
        [],
      );
    } finally {
      await cloud.stop();
    }
    // As an older version left it.
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'kumo.sqlite'), 0o644);
    cloud = await startTestCloud({ dataDir });
    try {
      assert.equal(octal(modeOf(dataDir)), '0700');
      assert.equal(octal(modeOf(join(dataDir, 'kumo.sqlite'))), '0600');
    } finally {
      await cloud.stop();
    }
  });
});
