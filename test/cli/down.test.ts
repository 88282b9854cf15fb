// `kumo down --data-dir DIR` as a user runs it: it stops the `kumo up` running on DIR (found by
// its pid file) with SIGTERM, ends the guests whose pid files are in the cloud's state directory,
// removes that runtime state, and a second run finds nothing to do. A second `kumo up` on a
// directory that has one running is refused. (The guest here is a stand-in process whose command
// line names its QMP socket, as QEMU's does; the dataplane side runs in test/e2e/two-clouds.)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { alive } from '../../src/core/host/daemons.js';
import { pidFileOf } from '../../src/cli/pid-file.js';
import { cleanEnv, KUMO_MAIN, startKumo, type KumoProcess } from '../e2e/helpers/kumo-process.js';

const run = promisify(execFile);

describe('kumo down', { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-down-'));
  const dataDir = join(root, 'data');
  const stateDir = join(root, 'state');
  const env = { KUMO_DATAPLANE_STATE_DIR: stateDir };
  let kumo: KumoProcess | undefined;
  after(() => {
    kumo?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  const kumoCli = (args: string[]) => run(process.execPath, [KUMO_MAIN, ...args], { env: cleanEnv({ KUMO_METADATA_PORT: '0', ...env }), timeout: 90_000 });

  it('refuses a second kumo up on a data directory that has one running', async () => {
    kumo = await startKumo({ dataDir, env });
    assert.ok(existsSync(pidFileOf(dataDir)));
    await assert.rejects(kumoCli(['up', '--data-dir', dataDir, '--port', '0']), (error: { stderr: string }) => {
      assert.match(error.stderr, new RegExp(`a Kumo already runs on ${dataDir} \\(pid ${kumo?.pid}\\)`));
      return true;
    });
  });

  it('stops the running kumo up, ends its guests and removes its runtime state', async () => {
    // A stand-in guest: its command line names its QMP socket, as QEMU's does.
    const guest = join(stateDir, 'qemu', randomUUID());
    mkdirSync(guest, { recursive: true });
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300000)', join(guest, 'qmp.sock')], { stdio: 'ignore', detached: true });
    child.unref();
    writeFileSync(join(guest, 'qemu.pid'), `${child.pid}\n`);
    // Someone else's process with a pid file that does not name its socket is not a guest.
    const stranger = join(stateDir, 'qemu', randomUUID());
    mkdirSync(stranger, { recursive: true });
    writeFileSync(join(stranger, 'qemu.pid'), `${process.pid}\n`);

    const { stdout } = await kumoCli(['down', '--data-dir', dataDir]);
    assert.match(stdout, new RegExp(`stopped:  kumo up, pid ${kumo?.pid}\\n`), stdout);
    assert.match(stdout, /guests:   1 ended/, stdout);
    assert.ok(!alive(kumo?.pid as number), 'kumo up has exited');
    assert.match(kumo?.output() ?? '', /Kumo stopped \(SIGTERM\)/, 'it stopped cleanly');
    assert.ok(!alive(child.pid as number), 'the guest has ended');
    assert.ok(alive(process.pid));
    assert.ok(!existsSync(pidFileOf(dataDir)));
    assert.ok(!existsSync(join(stateDir, 'qemu')), 'the runtime state is gone');
    assert.ok(existsSync(join(dataDir, 'kumo.sqlite')), 'the data directory is kept');
  });

  it('finds nothing to do the second time, and works once the data directory is gone', async () => {
    const { stdout } = await kumoCli(['down', '--data-dir', dataDir]);
    assert.doesNotMatch(stdout, /stopped:/);
    assert.match(stdout, /guests:   none running/);
    rmSync(dataDir, { recursive: true, force: true });
    const gone = await kumoCli(['down', '--data-dir', dataDir]);
    assert.match(gone.stdout, /is down/);
  });
});
