// Volumes in real kumo-tiny guests (QEMU, TCG) through the qemu driver: a qcow2 volume made by
// qemu-img is hot-plugged into a running guest, whose waiting script (typed on its serial
// console, as user data would run it) sees /dev/vdb with the volume id as its serial, writes a
// marker and syncs; the volume grows while attached and the guest sees the new size; it is
// unplugged (device_del, DEVICE_DELETED, blockdev-del) and a second guest gets it and reads the
// marker back, then over NBD with TLS-PSK from qemu-storage-daemon; a third guest boots from a
// volume made from kumo-tiny. Run it under
// `flock /work/hostlab.lock`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ConnectionInfo } from '../../../src/contracts/volume.js';
import { alive } from '../../../src/core/host/daemons.js';
import { VirtError, type InstanceSpec } from '../../../src/agents/compute/virt/driver.js';
import { imageCacheDirOf, QemuDriver, type QemuDriverOptions } from '../../../src/agents/compute/virt/qemu/driver.js';
import { ImageCache } from '../../../src/agents/compute/virt/qemu/image-cache.js';
import { guestImage, qemuSuitePrerequisites } from '../../helpers/guest-image.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const READY = /^kumo-tiny ready (\S+) (\S+)\r?$/gm;
const BOOT_TIMEOUT_MS = 180_000;
const MIB = 1024 * 1024;

const { skip, missing } = await qemuSuitePrerequisites();

function spec(id: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return { id, name: 'vol-guest', projectId: 'project-1', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, imageId: '6f8a0a36-30a4-4d2b-9a1e-222222222222', metadata: {}, nics: [], configDrive: false, ...over };
}

const fileVolume = (volumeId: string, path: string): ConnectionInfo => ({
  driver_volume_type: 'file',
  data: { device_path: path, format: 'qcow2', volume_id: volumeId, access_mode: 'rw', online_extend: true },
});

describe('volumes in real QEMU guests (kumo-tiny, TCG)', { skip, timeout: 900_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'kumo-qemu-volumes-'));
  const dataDir = join(work, 'data');
  const stateDir = join(work, 'run');
  const volumesDir = join(work, 'volumes');
  const created = new Set<string>();
  const pids = new Set<number>();
  let driver: QemuDriver;
  let options: QemuDriverOptions;
  const a = randomUUID();
  const b = randomUUID();
  const c = randomUUID();
  const volumeId = randomUUID();
  const volumePath = join(volumesDir, `volume-${volumeId}.qcow2`);
  const marker = `kumo-vol-${randomBytes(6).toString('hex')}`;
  const timings: Record<string, number> = {};

  const consoleText = async (id: string): Promise<string> => (await readFile(join(dataDir, 'instances', id, 'console.log'), 'utf8').catch(() => '')).replace(/\r/g, '');

  async function waitConsole(id: string, what: string, pattern: RegExp, from = 0, timeoutMs = BOOT_TIMEOUT_MS): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = (await consoleText(id)).slice(from).match(pattern);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`no ${what} on ${id} within ${timeoutMs / 1000} s; console ends:\n${(await consoleText(id)).split('\n').slice(-20).join('\n')}`);
      await sleep(100);
    }
  }

  async function boot(id: string, over: Partial<InstanceSpec> = {}): Promise<void> {
    created.add(id);
    await driver.spawn(spec(id, over));
    const pid = await driver.pidOf(id);
    if (pid !== undefined) pids.add(pid);
    await waitConsole(id, 'ready line', READY);
  }

  /**
   * Types a command on the serial console until `done` shows after it (the shell may not be
   * on ttyS0 yet just after the ready line). `done` must not match the typed command itself.
   */
  async function shell(id: string, command: string, done: RegExp): Promise<RegExpMatchArray> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(driver.serialSocketPath(id));
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    socket.resume();
    try {
      const from = (await consoleText(id)).length;
      const deadline = Date.now() + 60_000;
      for (;;) {
        socket.write(`\x15${command}\r`);
        const until = Date.now() + 5_000;
        while (Date.now() < until) {
          const match = (await consoleText(id)).slice(from).match(done);
          if (match) return match;
          await sleep(100);
        }
        if (Date.now() > deadline) throw new Error(`console command ${JSON.stringify(command)} showed no ${done}; console ends:\n${(await consoleText(id)).split('\n').slice(-20).join('\n')}`);
      }
    } finally {
      socket.destroy();
    }
  }

  before(async () => {
    if (missing) throw new Error(`CI is set and QEMU is installed, but this is missing: ${missing}`);
    const image = await guestImage();
    mkdirSync(volumesDir, { recursive: true });
    options = {
      dataDir,
      stateDir,
      cloudId: 'b0b0b0',
      host: 'host-v',
      accel: 'tcg',
      images: new ImageCache({
        dir: imageCacheDirOf(dataDir),
        source: { download: async () => ({ data: createReadStream(image), diskFormat: 'qcow2', checksum: null }) },
      }),
      stopTimeoutMs: 30_000,
      powerdownRetryMs: 5_000,
      volumeDetach: { timeoutMs: 20_000, attempts: 3 },
    };
    driver = new QemuDriver(options);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', volumePath, '64M']);
  });

  after(async () => {
    for (const id of created) await driver?.destroy(id).catch(() => undefined);
    await driver?.close();
    for (const pid of pids) {
      if (alive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(work)) process.kill(pid, 'SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
    console.log(`# qemu volume timings (ms): ${JSON.stringify(timings)}`);
  });

  it('hot-plugs a qcow2 volume into a running guest, whose waiting script finds /dev/vdb by its serial, writes a marker and syncs', async (t) => {
    await boot(a);
    // What user data would run: wait for the disk in the background, then write to it.
    const script = `(while [ ! -b /dev/vdb ]; do sleep 0.2; done; echo ${marker} | dd of=/dev/vdb conv=fsync 2>/dev/null; sync; echo "vol-marker-written $(cat /sys/block/vdb/serial)") & echo armed-$((40+2))`;
    await shell(a, script, /armed-42/);
    const from = (await consoleText(a)).length;
    const started = Date.now();
    await driver.attachVolume(a, { volumeId, connectionInfo: fileVolume(volumeId, volumePath) });
    timings.attachCall = Date.now() - started;
    const [, serial] = await waitConsole(a, 'the marker written to vdb', /^vol-marker-written (\S+)$/m, from, 60_000);
    timings.attachToGuestWrite = Date.now() - started;
    t.diagnostic(`attach call ${timings.attachCall} ms; guest wrote the marker ${timings.attachToGuestWrite} ms after the attach began`);
    assert.equal(serial, volumeId.slice(0, 20), 'the guest sees the volume id as the disk serial (virtio-blk keeps 20 characters)');
    await assert.rejects(driver.attachVolume(a, { volumeId, connectionInfo: fileVolume(volumeId, volumePath) }), /already attached/);
    const record = JSON.parse(readFileSync(join(dataDir, 'instances', a, 'instance.json'), 'utf8')) as { volumes?: Array<{ volumeId: string }> };
    assert.deepEqual(record.volumes?.map((v) => v.volumeId), [volumeId], 'the record keeps it for the next start');
  });

  it('grows the attached volume online: the guest sees the new size', async (t) => {
    const started = Date.now();
    await driver.extendVolume(a, volumeId, 128 * MIB);
    // 512-byte sectors.
    await shell(a, 'cat /sys/block/vdb/size', /^262144$/m);
    timings.extendSeenInGuest = Date.now() - started;
    t.diagnostic(`guest saw 128 MiB ${timings.extendSeenInGuest} ms after the extend`);
  });

  it('unplugs it (the guest lets go), and a second guest gets it and reads the marker back', async (t) => {
    const started = Date.now();
    await driver.detachVolume(a, volumeId);
    timings.detachCall = Date.now() - started;
    t.diagnostic(`detach (device_del to DEVICE_DELETED and blockdev-del) took ${timings.detachCall} ms`);
    await shell(a, '[ -b /dev/vdb ] || echo vdb-$((2+3))-gone', /vdb-5-gone/);
    await driver.detachVolume(a, volumeId);
    const record = JSON.parse(readFileSync(join(dataDir, 'instances', a, 'instance.json'), 'utf8')) as { volumes?: unknown[] };
    assert.deepEqual(record.volumes, []);
    // QEMU let go of the file (its lock too): qemu-img may open it for writing, and it kept its new size.
    const { stdout } = await run('qemu-img', ['info', '--output=json', volumePath], { encoding: 'utf8' });
    assert.equal((JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'], 128 * MIB);

    await boot(b);
    await driver.attachVolume(b, { volumeId, connectionInfo: fileVolume(volumeId, volumePath) });
    await shell(b, `while [ ! -b /dev/vdb ]; do sleep 0.2; done; head -c ${marker.length + 4} /dev/vdb | sed 's/^kumo-vol-/read-back-/'`, new RegExp(`^read-back-${marker.slice('kumo-vol-'.length)}$`, 'm'));
    await driver.detachVolume(b, volumeId);
    await shell(b, '[ -b /dev/vdb ] || echo vdb-$((3+4))-gone', /vdb-7-gone/);
  });

  it('attaches the same volume over NBD with TLS-PSK (qemu-storage-daemon): the guest reads the marker, and it does not grow online', async (t) => {
    const keysDir = join(work, 'nbd-keys');
    mkdirSync(keysDir, { mode: 0o700 });
    const key = randomBytes(16).toString('hex');
    writeFileSync(join(keysDir, 'keys.psk'), `kumo:${key}\n`, { mode: 0o600 });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const pidFile = join(work, 'qsd.pid');
    await run('qemu-storage-daemon', [
      '--object', `tls-creds-psk,id=tls0,endpoint=server,dir=${keysDir}`,
      '--blockdev', `driver=file,node-name=f0,filename=${volumePath}`,
      '--blockdev', 'driver=qcow2,node-name=q0,file=f0',
      '--nbd-server', `addr.type=inet,addr.host=127.0.0.1,addr.port=${port},tls-creds=tls0`,
      '--export', `type=nbd,id=e0,node-name=q0,name=volume-${volumeId},writable=on`,
      '--pidfile', pidFile,
      '--daemonize',
    ]);
    const qsd = Number(readFileSync(pidFile, 'utf8').trim());
    pids.add(qsd);
    try {
      const nbd: ConnectionInfo = {
        driver_volume_type: 'nbd',
        data: { host: '127.0.0.1', port, export_name: `volume-${volumeId}`, tls_psk_identity: 'kumo', tls_psk_key: key, format: 'raw', volume_id: volumeId, access_mode: 'rw', online_extend: false },
      };
      const started = Date.now();
      await driver.attachVolume(b, { volumeId, connectionInfo: nbd });
      timings.nbdAttachCall = Date.now() - started;
      assert.ok(!readFileSync(`/proc/${await driver.pidOf(b)}/cmdline`, 'utf8').includes(key), 'the key is not on the guest QEMU\'s command line');
      await shell(b, `while [ ! -b /dev/vdb ]; do sleep 0.2; done; head -c ${marker.length + 4} /dev/vdb | sed 's/^kumo-vol-/nbd-back-/'`, new RegExp(`^nbd-back-${marker.slice('kumo-vol-'.length)}$`, 'm'));
      timings.nbdAttachToGuestRead = Date.now() - started;
      await assert.rejects(driver.extendVolume(b, volumeId, 256 * MIB), /NBD/);
      const detachStarted = Date.now();
      await driver.detachVolume(b, volumeId);
      timings.nbdDetachCall = Date.now() - detachStarted;
      t.diagnostic(`NBD attach ${timings.nbdAttachCall} ms, guest read ${timings.nbdAttachToGuestRead} ms after, detach ${timings.nbdDetachCall} ms`);
      assert.equal(existsSync(join(dataDir, 'instances', b, 'volumes', volumeId)), false, 'the TLS key file went with the volume');
    } finally {
      if (alive(qsd)) process.kill(qsd, 'SIGTERM');
    }
  });

  it('keeps an attached volume across an agent restart (the guest is adopted) and a power cycle (the next start plugs it in again)', async () => {
    await driver.attachVolume(b, { volumeId, connectionInfo: fileVolume(volumeId, volumePath) });
    await shell(b, 'while [ ! -b /dev/vdb ]; do sleep 0.2; done; echo has-$((1+1))-$(cat /sys/block/vdb/serial)', new RegExp(`has-2-${volumeId.slice(0, 20)}`));
    const pid = await driver.pidOf(b);
    await driver.close();
    driver = new QemuDriver(options);
    assert.equal(await driver.pidOf(b), pid, 'the same QEMU, adopted');
    await assert.rejects(driver.attachVolume(b, { volumeId, connectionInfo: fileVolume(volumeId, volumePath) }), /already attached/, 'the new driver knows it is attached');
    await driver.powerOff(b);
    await driver.powerOn(b);
    const newPid = await driver.pidOf(b);
    if (newPid !== undefined) pids.add(newPid);
    assert.ok(readFileSync(`/proc/${newPid}/cmdline`, 'utf8').includes(`serial=${volumeId}`), 'the new QEMU starts with the volume');
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while ([...(await consoleText(b)).matchAll(READY)].length < 2) {
      if (Date.now() > deadline) throw new Error('no second ready line');
      await sleep(200);
    }
    await shell(b, 'echo again-$((1+1))-$(cat /sys/block/vdb/serial)', new RegExp(`again-2-${volumeId.slice(0, 20)}`));
    await driver.detachVolume(b, volumeId);
    await shell(b, '[ -b /dev/vdb ] || echo vdb-$((4+4))-gone', /vdb-8-gone/);
  });

  it('boots a third guest from a volume made from kumo-tiny (no image overlay), which prints its ready line', async () => {
    const rootId = randomUUID();
    const rootPath = join(volumesDir, `volume-${rootId}.qcow2`);
    await run('qemu-img', ['convert', '-q', '-O', 'qcow2', await guestImage(), rootPath]);
    await boot(c, { rootVolume: { volumeId: rootId, connectionInfo: fileVolume(rootId, rootPath) } });
    assert.equal(existsSync(join(dataDir, 'instances', c, 'disk')), false, 'no overlay disk: the volume is the root disk');
    await assert.rejects(driver.detachVolume(c, rootId), /root disk/);
    await assert.rejects(driver.snapshot(c), VirtError);
    await driver.destroy(c);
    created.delete(c);
    assert.ok(existsSync(rootPath), 'destroying the guest leaves the volume to its owner');
  });
});
