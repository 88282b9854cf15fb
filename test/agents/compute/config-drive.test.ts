// The config drive: the agent hands the driver the drive's files only when the instance asked
// for one or the host forces it, and buildConfigDrive turns them into an ISO 9660 image
// labelled config-2 that isoinfo (genisoimage's reader) reads back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ComputeAgent } from '../../../src/agents/compute/agent.js';
import { ComputeHostClient } from '../../../src/agents/compute/host-client.js';
import { buildConfigDrive, driveFileSegments } from '../../../src/agents/compute/virt/config-drive.js';
import type { InstanceSpec } from '../../../src/agents/compute/virt/driver.js';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/fake.js';
import { ComputeHosts } from '../../../src/services/compute/hosts.js';
import { InstanceActions } from '../../../src/services/compute/store/instance-actions.js';
import { InstanceRecords } from '../../../src/services/compute/store/instances.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from '../../services/compute/helpers.js';

const run = promisify(execFile);

/** A fake host that remembers the spec of every spawn. */
class RecordingDriver extends FakeDriver {
  readonly spawned = new Map<string, InstanceSpec>();
  override async spawn(instance: InstanceSpec): Promise<void> {
    this.spawned.set(instance.id, instance);
    await super.spawn(instance);
  }
}

const USER_DATA = '#!/bin/sh\necho config drive user data\n';

async function isoFile(iso: string, path: string): Promise<string> {
  return (await run('isoinfo', ['-R', '-i', iso, '-x', path], { encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 })).stdout;
}

describe('config drive', () => {
  let cloud: TestCloud;
  let admin: string;
  let image: string;
  let publicKey: string;
  const drivers = { plain: new RecordingDriver({ vcpus: 8, memoryMb: 16_384, localGb: 100 }), forced: new RecordingDriver({ vcpus: 8, memoryMb: 16_384, localGb: 100 }) };
  const agents: ComputeAgent[] = [];
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'kumo-config-drive-'));
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    image = await activeImage(cloud.url, admin);
    const db = cloud.cloud.compute.db;
    for (const [host, driver] of Object.entries(drivers)) {
      const agent = new ComputeAgent(
        {
          host: `cd-${host}`,
          availabilityZone: 'nova',
          cpuAllocationRatio: 4,
          ramAllocationRatio: 1,
          diskAllocationRatio: 1,
          reservedHostMemoryMb: 0,
          heartbeatIntervalSeconds: 10,
          powerSyncIntervalSeconds: 60,
          forceConfigDrive: host === 'forced',
        },
        {
          bus: cloud.cloud.bus,
          driver,
          control: new ComputeHostClient(cloud.cloud.bus),
          images: cloud.cloud.compute.images,
          configDrive: true,
          log: cloud.cloud.compute.log,
        },
      );
      await agent.start();
      agents.push(agent);
    }
    const key = await nova(cloud.url, 'POST', '/os-keypairs', admin, { keypair: { name: 'drive-key' } });
    assert.equal(key.status, 200, JSON.stringify(key.body));
    publicKey = key.json.keypair.public_key;
    // The conductor's view of the hosts is at most a second old.
    await new Promise((r) => setTimeout(r, 1100));
  });
  after(async () => {
    for (const agent of agents) await agent.stop();
    await cloud?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Boots on one of the recording hosts (an admin may name the host in the zone) and waits for ACTIVE. */
  async function bootOn(host: 'plain' | 'forced', name: string, extra: Record<string, unknown>): Promise<{ id: string; server: Record<string, any> }> {
    const created = await boot(cloud.url, admin, { name, imageRef: image, flavorRef: '1', networks: 'none', availability_zone: `nova:cd-${host}`, ...extra });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    const server = await waitForServer(cloud.url, admin, id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    return { id, server };
  }

  it('gives the driver no drive unless the instance asks for one', async () => {
    const { id, server } = await bootOn('plain', 'no-drive', { key_name: 'drive-key' });
    const spec = drivers.plain.spawned.get(id);
    assert.ok(spec, 'the plain host spawned it');
    assert.equal(spec.configDrive, false);
    assert.equal(spec.configDriveFiles, undefined);
    assert.equal(server.config_drive, '');
  });

  it('builds a drive asked for at boot: ISO 9660, label config-2, the instance, its key and user data', async () => {
    const { id, server } = await bootOn('plain', 'with-drive', { key_name: 'drive-key', config_drive: true, user_data: Buffer.from(USER_DATA).toString('base64'), metadata: { role: 'web' } });
    assert.equal(server.config_drive, 'True');
    const files = drivers.plain.spawned.get(id)?.configDriveFiles;
    assert.ok(files, 'the driver got the drive files');
    for (const path of ['openstack/latest/meta_data.json', 'openstack/latest/network_data.json', 'openstack/latest/user_data', 'openstack/latest/vendor_data.json', 'openstack/latest/vendor_data2.json', 'openstack/2012-08-10/meta_data.json', 'ec2/latest/meta-data.json', 'ec2/latest/user-data', 'ec2/2009-04-04/meta-data.json']) {
      assert.ok(files.has(path), `${path} is on the drive`);
    }
    assert.ok(![...files.keys()].some((p) => p.endsWith('/password')), 'the password is the metadata service\'s alone');
    assert.ok(!files.has('ec2/1.0/meta-data.json'), 'EC2 versions Nova skips on drives are skipped');
    assert.ok(!files.has('openstack/2012-08-10/network_data.json'), 'network_data.json exists from 2015-10-15 on');

    const iso = join(scratch, 'with-drive.iso');
    await buildConfigDrive(files, iso);
    const described = (await run('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' })).stdout;
    assert.match(described, /^Volume id: config-2$/m);
    assert.match(described, /Rock Ridge signatures version/);
    assert.match(described, /Joliet/);
    const meta = JSON.parse(await isoFile(iso, '/openstack/latest/meta_data.json'));
    assert.equal(meta.uuid, id);
    assert.equal(meta.name, 'with-drive');
    assert.deepEqual(meta.public_keys, { 'drive-key': publicKey });
    assert.equal(meta.keys[0].data, publicKey);
    assert.deepEqual(meta.meta, { role: 'web' });
    assert.equal(await isoFile(iso, '/openstack/latest/user_data'), USER_DATA);
    assert.equal(await isoFile(iso, '/ec2/latest/user-data'), USER_DATA);
    const ec2 = JSON.parse(await isoFile(iso, '/ec2/latest/meta-data.json'));
    assert.equal(ec2['public-keys']['0']['openssh-key'], publicKey);
    assert.deepEqual(Object.keys(ec2['public-keys']['0']), ['openssh-key'], 'no listing name in the JSON');
    assert.deepEqual(JSON.parse(await isoFile(iso, '/openstack/latest/network_data.json')), {}, 'no ports: Nova writes {}');
    const listing = (await run('isoinfo', ['-R', '-f', '-i', iso], { encoding: 'utf8' })).stdout.split('\n').filter(Boolean);
    assert.ok(listing.includes('/openstack/latest/vendor_data2.json'), 'Rock Ridge keeps lowercase, multi-dot names');
    assert.deepEqual(readdirSync(scratch), ['with-drive.iso'], 'no staging directory or partial image is left');
  });

  it('gives every instance a drive on a host that forces them, and records it', async () => {
    const { id, server } = await bootOn('forced', 'forced-drive', {});
    const spec = drivers.forced.spawned.get(id);
    assert.equal(spec?.configDrive, true);
    assert.ok(spec?.configDriveFiles?.has('openstack/latest/meta_data.json'));
    assert.equal(spec?.configDriveFiles?.has('openstack/latest/user_data'), false, 'no user data, no user_data file');
    assert.equal(server.config_drive, 'True', 'the API shows the drive, as Nova records a forced one');
  });

  it('refuses paths that would leave the drive, and cleans up after any failure', async () => {
    for (const bad of ['', '/etc/passwd', '../escape', 'openstack/../../escape', 'a//b', 'a/./b', 'a/', '-o', 'a\\b', 'sp ace']) {
      assert.throws(() => driveFileSegments(bad), /config drive file/, JSON.stringify(bad));
      const dir = mkdtempSync(join(scratch, 'bad-'));
      await assert.rejects(buildConfigDrive(new Map([[bad, Buffer.from('x')]]), join(dir, 'drive.iso')), /config drive file/);
      assert.deepEqual(readdirSync(dir), [], `nothing written for ${JSON.stringify(bad)}`);
    }
    assert.deepEqual(driveFileSegments('openstack/latest/meta_data.json'), ['openstack', 'latest', 'meta_data.json']);
    await assert.rejects(buildConfigDrive(new Map(), 'relative.iso'), /must be absolute/);

    // A file where a directory must be fails while staging; the staging directory still goes.
    const dir = mkdtempSync(join(scratch, 'clash-'));
    const clash = new Map([['a', Buffer.from('file')], ['a/b', Buffer.from('under a file')]]);
    await assert.rejects(buildConfigDrive(clash, join(dir, 'drive.iso')), /config drive/);
    assert.deepEqual(readdirSync(dir), []);

    // The image's directory missing: refused before anything is written.
    await assert.rejects(buildConfigDrive(new Map([['x', Buffer.from('x')]]), join(scratch, 'no-such-dir', 'drive.iso')), /config drive .*ENOENT/);

    // genisoimage itself failing (its output path is taken by a directory) is reported, and the staging goes.
    const taken = mkdtempSync(join(scratch, 'taken-'));
    mkdirSync(join(taken, 'drive.iso.partial'));
    await assert.rejects(buildConfigDrive(new Map([['x', Buffer.from('x')]]), join(taken, 'drive.iso')), /genisoimage could not build the config drive/);
    assert.deepEqual(readdirSync(taken), ['drive.iso.partial']);
  });
});
