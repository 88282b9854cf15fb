// The nbd backend against a real qemu-storage-daemon and real NBD clients (qemu-io over TCP with
// TLS-PSK): exports carry data both ways, clients without the key are refused, an exported
// volume snapshots and clones at a point in time, no online extend, and the daemon is the
// agent's own: ended on stop, started again (same port, key and exports) on the next start,
// adopted after a crash, ended by `kumo down`'s sweep.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { volumeNodes } from '../../../src/agents/compute/virt/qemu/volumes.js';
import { NbdBackend } from '../../../src/agents/volume/backends/nbd/nbd.js';
import { stopStorageDaemons, StorageDaemon } from '../../../src/agents/volume/backends/nbd/storage-daemon.js';
import type { ConnectionInfo, NbdConnectionData } from '../../../src/contracts/volume.js';
import { alive } from '../../../src/core/host/daemons.js';
import { createLogger } from '../../../src/core/log.js';

const run = promisify(execFile);
const haveQsd = await run('qemu-storage-daemon', ['--version']).then(() => true, () => false);

describe('nbd volume backend', { skip: haveQsd ? false : 'needs qemu-storage-daemon', timeout: 120_000 }, () => {
  let root: string;
  let backend: NbdBackend;
  const log = createLogger('silent');
  const make = () => new NbdBackend({ dir: join(root, 'volumes'), runDir: join(root, 'run', 'volume-nbd', 'host-a'), address: '127.0.0.1', pskIdentity: 'kumo-test', log });
  const daemonPid = () => new StorageDaemon({ runDir: join(root, 'run', 'volume-nbd', 'host-a'), address: '', port: 0, pskIdentity: '', pskKey: '', log }).pid();

  /** Runs qemu-io commands on an export as an attacher with the connection's key (or another key). */
  async function io(data: NbdConnectionData, commands: string[], key = data.tls_psk_key): Promise<string> {
    const keys = mkdtempSync(join(root, 'client-'));
    writeFileSync(join(keys, 'keys.psk'), `${data.tls_psk_identity}:${key}\n`, { mode: 0o600 });
    const args = ['--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${keys},username=${data.tls_psk_identity}`, '--image-opts', `driver=raw,file.driver=nbd,file.server.type=inet,file.server.host=${data.host},file.server.port=${data.port},file.export=${data.export_name},file.tls-creds=tls0`];
    for (const c of commands) args.push('-c', c);
    try {
      const { stdout } = await run('qemu-io', args);
      return stdout;
    } finally {
      rmSync(keys, { recursive: true, force: true });
    }
  }
  const nbd = (info: ConnectionInfo): NbdConnectionData => {
    assert.equal(info.driver_volume_type, 'nbd');
    return info.data as NbdConnectionData;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-nbd-backend-'));
    mkdirSync(join(root, 'run'));
    backend = make();
    await backend.setup();
  });
  after(async () => {
    await backend?.stop().catch(() => undefined);
    await stopStorageDaemons(join(root, 'run'));
    rmSync(root, { recursive: true, force: true });
  });

  it('exports a volume over NBD with TLS-PSK in the shape the compute driver attaches', async () => {
    const id = randomUUID();
    await backend.createVolume(id, 1);
    const info = await backend.initializeConnection(id, { host: 'compute-1', instance: randomUUID() }, 'rw');
    const data = nbd(info);
    assert.equal(data.export_name, `volume-${id}`);
    assert.equal(data.port, backend.port);
    assert.equal(data.online_extend, false);
    assert.match(data.tls_psk_key, /^[0-9a-f]{64}$/);
    // The compute side's checks accept it as is.
    const nodes = volumeNodes({ volumeId: id, connectionInfo: info }, join(root, 'guest'));
    assert.equal(nodes.protocol.driver, 'nbd');
    assert.equal(nodes.protocol.export, data.export_name);

    const wrote = await io(data, ['write -P 0x5a 0 64k']);
    assert.match(wrote, /wrote 65536\/65536/);
    assert.doesNotMatch(await io(data, ['read -P 0x5a 0 64k']), /fail/i);
    // Without TLS, or with another key, the server answers nothing.
    await assert.rejects(run('qemu-io', ['-f', 'raw', '-c', 'read 0 512', `nbd://127.0.0.1:${data.port}/${data.export_name}`]), /TLS negotiation required/);
    await assert.rejects(io(data, ['read 0 512'], 'ab'.repeat(32)));
    await backend.terminateConnection(id, { host: 'compute-1', instance: 'other' });
    await backend.deleteVolume(id);
    assert.equal(existsSync(join(root, 'volumes', `volume-${id}.qcow2`)), false);
  });

  it('stops exporting when the last connection ends; two attachers share an export', async () => {
    const id = randomUUID();
    await backend.createVolume(id, 1);
    const a = { host: 'compute-1', instance: randomUUID() };
    const b = { host: 'compute-2', instance: randomUUID() };
    const data = nbd(await backend.initializeConnection(id, a, 'rw'));
    await backend.initializeConnection(id, b, 'rw');
    await backend.terminateConnection(id, a);
    assert.match(await io(data, ['read 0 512']), /read 512\/512/);
    await backend.terminateConnection(id, b);
    await assert.rejects(io(data, ['read 0 512']));
    await backend.deleteVolume(id);
  });

  it('snapshots and clones an exported volume at a point in time; extends only while detached', async () => {
    const id = randomUUID();
    await backend.createVolume(id, 1);
    const connector = { host: 'compute-1', instance: randomUUID() };
    const data = nbd(await backend.initializeConnection(id, connector, 'rw'));
    await io(data, ['write -P 0x11 1M 64k']);
    const snap = randomUUID();
    await backend.createSnapshot(snap, id);
    const clone = randomUUID();
    await backend.cloneVolume(clone, id, 2);
    await io(data, ['write -P 0x22 1M 64k']);
    const fromSnap = randomUUID();
    await backend.createFromSnapshot(fromSnap, snap, 1);
    for (const copy of [fromSnap, clone]) {
      const copyData = nbd(await backend.initializeConnection(copy, connector, 'ro'));
      assert.doesNotMatch(await io(copyData, ['read -P 0x11 1M 64k']), /fail/i, `${copy} holds the data of the snapshot's moment`);
      await backend.terminateConnection(copy, connector);
    }
    assert.equal(await backend.volumeSizeGb(clone), 2);

    await assert.rejects(backend.extendVolume(id, 2, true), /Cannot grow NBD volume/);
    await backend.terminateConnection(id, connector);
    await backend.extendVolume(id, 2, false);
    assert.equal(await backend.volumeSizeGb(id), 2);
    const stats = await backend.stats();
    assert.equal(stats.driver, 'nbd');
    assert.equal(stats.storageProtocol, 'NBD');
    assert.equal(stats.onlineExtend, false);
    assert.ok(stats.totalCapacityGb > 0);
    for (const v of [id, clone, fromSnap]) await backend.deleteVolume(v);
    await backend.deleteSnapshot(snap);
  });

  it('ends its daemon on stop and exports attached volumes again on the next start (same port and key); adopts a daemon a crash left', async () => {
    const id = randomUUID();
    await backend.createVolume(id, 1);
    const data = nbd(await backend.initializeConnection(id, { host: 'compute-1', instance: randomUUID() }, 'rw'));
    await io(data, ['write -P 0x33 0 4k']);
    const firstPid = daemonPid();
    assert.ok(firstPid !== undefined);
    await backend.stop();
    assert.equal(alive(firstPid), false, 'the daemon ends with its agent');
    await assert.rejects(io(data, ['read 0 512']));

    backend = make();
    await backend.setup();
    assert.equal(backend.port, data.port);
    assert.doesNotMatch(await io(data, ['read -P 0x33 0 4k']), /fail/i, 'the attached volume is back under the same key, port and name');
    const secondPid = daemonPid();
    assert.ok(secondPid !== undefined && secondPid !== firstPid);

    // A crashed agent (no stop; its monitor connection goes with the process): the next one
    // adopts the daemon instead of starting another.
    await (backend as unknown as { daemon: { qmp: { close(): Promise<void> } } }).daemon.qmp.close();
    backend = make();
    await backend.setup();
    assert.equal(daemonPid(), secondPid);
    assert.doesNotMatch(await io(data, ['read -P 0x33 0 4k']), /fail/i);

    // `kumo down`'s sweep ends it by the cloud's runtime directory.
    assert.equal(await stopStorageDaemons(join(root, 'run')), 1);
    assert.equal(alive(secondPid), false);
  });
});
