// Data safety across a volume agent restart, with the whole cloud in this process: volumes
// and attachments survive, and a volume whose creation the restart interrupted ends in
// error, never available.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startVolumeAgent, volumeDirOf } from '../../../src/agents/volume/start.js';
import { createLogger } from '../../../src/core/log.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { cinder, waitFor } from '../../services/volume/helpers.js';

describe('volume agent restart', { timeout: 60_000 }, () => {
  let tc: TestCloud;
  let admin: string;

  before(async () => {
    tc = await startTestCloud();
    admin = await tc.token('admin');
  });
  after(async () => {
    await tc?.stop();
  });

  it('keeps volumes and attachments, and puts an interrupted create in error', async () => {
    const url = tc.url;
    const created = await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, name: 'keeper' } });
    const keeper = created.json.volume.id as string;
    await waitFor(url, admin, `/volumes/${keeper}`, 'volume', ['available']);
    const att = await cinder(url, 'POST', '/attachments', admin, { attachment: { volume_uuid: keeper, instance_uuid: '11111111-2222-3333-4444-555555555555', connector: { host: tc.cloud.config.hostName } } }, '3.44');
    await cinder(url, 'POST', `/attachments/${att.json.attachment.id}/action`, admin, { 'os-complete': null }, '3.44');

    // The agent stops; a create is sent while it is down (the message is lost with it, as a
    // crash mid-create would lose the work), then a new agent process starts.
    await tc.cloud.volumeAgent.stop();
    const orphan = await cinder(url, 'POST', '/volumes', admin, { volume: { size: 1, name: 'orphan' } });
    assert.equal(orphan.status, 202);
    const orphanId = orphan.json.volume.id as string;
    assert.equal((await cinder(url, 'GET', `/volumes/${orphanId}`, admin)).json.volume.status, 'creating');
    const agent = await startVolumeAgent(tc.cloud.config, tc.cloud.bus, createLogger('silent'), { reportIntervalMs: 0 });
    try {
      const after = await waitFor(url, admin, `/volumes/${orphanId}`, 'volume', ['available', 'error']);
      assert.equal(after.status, 'error');
      const kept = (await cinder(url, 'GET', `/volumes/${keeper}`, admin)).json.volume;
      assert.equal(kept.status, 'in-use');
      assert.equal(kept.attachments.length, 1);
      assert.ok(existsSync(`${volumeDirOf(tc.dataDir, 'file')}/volume-${keeper}.qcow2`));
      // The errored volume deletes cleanly.
      assert.equal((await cinder(url, 'DELETE', `/volumes/${orphanId}`, admin)).status, 202);
      await waitFor(url, admin, `/volumes/${orphanId}`, 'volume', ['deleted']);
    } finally {
      await agent.stop();
    }
  });
});
