// DATA/kumo.pid: `kumo down` finds the running `kumo up` by it, a second `kumo up` on the same
// directory is refused, and a pid the kernel gave to another process is never taken for Kumo.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { claimPidFile, claimStateDir, pidFileOf, runningKumo } from '../../src/cli/pid-file.js';

describe('the kumo up pid file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-pid-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names this process while it holds it, and goes when released', () => {
    assert.equal(runningKumo(dir), undefined);
    const release = claimPidFile(dir);
    assert.equal(runningKumo(dir), process.pid);
    release();
    assert.ok(!existsSync(pidFileOf(dir)));
  });

  it('refuses a second claim while another process holds it', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = other.pid as number;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      writeFileSync(pidFileOf(dir), `${pid}\n${started}\n`);
      assert.equal(runningKumo(dir), pid);
      assert.throws(() => claimPidFile(dir), new RegExp(`a Kumo already runs on .* \\(pid ${pid}\\)`));
    } finally {
      other.kill('SIGKILL');
      await new Promise((resolve) => other.once('exit', resolve));
    }
    assert.equal(runningKumo(dir), undefined, 'an ended process is not running');
  });

  it('does not take a reused pid (another start time) for Kumo', () => {
    writeFileSync(pidFileOf(dir), `${process.pid}\n1\n`);
    assert.equal(runningKumo(dir), undefined);
    const release = claimPidFile(dir);
    assert.equal(runningKumo(dir), process.pid);
    release();
  });

  it("claims the state directory for its cloud and refuses another cloud's", () => {
    const state = join(dir, 'state');
    claimStateDir(state, 'a1a1a1', '/srv/a');
    claimStateDir(state, 'a1a1a1', '/srv/a');
    assert.throws(() => claimStateDir(state, 'b2b2b2', '/srv/b'), /the state directory .* is cloud a1a1a1's, not this data directory's \(\/srv\/b, cloud b2b2b2\): give each cloud its own KUMO_DATAPLANE_STATE_DIR/);
  });
});
