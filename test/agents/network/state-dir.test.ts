// Kumo runs with umask 0077, yet dnsmasq drops to nobody and must walk down to its files in
// the dataplane's state directory: the directories Kumo makes there are 0755 all the same.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LinuxBridgeDataplane } from '../../../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import { createLogger } from '../../../src/core/log.js';

describe('the dataplane state directory under a private umask', () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-statedir-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('is made reachable by others, with the parents it made, and leaves existing ones alone', () => {
    const stateDir = join(root, 'run', 'kumo', 'abc123');
    const previous = process.umask(0o077);
    try {
      new LinuxBridgeDataplane({ cloudId: 'abc123', physicalInterfaceMappings: {}, stateDir }, createLogger('silent'));
    } finally {
      process.umask(previous);
    }
    for (const dir of [join(root, 'run'), join(root, 'run', 'kumo'), stateDir]) {
      assert.equal((statSync(dir).mode & 0o777).toString(8), '755', dir);
    }
    assert.equal((statSync(root).mode & 0o777).toString(8), '700', 'mkdtemp made it 0700; it stays so');
  });
});
