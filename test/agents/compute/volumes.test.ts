// Volumes in the virt drivers without a hypervisor: the fake driver's records, and the qemu
// driver's translation of os-brick connection info into QEMU nodes and arguments (checked
// before anything reaches QEMU). The real hot-plug is in qemu-volumes.test.ts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ConnectionInfo } from '../../../src/contracts/volume.js';
import { VirtError, type InstanceSpec } from '../../../src/agents/compute/virt/driver.js';
import { FakeDriver } from '../../../src/agents/compute/virt/fake/fake.js';
import { qemuArgs } from '../../../src/agents/compute/virt/qemu/process.js';
import { volumeArgs, volumeNodes } from '../../../src/agents/compute/virt/qemu/volumes.js';

const fileInfo = (volumeId: string, path = `/var/lib/kumo/volumes/${volumeId}.qcow2`): ConnectionInfo => ({
  driver_volume_type: 'file',
  data: { device_path: path, format: 'qcow2', volume_id: volumeId, access_mode: 'rw', online_extend: true },
});
const nbdInfo = (volumeId: string, over: Partial<Extract<ConnectionInfo, { driver_volume_type: 'nbd' }>['data']> = {}): ConnectionInfo => ({
  driver_volume_type: 'nbd',
  data: { host: '192.0.2.7', port: 10809, export_name: `volume-${volumeId}`, tls_psk_identity: 'kumo', tls_psk_key: 'a1b2c3d4', format: 'raw', volume_id: volumeId, access_mode: 'rw', online_extend: false, ...over },
});

function spec(id: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return { id, name: 'vm', projectId: 'p', vcpus: 1, memoryMb: 64, rootGb: 1, ephemeralGb: 0, swapMb: 0, imageId: 'img', metadata: {}, nics: [], configDrive: false, ...over };
}

describe('the fake driver records volumes', () => {
  it('attaches, refuses a second attach of the same volume, extends file volumes only, and detaches', async () => {
    const driver = new FakeDriver({ vcpus: 4, memoryMb: 4096, localGb: 100 });
    const id = randomUUID();
    await driver.spawn(spec(id));
    const file = randomUUID();
    const nbd = randomUUID();
    await driver.attachVolume(id, { volumeId: file, connectionInfo: fileInfo(file) });
    await driver.attachVolume(id, { volumeId: nbd, connectionInfo: nbdInfo(nbd) });
    assert.deepEqual(driver.attachedVolumes(id), [
      { volumeId: file, driverVolumeType: 'file' },
      { volumeId: nbd, driverVolumeType: 'nbd' },
    ]);
    await assert.rejects(driver.attachVolume(id, { volumeId: file, connectionInfo: fileInfo(file) }), VirtError);
    await driver.extendVolume(id, file, 2 * 1024 ** 3);
    await assert.rejects(driver.extendVolume(id, nbd, 2 * 1024 ** 3), /Cannot grow nbd volume/);
    await assert.rejects(driver.extendVolume(id, randomUUID(), 1024), /is not attached/);
    assert.equal(driver.attachedVolumes(id)[0]?.sizeBytes, 2 * 1024 ** 3);
    await driver.detachVolume(id, file);
    await driver.detachVolume(id, file);
    assert.deepEqual(driver.attachedVolumes(id).map((v) => v.volumeId), [nbd]);
    await assert.rejects(driver.attachVolume(randomUUID(), { volumeId: file, connectionInfo: fileInfo(file) }), /could not be found/);
  });

  it('boots from a volume with more volumes, and keeps the root volume through a resize', async () => {
    const driver = new FakeDriver({ vcpus: 4, memoryMb: 4096, localGb: 100 });
    const id = randomUUID();
    const root = randomUUID();
    const data = randomUUID();
    await driver.spawn(spec(id, { rootVolume: { volumeId: root, connectionInfo: fileInfo(root) }, volumes: [{ volumeId: data, connectionInfo: fileInfo(data) }] }));
    assert.equal(driver.rootVolumeOf(id), root);
    assert.deepEqual(driver.attachedVolumes(id).map((v) => v.volumeId), [data]);
    await assert.rejects(driver.attachVolume(id, { volumeId: root, connectionInfo: fileInfo(root) }), /already attached/);
    await driver.resize(spec(id, { vcpus: 2 }));
    assert.equal(driver.rootVolumeOf(id), root);
  });
});

describe('the qemu driver turns connection info into QEMU nodes', () => {
  it('makes a file node under a qcow2 node and a virtio-blk device whose serial is the volume id', () => {
    const volumeId = randomUUID();
    const nodes = volumeNodes({ volumeId, connectionInfo: fileInfo(volumeId) }, '/var/lib/kumo/instances/x/volumes');
    assert.equal(nodes.protocol.driver, 'file');
    assert.equal(nodes.protocol.filename, `/var/lib/kumo/volumes/${volumeId}.qcow2`);
    assert.equal(nodes.format.driver, 'qcow2');
    assert.equal(nodes.format.file, nodes.protocol['node-name']);
    assert.ok(nodes.protocol['node-name'].length <= 31 && nodes.format['node-name'].length <= 31, 'QEMU node names are at most 31 characters');
    assert.equal(nodes.serial, volumeId);
    const args = volumeArgs(nodes);
    assert.deepEqual(JSON.parse(args[1] as string), nodes.protocol);
    assert.equal(args.at(-1), `virtio-blk-pci,drive=${nodes.format['node-name']},id=vol-${volumeId},serial=${volumeId}`);
  });

  it('makes an NBD node with TLS-PSK credentials whose key goes into a file, never onto the command line', () => {
    const volumeId = randomUUID();
    const nodes = volumeNodes({ volumeId, connectionInfo: nbdInfo(volumeId) }, '/srv/i/volumes');
    assert.deepEqual(nodes.protocol.server, { type: 'inet', host: '192.0.2.7', port: '10809' });
    assert.equal(nodes.protocol['tls-creds'], nodes.tls?.id);
    assert.equal(nodes.tls?.dir, `/srv/i/volumes/${volumeId}`);
    const args = volumeArgs(nodes);
    assert.equal(args[0], '-object');
    assert.ok(!args.join(' ').includes('a1b2c3d4'), 'the key is not in QEMU\'s arguments (ps shows them)');
  });

  it('refuses connection info that could smuggle options or reach elsewhere', () => {
    const volumeId = randomUUID();
    const bad: ConnectionInfo[] = [
      fileInfo(volumeId, '/tmp/x,file.driver=ssh'),
      fileInfo(volumeId, 'relative/path'),
      fileInfo(volumeId, '/srv/../etc/shadow'),
      nbdInfo(volumeId, { host: 'h;rm -rf /' }),
      nbdInfo(volumeId, { port: 70000 }),
      nbdInfo(volumeId, { tls_psk_key: 'zz\nother:key' }),
      { driver_volume_type: 'iscsi', data: {} } as unknown as ConnectionInfo,
    ];
    for (const info of bad) assert.throws(() => volumeNodes({ volumeId, connectionInfo: info }, '/srv/v'), VirtError, JSON.stringify(info));
    assert.throws(() => volumeNodes({ volumeId: 'vd,b', connectionInfo: fileInfo(volumeId) }, '/srv/v'), VirtError);
  });

  it('boots from a volume: the root volume replaces the disk, with boot index 1; attached volumes follow the config drive', () => {
    const root = randomUUID();
    const data = randomUUID();
    const base = { name: 'g', memoryMb: 128, vcpus: 1, qmpSocket: '/run/k/q', serialLog: '/run/k/c', pidFile: '/run/k/p', vncSocket: '/run/k/v', configDrivePath: '/srv/i/disk.config' };
    const args = qemuArgs({
      ...base,
      rootVolume: volumeNodes({ volumeId: root, connectionInfo: fileInfo(root) }, '/srv/v', { protocol: 'root-file', format: 'root', deviceId: 'root-disk' }),
      volumes: [volumeNodes({ volumeId: data, connectionInfo: fileInfo(data) }, '/srv/v')],
    });
    const devices = args.filter((_, i) => args[i - 1] === '-device');
    assert.deepEqual(devices.filter((d) => d.startsWith('virtio-blk')), [
      `virtio-blk-pci,drive=root,id=root-disk,serial=${root},bootindex=1`,
      'virtio-blk-pci,drive=config,id=config-disk',
      devices.find((d) => d.includes(data)),
    ]);
    assert.throws(() => qemuArgs({ ...base, diskPath: '/srv/disk', rootVolume: volumeNodes({ volumeId: root, connectionInfo: fileInfo(root) }, '/srv/v') }), /root disk and a root volume/);
  });
});
