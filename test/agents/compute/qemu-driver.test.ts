// The QEMU virt driver on a real QEMU (TCG): kumo-tiny is spawned from an image cache, powered
// off on the ACPI button and on again with its /data intact, rebooted both ways, paused,
// suspended to disk and resumed, snapshotted, resized, killed behind the driver's back, adopted
// by a second driver (an agent restart), and destroyed without leftovers. QEMU runs in a
// network namespace standing in for the host, as the e2e suites run hosts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { alive } from '../../../src/core/host/daemons.js';
import { PowerState, VirtError, type InstanceSpec, type PowerStateValue } from '../../../src/agents/compute/virt/driver.js';
import { imageCacheDirOf, QemuDriver, type QemuDriverOptions } from '../../../src/agents/compute/virt/qemu/driver.js';
import { ImageCache } from '../../../src/agents/compute/virt/qemu/image-cache.js';
import { GUEST_KERNEL_CMDLINE } from '../../../src/cli/guest-image.js';
import { guestBootFiles, guestImage, qemuSuitePrerequisites } from '../../helpers/guest-image.js';
import { processesMentioning } from '../../helpers/processes.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const READY = /^kumo-tiny ready (\S+) (\S+)\r?$/gm;
const BOOT_TIMEOUT_MS = 120_000;
const EVENT_WAIT_MS = 10_000;

const { skip, missing } = await qemuSuitePrerequisites();
/** kumo-tiny's kernel and ramdisk as the image service's aki and ari images. */
const KERNEL_ID = '0b8f3c1e-7f55-4b3e-9d1e-000000000001';
const RAMDISK_ID = '0b8f3c1e-7f55-4b3e-9d1e-000000000002';

function spec(id: string, over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    id,
    // A display name QEMU would take for options: it must never reach its command line.
    name: 'web, one=1,file=/etc/shadow',
    projectId: 'project-1',
    vcpus: 1,
    // Below the kernel's 96 MiB: the driver runs it with 128 MiB.
    memoryMb: 64,
    rootGb: 1,
    ephemeralGb: 0,
    swapMb: 0,
    imageId: '6f8a0a36-30a4-4d2b-9a1e-111111111111',
    metadata: {},
    nics: [],
    configDrive: false,
    ...over,
  };
}

function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

async function imageInfo(path: string): Promise<{ format: string; 'virtual-size': number; 'backing-filename'?: string; snapshots?: Array<{ name: string }> }> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' });
  return JSON.parse(stdout) as { format: string; 'virtual-size': number; 'backing-filename'?: string; snapshots?: Array<{ name: string }> };
}

describe('QemuDriver on a real QEMU (kumo-tiny, TCG)', { skip, timeout: 900_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'kumo-qemu-driver-'));
  const dataDir = join(work, 'data');
  const stateDir = join(work, 'run');
  const netns = `kumo-qd-${randomBytes(3).toString('hex')}`;
  const events: Array<{ id: string; powerState: PowerStateValue; at: number }> = [];
  const created = new Set<string>();
  const startedPids = new Set<number>();
  let options: QemuDriverOptions;
  let driver: QemuDriver;
  const a = randomUUID();

  const consoleText = async (id: string): Promise<string> => (await readFile(join(dataDir, 'instances', id, 'console.log'), 'utf8').catch(() => '')).replace(/\r/g, '');
  const readyCount = async (id: string): Promise<number> => [...(await consoleText(id)).matchAll(READY)].length;

  async function describeGuest(id: string): Promise<string> {
    const info = await driver.instanceInfo(id).catch((e: unknown) => String(e));
    return `state ${JSON.stringify(info)}; last console lines:\n${(await consoleText(id)).split('\n').slice(-15).join('\n')}`;
  }

  /** Waits until the console shows `count` ready lines (one per boot). */
  async function waitReady(id: string, count: number): Promise<void> {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while ((await readyCount(id)) < count) {
      if (Date.now() > deadline) throw new Error(`no ready line #${count} within ${BOOT_TIMEOUT_MS / 1000} s; ${await describeGuest(id)}`);
      await sleep(200);
    }
  }

  async function pidOf(id: string): Promise<number> {
    const pid = await driver.pidOf(id);
    assert.ok(pid !== undefined, `a QEMU runs ${id}`);
    startedPids.add(pid);
    return pid;
  }

  /**
   * Types a command on the serial console until `done` shows (the shell may not have opened
   * ttyS0 yet just after the ready line). The connection stays open for the whole wait: QEMU
   * drops unread input when a client leaves.
   */
  async function shell(id: string, command: string, done: RegExp): Promise<string> {
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
          if (match) return match[0];
          await sleep(200);
        }
        if (Date.now() > deadline) throw new Error(`console command ${JSON.stringify(command)} showed no ${done}; ${await describeGuest(id)}`);
      }
    } finally {
      socket.destroy();
    }
  }

  before(async () => {
    if (missing) throw new Error(`CI is set and QEMU is installed, but this is missing: ${missing}`);
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const image = await guestImage();
    const boot = await guestBootFiles();
    const served = new Map([
      [KERNEL_ID, { file: boot.kernel, diskFormat: 'aki' }],
      [RAMDISK_ID, { file: boot.ramdisk, diskFormat: 'ari' }],
    ]);
    options = {
      dataDir,
      stateDir,
      hostNamespace: netns,
      cloudId: 'a0a0a0',
      host: 'host-a',
      accel: 'tcg',
      images: new ImageCache({
        dir: imageCacheDirOf(dataDir),
        source: {
          download: async (_projectId, imageId) => {
            const { file, diskFormat } = served.get(imageId) ?? { file: image, diskFormat: 'qcow2' };
            return { data: createReadStream(file), diskFormat, checksum: null };
          },
        },
      }),
      stopTimeoutMs: 30_000,
      powerdownRetryMs: 5_000,
      watchIntervalMs: 1_000,
      onLifecycleEvent: (id, powerState) => events.push({ id, powerState, at: Date.now() }),
    };
    driver = new QemuDriver(options);
  });

  after(async () => {
    for (const id of created) await driver?.destroy(id).catch(() => undefined);
    await driver?.close();
    // Only QEMUs this suite started, by pid, if the driver somehow left one.
    for (const pid of startedPids) {
      if (alive(pid) && cmdlineOf(pid).some((arg) => arg.includes(stateDir))) process.kill(pid, 'SIGKILL');
    }
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it('reports the host: QEMU (TCG), its version in Nova form, CPUs, memory and disk', async () => {
    const host = await driver.hostResources();
    assert.equal(host.hypervisorType, 'QEMU');
    assert.ok(host.hypervisorVersion >= 2_000_000 && host.hypervisorVersion % 1000 < 1000, String(host.hypervisorVersion));
    assert.equal(host.vcpus, cpus().length);
    assert.ok(host.memoryMb > 0 && host.localGb > 0);
  });

  it('spawns a guest on an overlay of the cached image, with at least 128 MiB and without its display name', async (t) => {
    const started = Date.now();
    await driver.spawn(spec(a));
    created.add(a);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.RUNNING });
    await waitReady(a, 1);
    t.diagnostic(`spawn to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.match(await consoleText(a), /^kumo-tiny ready none none$/m);
    const args = cmdlineOf(await pidOf(a));
    assert.equal(args[args.indexOf('-m') + 1], '128', 'a 64 MiB flavor runs with the 128 MiB floor');
    assert.ok(!args.some((arg) => arg.includes('web') || arg.includes('shadow')), 'the display name is not on the command line');
    const disk = await imageInfo(join(dataDir, 'instances', a, 'disk'));
    assert.equal(disk.format, 'qcow2');
    assert.equal(disk['virtual-size'], 1024 ** 3, 'grown to the flavor disk');
    assert.ok(disk['backing-filename']?.startsWith(imageCacheDirOf(dataDir)), 'backed by the image cache');
    await assert.rejects(driver.spawn(spec(a)), (e: unknown) => e instanceof VirtError && /already exists/.test(e.message));
  });

  it('stops on the ACPI power button and starts again on the same disk: /data survives', async () => {
    const token = `kumo-${randomUUID()}`;
    await shell(a, `echo ${token} > /data/marker && sync && echo "kumo-test wrote $((6*7))"`, /^kumo-test wrote 42$/m);
    const pid = await pidOf(a);
    await driver.powerOff(a);
    assert.equal(alive(pid), false, 'QEMU exited');
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.SHUTDOWN });
    const text = await consoleText(a);
    assert.match(text, /kumo-tiny power-button: powering off/, 'the guest saw the button');
    assert.match(text, /reboot: Power down/);
    assert.equal(existsSync(join(stateDir, 'qemu', a, 'qemu.pid')), false);
    await driver.powerOff(a); // already off: nothing to do

    await driver.powerOn(a);
    assert.notEqual(await pidOf(a), pid);
    await waitReady(a, 2);
    const read = await shell(a, `cat /data/marker; echo "kumo-test read $((6*7))"`, new RegExp(`^${token}\\n(?:.*\\n)*?kumo-test read 42$`, 'm'));
    assert.ok(read.startsWith(token));
    await driver.powerOn(a); // running: nothing to do
    assert.equal(await readyCount(a), 2);
  });

  it('reboots hard by reset (same QEMU) and soft by power-off and start (new QEMU)', async () => {
    const pid = await pidOf(a);
    await driver.reboot(a, 'HARD');
    assert.equal(await pidOf(a), pid, 'a reset keeps the process');
    await waitReady(a, 3);
    const buttons = (await consoleText(a)).match(/kumo-tiny power-button/g)?.length ?? 0;
    await driver.reboot(a, 'SOFT');
    assert.notEqual(await pidOf(a), pid, 'a soft reboot starts QEMU again');
    assert.equal((await consoleText(a)).match(/kumo-tiny power-button/g)?.length, buttons + 1, 'through the ACPI button');
    await waitReady(a, 4);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.RUNNING });
  });

  it('pauses and unpauses, and refuses to do either twice', async () => {
    await driver.pause(a);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.PAUSED });
    await assert.rejects(driver.pause(a), VirtError);
    await driver.unpause(a);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.RUNNING });
    await assert.rejects(driver.unpause(a), VirtError);
  });

  it('suspends to disk (QEMU ends) and resumes the same boot', async () => {
    const pid = await pidOf(a);
    const boots = await readyCount(a);
    await driver.suspend(a);
    assert.equal(alive(pid), false);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.SUSPENDED });
    const disk = join(dataDir, 'instances', a, 'disk');
    assert.ok((await imageInfo(disk)).snapshots?.some((s) => s.name === 'kumo-suspend'), 'the state is in the disk');
    await assert.rejects(driver.pause(a), VirtError);
    await driver.resume(a);
    await pidOf(a);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.RUNNING });
    // The shell answers at once, and no new boot happened: the guest went on where it was.
    await shell(a, `echo "kumo-test resumed $((6*7))"`, /^kumo-test resumed 42$/m);
    assert.equal(await readyCount(a), boots);
    assert.ok(!(await imageInfo(disk)).snapshots?.some((s) => s.name === 'kumo-suspend'), 'the saved state is dropped');
    await assert.rejects(driver.resume(a), VirtError);
  });

  it('snapshots a running guest into a standalone qcow2 and keeps it running', async () => {
    const snapshot = await driver.snapshot(a);
    assert.equal(snapshot.diskFormat, 'qcow2');
    const file = join(work, 'snapshot.qcow2');
    await pipeline(Readable.from(snapshot.data), createWriteStream(file));
    const info = await imageInfo(file);
    assert.equal(info.format, 'qcow2');
    assert.equal(info['backing-filename'], undefined, 'no backing file: it stands alone');
    assert.equal(info['virtual-size'], 1024 ** 3);
    await run('qemu-img', ['check', '-q', '-f', 'qcow2', file]);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.RUNNING });
    assert.deepEqual(
      readdirSync(join(dataDir, 'instances', a)).filter((n) => n.includes('export')),
      [],
      'no export copy is left beside the disk',
    );
    rmSync(file);
  });

  it('resizes cold: the disk grows, memory and vCPUs change; a revert keeps the grown disk', async () => {
    await driver.resize(spec(a, { rootGb: 2, memoryMb: 192, vcpus: 2 }));
    let args = cmdlineOf(await pidOf(a));
    assert.equal(args[args.indexOf('-m') + 1], '192');
    assert.equal(args[args.indexOf('-smp') + 1], '2');
    const disk = join(dataDir, 'instances', a, 'disk');
    assert.equal((await imageInfo(disk))['virtual-size'], 2 * 1024 ** 3);
    await waitReady(a, 5);
    await driver.resize(spec(a));
    args = cmdlineOf(await pidOf(a));
    assert.equal(args[args.indexOf('-m') + 1], '128');
    assert.equal(args[args.indexOf('-smp') + 1], '1');
    assert.equal((await imageInfo(disk))['virtual-size'], 2 * 1024 ** 3, 'never shrunk');
    await waitReady(a, 6);
  });

  it('reports a guest killed behind its back as SHUTDOWN within seconds', async (t) => {
    assert.equal(events.length, 0, 'nothing the driver did was reported as a lifecycle event');
    const pid = await pidOf(a);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    while (!events.some((e) => e.id === a)) {
      if (Date.now() - killedAt > EVENT_WAIT_MS) throw new Error(`no lifecycle event within ${EVENT_WAIT_MS / 1000} s`);
      await sleep(50);
    }
    const event = events.find((e) => e.id === a);
    t.diagnostic(`reported ${((event?.at ?? 0) - killedAt)} ms after SIGKILL`);
    assert.equal(event?.powerState, PowerState.SHUTDOWN);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.SHUTDOWN });
    assert.equal(existsSync(join(stateDir, 'qemu', a)), false, 'the dead QEMU left no sockets or pid file');
  });

  it('lets a second driver (an agent restart) adopt a running guest without starting another QEMU', async () => {
    await driver.powerOn(a);
    const pid = await pidOf(a);
    await waitReady(a, 7);
    await driver.close();
    // Another host's agent sharing the data directory neither lists nor adopts it.
    const other = new QemuDriver({ ...options, host: 'host-b' });
    assert.deepEqual(await other.listInstances(), []);
    await other.close();
    driver = new QemuDriver(options);
    assert.deepEqual(await driver.listInstances(), [{ id: a, powerState: PowerState.RUNNING }]);
    assert.equal(await driver.pidOf(a), pid);
    await driver.powerOn(a);
    await driver.resumeStateOnHostBoot(spec(a), PowerState.RUNNING);
    assert.equal(await driver.pidOf(a), pid);
    assert.deepEqual(processesMentioning(join(stateDir, 'qemu', a, 'qmp.sock')), [pid], 'one QEMU for the guest');
    // The adopted guest is driven over the new QMP connection.
    await driver.pause(a);
    assert.deepEqual(await driver.instanceInfo(a), { id: a, powerState: PowerState.PAUSED });
    await driver.unpause(a);
  });

  it('serves the end of the console log, reading a bounded tail of a huge log', async () => {
    // Stopped, so no late kernel message lands after the lines appended here.
    await driver.powerOff(a);
    const log = join(dataDir, 'instances', a, 'console.log');
    const line = `${'x'.repeat(99)}\n`;
    await appendFile(log, line.repeat(40_000)); // 4 MB
    await appendFile(log, 'kumo-test last line one\nkumo-test last line two\n');
    const all = await driver.consoleOutput(a);
    assert.ok(all.length <= 100 * 1024, `at most 100 KiB, got ${all.length}`);
    assert.ok(all.endsWith('kumo-test last line two\n'));
    assert.ok(all.startsWith('x'), 'starts at a whole line');
    assert.equal(await driver.consoleOutput(a, 2), 'kumo-test last line one\nkumo-test last line two\n');
    assert.equal(await driver.consoleOutput(a, 0), '');
  });

  it('boots an AMI-style image directly (its kernel and ramdisk from the cache), its disk still the root with /data, and again from the record', async (t) => {
    const c = randomUUID();
    const cmdline = GUEST_KERNEL_CMDLINE;
    const started = Date.now();
    await driver.spawn(spec(c, { directBoot: { kernelId: KERNEL_ID, ramdiskId: RAMDISK_ID, cmdline } }));
    created.add(c);
    await waitReady(c, 1);
    t.diagnostic(`direct boot, spawn to ready: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const dir = join(dataDir, 'instances', c);
    const args = cmdlineOf(await pidOf(c));
    assert.equal(args[args.indexOf('-kernel') + 1], join(dir, 'kernel'));
    assert.equal(args[args.indexOf('-initrd') + 1], join(dir, 'ramdisk'));
    assert.equal(args[args.indexOf('-append') + 1], cmdline);
    assert.equal(readFileSync(join(dir, 'kernel')).compare(readFileSync(join(imageCacheDirOf(dataDir), KERNEL_ID))), 0, 'the cached kernel, in the instance directory');
    const text = await consoleText(c);
    assert.doesNotMatch(text, /SYSLINUX/, 'no boot loader ran');
    assert.doesNotMatch(text, /no kumo-data partition/, 'the disk is attached and /data mounted');
    await driver.powerOff(c);
    await driver.powerOn(c);
    await waitReady(c, 2);
    assert.ok(cmdlineOf(await pidOf(c)).includes('-kernel'), 'a start boots the kernel again');
    await driver.destroy(c);
    created.delete(c);
    assert.equal(existsSync(dir), false);
    assert.ok(existsSync(join(imageCacheDirOf(dataDir), KERNEL_ID)), 'the cache keeps its kernel');
  });

  it('plugs NICs into taps named after their ports (in the host namespace), attaches a config drive read-only, and destroys without leftovers', async () => {
    const b = randomUUID();
    const portId = randomUUID();
    const tap = `tap${portId.slice(0, 11)}`;
    const configDriveFiles = new Map([['openstack/latest/meta_data.json', Buffer.from(JSON.stringify({ uuid: b }))]]);
    await driver.spawn(spec(b, { nics: [{ portId, mac: 'fa:16:3e:12:34:56' }], configDrive: true, configDriveFiles }));
    created.add(b);
    assert.ok(existsSync(join(dataDir, 'instances', b, 'disk.config')));
    assert.ok(cmdlineOf(await pidOf(b)).includes('driver=raw,node-name=config,file=config-file,read-only=on'));
    // A read-only config drive does not keep the state from being saved in the root disk.
    await driver.suspend(b);
    await driver.resume(b);
    const pid = await pidOf(b);
    const { stdout } = await run('ip', ['-n', netns, '-j', 'link', 'show', 'dev', tap], { encoding: 'utf8' });
    assert.equal((JSON.parse(stdout) as Array<{ ifname: string }>)[0]?.ifname, tap);
    const args = cmdlineOf(pid);
    assert.ok(args.includes(`tap,id=net0,ifname=${tap},script=no,downscript=no`));
    assert.ok(args.includes('virtio-net-pci,netdev=net0,mac=fa:16:3e:12:34:56,id=nic0'));

    // b runs, a is stopped: destroy cleans up after both.
    for (const [id, qemu] of [[b, pid], [a, undefined]] as const) {
      await driver.destroy(id);
      created.delete(id);
      if (qemu !== undefined) assert.equal(alive(qemu), false, 'no QEMU');
      assert.deepEqual(processesMentioning(join(stateDir, 'qemu', id, 'qmp.sock')), [], 'no QEMU for the guest');
      assert.equal(existsSync(join(dataDir, 'instances', id)), false, 'no instance directory (disk, console log)');
      assert.equal(existsSync(join(stateDir, 'qemu', id)), false, 'no sockets or pid file');
      assert.equal(await driver.instanceInfo(id), undefined);
    }
    await assert.rejects(run('ip', ['-n', netns, 'link', 'show', 'dev', tap]), 'no tap');
    assert.deepEqual(await driver.listInstances(), []);
    await driver.destroy(b); // twice: nothing left to do, and no error
    assert.deepEqual(events.filter((e) => e.id === b), [], 'destroy is no death');
  });
});

describe('QemuDriver input checks', () => {
  const work = mkdtempSync(join(tmpdir(), 'kumo-qemu-input-'));
  const driver = new QemuDriver({
    dataDir: join(work, 'data'),
    stateDir: join(work, 'run'),
    cloudId: 'a0a0a0',
    accel: 'tcg',
    images: {
      ensure: () => Promise.reject(new Error('no image is fetched for a refused spec')),
      ensureBootFile: () => Promise.reject(new Error('no kernel is fetched for a refused spec')),
    },
  });

  after(async () => {
    await driver.close();
    rmSync(work, { recursive: true, force: true });
  });

  const isVirtError = (pattern: RegExp) => (e: unknown) => e instanceof VirtError && pattern.test(e.message);

  it('refuses malformed instance ids everywhere, before any file is touched', async () => {
    for (const id of ['', 'x', '../../etc', `${randomUUID()},x`, randomUUID().toUpperCase(), `${randomUUID()}\n`]) {
      await assert.rejects(driver.spawn(spec(id)), isVirtError(/not an instance id/), JSON.stringify(id));
      await assert.rejects(driver.destroy(id), isVirtError(/not an instance id/));
      await assert.rejects(driver.powerOn(id), isVirtError(/not an instance id/));
      await assert.rejects(driver.instanceInfo(id), isVirtError(/not an instance id/));
      await assert.rejects(driver.consoleOutput(id), isVirtError(/not an instance id/));
      assert.throws(() => driver.vncSocketPath(id), isVirtError(/not an instance id/));
    }
    assert.equal(existsSync(join(work, 'data', 'instances')), false);
  });

  it('refuses port ids that cannot name a tap, bad MACs and bad sizes', async () => {
    const id = randomUUID();
    const bad: Array<[Partial<InstanceSpec>, RegExp]> = [
      [{ nics: [{ portId: 'abc,ifname=eth0', mac: 'fa:16:3e:00:00:01' }] }, /tap/],
      [{ nics: [{ portId: 'short', mac: 'fa:16:3e:00:00:01' }] }, /tap/],
      [{ nics: [{ portId: randomUUID(), mac: 'fa:16:3e:00:00:01,id=x' }] }, /MAC/],
      [{ nics: [{ portId: randomUUID(), mac: '01:16:3e:00:00:01' }] }, /multicast/],
      [{ nics: [{ portId: 'aaaaaaaaaaa-1', mac: 'fa:16:3e:00:00:01' }, { portId: 'aaaaaaaaaaa-2', mac: 'fa:16:3e:00:00:02' }] }, /share tap/],
      [{ vcpus: 0 }, /vcpus/],
      [{ memoryMb: 1.5 }, /memoryMb/],
      [{ rootGb: -1 }, /rootGb/],
      [{ directBoot: { kernelId: KERNEL_ID, cmdline: 'quiet\ninit=/bin/sh' } }, /os_command_line cannot be used: the kernel command line holds control characters/],
    ];
    for (const [over, pattern] of bad) {
      await assert.rejects(driver.spawn(spec(id, over)), isVirtError(pattern), JSON.stringify(over));
    }
    assert.equal(existsSync(join(work, 'data', 'instances', id)), false);
  });

  it('answers for an unknown instance with VirtError, or nothing where Nova has nothing to do', async () => {
    const id = randomUUID();
    for (const call of [
      () => driver.powerOn(id),
      () => driver.powerOff(id),
      () => driver.reboot(id, 'HARD'),
      () => driver.pause(id),
      () => driver.suspend(id),
      () => driver.resume(id),
      () => driver.snapshot(id),
      () => driver.consoleOutput(id),
      () => driver.console(id, 'vnc'),
      () => driver.resize(spec(id)),
      () => driver.resumeStateOnHostBoot(spec(id), PowerState.RUNNING),
    ]) {
      await assert.rejects(call(), isVirtError(/could not be found/));
    }
    assert.equal(await driver.instanceInfo(id), undefined);
    await driver.destroy(id);
    assert.deepEqual(await driver.listInstances(), []);
  });
});
