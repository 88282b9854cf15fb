// Where the relay's signing secret and the metadata port come from: KUMO_METADATA_* first, else
// a secret made once in the data directory (0600) that every process on it then shares.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/core/config.js';
import { metadataSecret, SECRET_FILE } from '../../../src/services/metadata/secret.js';

describe('metadata secret and config', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-secret-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('makes a secret once, readable by its owner only, and gives the same one after', () => {
    const dir = join(fresh(), 'not-yet-made');
    const first = metadataSecret(undefined, dir);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir, SECRET_FILE)).mode & 0o777, 0o600);
    assert.equal(metadataSecret(undefined, dir), first);
    assert.equal(metadataSecret('', dir), first, 'an empty setting is no setting');
  });

  it('takes the configured secret and writes nothing', () => {
    const dir = fresh();
    assert.equal(metadataSecret('from-the-environment', dir), 'from-the-environment');
    assert.throws(() => statSync(join(dir, SECRET_FILE)), /ENOENT/);
  });

  it('refuses an empty secret file with a way out', () => {
    const dir = fresh();
    writeFileSync(join(dir, SECRET_FILE), '\n');
    assert.throws(() => metadataSecret(undefined, dir), /is empty: delete it, or set KUMO_METADATA_SECRET/);
  });

  it('reads KUMO_METADATA_HOST, _PORT and _SECRET, with Nova\'s port as the default', () => {
    const defaults = loadConfig({ dataDir: fresh() }, {});
    // Unset, Nova's port, or a free one when another cloud on the host has it.
    assert.deepEqual(defaults.metadata, { host: '127.0.0.1', port: 8775, freePortIfTaken: true });
    const set = loadConfig({ dataDir: fresh() }, { KUMO_METADATA_HOST: '0.0.0.0', KUMO_METADATA_PORT: '9775', KUMO_METADATA_SECRET: 's3cret' });
    assert.deepEqual(set.metadata, { host: '0.0.0.0', port: 9775, freePortIfTaken: false, sharedSecret: 's3cret' });
    assert.equal(loadConfig({ dataDir: fresh(), metadata: { port: 0 } }, { KUMO_METADATA_PORT: '9775' }).metadata.port, 0, 'an override wins');
    assert.throws(() => loadConfig({ dataDir: fresh() }, { KUMO_METADATA_PORT: 'eighty' }), /expected an integer/);
  });
});
