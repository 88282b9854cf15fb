// The data directory holds the database (password hashes, EC2 secrets), keys and client files:
// the directory is 0700 and what it holds its owner's alone, also after an older version.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { preparePrivateDataDir } from '../../src/core/data-dir.js';
import { modeOf, octal, openToOthers } from '../helpers/file-modes.js';

describe('the data directory is private', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'kumo-datadir-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a new one is made 0700', () => {
    const dir = join(root, 'new', 'data');
    preparePrivateDataDir(dir);
    assert.equal(octal(modeOf(dir)), '0700');
  });

  it("closes one an older version left open, down to what is directly inside", () => {
    const dir = join(root, 'older');
    mkdirSync(join(dir, 'images'), { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'images'), 0o755);
    for (const name of ['kumo.sqlite', 'kumo.sqlite-wal', 'clouds.yaml', 'admin-openrc.sh']) {
      writeFileSync(join(dir, name), 'x');
      chmodSync(join(dir, name), 0o644);
    }
    preparePrivateDataDir(dir);
    assert.equal(octal(modeOf(dir)), '0700');
    assert.deepEqual(openToOthers(dir), []);
    assert.equal(octal(modeOf(join(dir, 'clouds.yaml'))), '0600');
  });

  it('refuses a shared directory, and changes nothing in it', () => {
    const shared = join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(join(shared, 'someone-elses'), 'x');
    chmodSync(join(shared, 'someone-elses'), 0o644);
    assert.throws(() => preparePrivateDataDir(shared), /is shared with others/);
    assert.equal(octal(modeOf(shared)), '01777');
    assert.equal(octal(modeOf(join(shared, 'someone-elses'))), '0644');
  });
});
