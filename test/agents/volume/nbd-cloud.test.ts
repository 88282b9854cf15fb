// Both volume backends in one cloud (KUMO_VOLUME_BACKENDS=file,nbd), through the Cinder API:
// the scheduler sees host@file and host@nbd, volume types pick one by volume_backend_name, an
// attached nbd volume hands out an NBD connection that a real client (qemu-io, TLS-PSK) reads
// and writes (its key shown to admins only), an in-use nbd volume cannot be extended (Cinder's 400) but a detached one can,
// and the attached volume keeps working across a restart of its volume agent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startVolumeAgent } from '../../../src/agents/volume/start.js';
import type { NbdConnectionData } from '../../../src/contracts/volume.js';
import { createLogger } from '../../../src/core/log.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { cinder, waitFor } from '../../services/volume/helpers.js';

const run = promisify(execFile);
const haveQsd = await run('qemu-storage-daemon', ['--version']).then(() => true, () => false);

/** qemu-io on an NBD connection, as a guest's QEMU would open it. */
async function io(data: NbdConnectionData, commands: string[]): Promise<string> {
  const keys = mkdtempSync(join(tmpdir(), 'kumo-nbd-client-'));
  writeFileSync(join(keys, 'keys.psk'), `${data.tls_psk_identity}:${data.tls_psk_key}\n`, { mode: 0o600 });
  const args = ['--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${keys},username=${data.tls_psk_identity}`, '--image-opts', `driver=raw,file.driver=nbd,file.server.type=inet,file.server.host=${data.host},file.server.port=${data.port},file.export=${data.export_name},file.tls-creds=tls0`];
  for (const c of commands) args.push('-c', c);
  try {
    return (await run('qemu-io', args)).stdout;
  } finally {
    rmSync(keys, { recursive: true, force: true });
  }
}

describe('file and nbd backends in one cloud', { skip: haveQsd ? false : 'needs qemu-storage-daemon', timeout: 120_000 }, () => {
  let tc: TestCloud;
  let admin: string;
  let demo: string;

  before(async () => {
    tc = await startTestCloud({ env: { KUMO_VOLUME_BACKENDS: 'file,nbd' } });
    admin = await tc.token('admin');
    demo = await tc.token('demo');
  });
  after(async () => {
    await tc?.stop();
  });

  it('reports both backends to the scheduler, and types choose one by volume_backend_name', async () => {
    const host = tc.cloud.config.hostName;
    assert.deepEqual(tc.cloud.volumeAgents.map((a) => a.host), [`${host}@file`, `${host}@nbd`]);
    const pools = await cinder(tc.url, 'GET', '/scheduler-stats/get_pools?detail=true', admin);
    const byName = new Map((pools.json.pools as Array<Record<string, any>>).map((p) => [p.capabilities.volume_backend_name as string, p]));
    assert.equal(byName.get('nbd')?.capabilities.storage_protocol, 'NBD');
    assert.equal(byName.get('nbd')?.capabilities.online_extend_support, false);
    assert.equal(byName.get('file')?.capabilities.online_extend_support, true);

    for (const backend of ['file', 'nbd']) {
      const type = await cinder(tc.url, 'POST', '/types', admin, { volume_type: { name: `on-${backend}`, extra_specs: { volume_backend_name: backend } } });
      assert.equal(type.status, 200, JSON.stringify(type.json));
      const created = await cinder(tc.url, 'POST', '/volumes', demo, { volume: { size: 1, volume_type: `on-${backend}` } });
      assert.equal(created.status, 202);
      await waitFor(tc.url, demo, `/volumes/${created.json.volume.id}`, 'volume', ['available']);
      const shown = await cinder(tc.url, 'GET', `/volumes/${created.json.volume.id}`, admin);
      assert.equal(shown.json.volume['os-vol-host-attr:host'], `${host}@${backend}#${backend}`);
    }
    // A type naming a backend nobody serves leaves the volume in error (no valid backend).
    await cinder(tc.url, 'POST', '/types', admin, { volume_type: { name: 'on-lvm', extra_specs: { volume_backend_name: 'lvm' } } });
    const nowhere = await cinder(tc.url, 'POST', '/volumes', demo, { volume: { size: 1, volume_type: 'on-lvm' } });
    assert.equal((await waitFor(tc.url, demo, `/volumes/${nowhere.json.volume.id}`, 'volume', ['available', 'error'])).status, 'error');
  });

  it('attaches an nbd volume (NBD + TLS-PSK), refuses to extend it in use, keeps it working across an agent restart', async () => {
    const created = await cinder(tc.url, 'POST', '/volumes', demo, { volume: { size: 1, volume_type: 'on-nbd' } });
    const id = created.json.volume.id as string;
    await waitFor(tc.url, demo, `/volumes/${id}`, 'volume', ['available']);
    const connector = { host: tc.cloud.config.hostName, ip: '127.0.0.1', instance: randomUUID() };
    const att = await cinder(tc.url, 'POST', '/attachments', demo, { attachment: { volume_uuid: id, instance_uuid: connector.instance, connector } }, '3.44');
    assert.equal(att.status, 200, JSON.stringify(att.json));
    const memberView = att.json.attachment.connection_info as Record<string, any>;
    assert.equal(memberView.driver_volume_type, 'nbd');
    // The key opens every export of the daemon: a member never sees it, an admin (the compute side) does.
    assert.equal(memberView.data.tls_psk_key, '***');
    const legacy = await cinder(tc.url, 'POST', `/volumes/${id}/action`, demo, { 'os-initialize_connection': { connector } });
    assert.equal(legacy.json.connection_info.data.tls_psk_key, '***');
    const adminView = await cinder(tc.url, 'GET', `/attachments/${att.json.attachment.id}`, admin, undefined, '3.44');
    const data = adminView.json.attachment.connection_info.data as NbdConnectionData;
    assert.match(data.tls_psk_key, /^[0-9a-f]{64}$/);
    assert.equal(data.export_name, `volume-${id}`);
    await cinder(tc.url, 'POST', `/attachments/${att.json.attachment.id}/action`, demo, { 'os-complete': null }, '3.44');
    assert.match(await io(data, ['write -P 0x6b 0 64k']), /wrote 65536/);

    const extend = await cinder(tc.url, 'POST', `/volumes/${id}/action`, demo, { 'os-extend': { new_size: 2 } }, '3.42');
    assert.equal(extend.status, 400);
    assert.match(JSON.stringify(extend.json), /cannot grow|detach/i);

    // The nbd agent stops (its daemon with it) and a new one starts: the export is back.
    const old = tc.cloud.volumeAgents[1];
    assert.ok(old !== undefined && old.host.endsWith('@nbd'));
    await old.stop();
    await assert.rejects(io(data, ['read 0 512']));
    const agent = await startVolumeAgent(tc.cloud.config, tc.cloud.bus, createLogger('silent'), { backend: 'nbd', reportIntervalMs: 0 });
    tc.cloud.volumeAgents[1] = agent;
    assert.doesNotMatch(await io(data, ['read -P 0x6b 0 64k']), /fail/i);
    assert.equal((await cinder(tc.url, 'GET', `/volumes/${id}`, demo)).json.volume.status, 'in-use');

    // Detached, it extends; the export is gone.
    assert.equal((await cinder(tc.url, 'DELETE', `/attachments/${att.json.attachment.id}`, demo, undefined, '3.44')).status, 200);
    await waitFor(tc.url, demo, `/volumes/${id}`, 'volume', ['available']);
    await assert.rejects(io(data, ['read 0 512']));
    assert.equal((await cinder(tc.url, 'POST', `/volumes/${id}/action`, demo, { 'os-extend': { new_size: 2 } })).status, 202);
    assert.equal((await waitFor(tc.url, demo, `/volumes/${id}`, 'volume', ['available'])).size, 2);
  });
});
