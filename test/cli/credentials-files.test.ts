// What `kumo up` does with the client files: written by the start that created the accounts,
// afterwards only pointed at a changed address, and never printed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { adminClient, clientFilesOnStart, writeClientFiles } from '../../src/cli/credentials-files.js';
import { loadConfig } from '../../src/core/config.js';
import { modeOf, octal } from '../helpers/file-modes.js';

const run = promisify(execFile);

describe('client files', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kumo-client-files-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = (port: number) => loadConfig({ dataDir, port }, {});
  const clouds = () => (parse(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8')) as { clouds: Record<string, { auth: Record<string, string> }> }).clouds;

  it('the creating start writes them 0600 and lists their paths, not their contents', () => {
    const lines = clientFilesOnStart(config(8080), { adminPassword: 'pw-admin', demoPassword: "it's $(odd)" });
    const text = lines.join('\n');
    assert.ok(!text.includes('pw-admin') && !text.includes('odd'), text);
    for (const name of ['clouds.yaml', 'admin-openrc.sh', 'demo-openrc.sh', 'bootstrap-credentials.json']) {
      assert.ok(text.includes(join(dataDir, name)), name);
      assert.equal(octal(modeOf(join(dataDir, name))), '0600', name);
    }
    assert.equal(clouds()['kumo-demo']?.auth.password, "it's $(odd)");
  });

  it('an openrc file gives sh back the password exactly, whatever it holds', async () => {
    const { stdout } = await run('sh', ['-c', `. "$1" && printf %s "$OS_PASSWORD"`, 'sh', join(dataDir, 'demo-openrc.sh')]);
    assert.equal(stdout, "it's $(odd)");
  });

  it('a later start leaves them alone, or only points them at a new address', () => {
    const before = readFileSync(join(dataDir, 'clouds.yaml'), 'utf8');
    assert.ok(!clientFilesOnStart(config(8080), {}).some((l) => l.includes('note:')));
    assert.equal(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8'), before);
    unlinkSync(join(dataDir, 'demo-openrc.sh'));
    const lines = clientFilesOnStart(config(9090), {});
    assert.ok(lines.some((l) => l.includes('now point at http://127.0.0.1:9090/identity')), lines.join('\n'));
    assert.equal(clouds()['kumo-admin']?.auth.auth_url, 'http://127.0.0.1:9090/identity');
    assert.equal(clouds()['kumo-admin']?.auth.password, 'pw-admin', 'the password is kept');
    assert.match(readFileSync(join(dataDir, 'admin-openrc.sh'), 'utf8'), /^export OS_AUTH_URL=http:\/\/127\.0\.0\.1:9090\/identity$/m);
    assert.ok(!lines.join('\n').includes('demo-openrc.sh'), 'a removed file is not written again');
  });

  it('writing one user keeps the clouds of the others', () => {
    writeClientFiles(dataDir, 'http://127.0.0.1:9090/identity', 'RegionOne', [adminClient('new-admin-pw')]);
    assert.equal(clouds()['kumo-admin']?.auth.password, 'new-admin-pw');
    assert.equal(clouds()['kumo-demo']?.auth.password, "it's $(odd)");
  });
});
