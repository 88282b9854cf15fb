import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { alive } from '../../../src/core/host/daemons.js';
import { VirtError } from '../../../src/agents/compute/virt/driver.js';
import { JsonLineSplitter } from '../../../src/core/host/json-lines.js';
import { findRunning, launchQemu, qemuArgs, type QemuSpec } from '../../../src/agents/compute/virt/qemu/process.js';
import { pausedGuestSpec } from './qemu-tools.js';
import { QmpClient, QmpConnectionError, QmpError, type QmpEvent } from '../../../src/core/host/qmp.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}\n';
const event = (name: string, data: object = {}): string =>
  `${JSON.stringify({ event: name, data, timestamp: { seconds: 1, microseconds: 2 } })}\n`;
const reply = (id: unknown, value: unknown): string => `${JSON.stringify({ return: value, id })}\n`;

type Received = { execute: string; arguments?: Record<string, unknown>; id?: unknown };

/**
 * A stand-in QMP server on a unix socket: it greets in two pieces, then hands each command to
 * `onCommand`, which writes whatever (split, merged, out of order) the case needs.
 */
async function fakeQmp(
  path: string,
  onCommand: (command: Received, socket: Socket) => void | Promise<void>,
  greet = true,
): Promise<Server> {
  const server = createServer((socket) => {
    if (greet) {
      socket.write(GREETING.slice(0, 20));
      setTimeout(() => socket.write(GREETING.slice(20)), 10);
    }
    const splitter = new JsonLineSplitter();
    socket.on('data', (chunk) => {
      for (const message of splitter.push(chunk)) void onCommand(message as Received, socket);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

describe('JsonLineSplitter', () => {
  it('rebuilds messages split across chunks, merged in one chunk, CRLF-ended and split mid UTF-8', () => {
    const s = new JsonLineSplitter();
    assert.deepEqual(s.push('{"a":'), []);
    assert.deepEqual(s.push('1}\n{"b":2}\r\n\n{"c"'), [{ a: 1 }, { b: 2 }]);
    const bytes = Buffer.from(':"é"}\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte é
    assert.deepEqual(s.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(s.push(bytes.subarray(cut)), [{ c: 'é' }]);
  });

  it('throws on a line that is not JSON and on an endless line', () => {
    assert.throws(() => new JsonLineSplitter().push('nope\n'), SyntaxError);
    assert.throws(() => new JsonLineSplitter(8).push('{"aaaaaaaaaa'), /longer than 8/);
  });
});

describe('QmpClient against a fake QMP server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-qmp-'));
  const servers: Server[] = [];
  const clients: QmpClient[] = [];

  after(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates, matches replies by id (even out of order), emits events in between and raises QmpError', async () => {
    const path = join(dir, 'main.qmp');
    const received: Received[] = [];
    let heldStop: Received | undefined;
    servers.push(
      await fakeQmp(path, async (cmd, socket) => {
        received.push(cmd);
        switch (cmd.execute) {
          case 'qmp_capabilities':
            // Reply and an event merged in one chunk.
            socket.write(reply(cmd.id, {}) + event('NIC_RX_FILTER_CHANGED', { name: 'nic0' }));
            break;
          case 'query-status': {
            // An event split in two, its tail merged with the reply.
            const whole = event('STOP') + reply(cmd.id, { status: 'paused', running: false, singlestep: false });
            socket.write(whole.slice(0, 25));
            await sleep(5);
            socket.write(whole.slice(25));
            break;
          }
          case 'human-monitor-command': {
            const bytes = Buffer.from(reply(cmd.id, 'café\r\n'), 'utf8');
            const cut = bytes.indexOf(0xc3) + 1;
            socket.write(bytes.subarray(0, cut));
            await sleep(5);
            socket.write(bytes.subarray(cut));
            break;
          }
          case 'stop':
            heldStop = cmd; // answered after cont, so replies arrive out of order
            break;
          case 'cont':
            socket.write(reply(cmd.id, {}) + reply(heldStop?.id, {}));
            break;
          case 'system_reset':
            socket.write(`${JSON.stringify({ error: { class: 'GenericError', desc: 'not now' }, id: cmd.id })}\n`);
            break;
          case 'device_del':
            socket.write(reply(cmd.id, {}));
            await sleep(10);
            socket.write(event('DEVICE_DELETED', { device: 'other', path: '/x' }) + event('DEVICE_DELETED', { device: 'vol1dev', path: '/y' }));
            break;
        }
      }),
    );
    const events: QmpEvent[] = [];
    const client = await QmpClient.connect(path, 2000);
    clients.push(client);
    client.on('event', (e) => events.push(e));
    assert.equal(client.greeting.version.qemu.major, 7);

    const status = await client.execute('query-status');
    assert.deepEqual(status, { status: 'paused', running: false, singlestep: false });
    assert.equal(await client.execute('human-monitor-command', { 'command-line': 'info status' }), 'café\r\n');
    const [stopped, resumed] = await Promise.all([client.execute('stop'), client.execute('cont')]);
    assert.deepEqual([stopped, resumed], [{}, {}]);

    await assert.rejects(client.execute('system_reset'), (e: unknown) => {
      assert.ok(e instanceof QmpError);
      assert.equal(e.errorClass, 'GenericError');
      assert.equal(e.desc, 'not now');
      assert.equal(e.command, 'system_reset');
      return true;
    });

    const deleted = client.waitForEvent('DEVICE_DELETED', 2000, (e) => e.data?.device === 'vol1dev');
    await client.execute('device_del', { id: 'vol1dev' });
    assert.equal((await deleted).data?.path, '/y');

    // Every command went with its own id, and the arguments as given.
    const ids = received.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id) => typeof id === 'string'));
    assert.deepEqual(received.find((r) => r.execute === 'device_del')?.arguments, { id: 'vol1dev' });
    assert.equal(received.find((r) => r.execute === 'query-status')?.arguments, undefined);
    // The capabilities event came before the listener was added; STOP and both DEVICE_DELETED came after.
    assert.deepEqual(events.map((e) => e.event), ['STOP', 'DEVICE_DELETED', 'DEVICE_DELETED']);
    assert.deepEqual(events[0]?.timestamp, { seconds: 1, microseconds: 2 });
  });

  it('rejects pending commands and emits close when the server goes away', async () => {
    const path = join(dir, 'drop.qmp');
    servers.push(
      await fakeQmp(path, (cmd, socket) => {
        if (cmd.execute === 'qmp_capabilities') socket.write(reply(cmd.id, {}));
        else socket.destroy(); // QEMU died mid-command
      }),
    );
    const client = await QmpClient.connect(path, 2000);
    clients.push(client);
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const waiting = client.waitForEvent('SHUTDOWN', 5000);
    await assert.rejects(client.execute('query-vnc'), QmpConnectionError);
    await assert.rejects(waiting, /closed while waiting for SHUTDOWN/);
    assert.ok(closed);
    assert.ok(client.isClosed);
    await assert.rejects(client.execute('cont'), /connection closed/);
  });

  it('close() rejects what is pending and emits close without an error', async () => {
    const path = join(dir, 'close.qmp');
    servers.push(
      await fakeQmp(path, (cmd, socket) => {
        if (cmd.execute === 'qmp_capabilities') socket.write(reply(cmd.id, {}));
        // everything else is never answered
      }),
    );
    const client = await QmpClient.connect(path, 2000);
    const closes: Array<Error | undefined> = [];
    client.on('close', (error) => closes.push(error));
    const pending = client.execute('query-status');
    await client.close();
    await assert.rejects(pending, /closed by the client/);
    assert.deepEqual(closes, [undefined]);
  });

  it('times out a connect without greeting, a silent command, and fails on a missing socket', async () => {
    const silent = join(dir, 'silent.qmp');
    servers.push(await fakeQmp(silent, () => undefined, false));
    const started = Date.now();
    await assert.rejects(QmpClient.connect(silent, 150), /no greeting within 150 ms/);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(QmpClient.connect(join(dir, 'missing.qmp'), 500), /ENOENT/);

    const mute = join(dir, 'mute.qmp');
    servers.push(await fakeQmp(mute, (cmd, socket) => void (cmd.execute === 'qmp_capabilities' && socket.write(reply(cmd.id, {})))));
    const client = await QmpClient.connect(mute, 2000, { commandTimeoutMs: 100 });
    clients.push(client);
    await assert.rejects(client.execute('query-status'), /no reply within 100 ms/);
    await assert.rejects(client.waitForEvent('RESUME', 50), /no RESUME event within 50 ms/);
  });
});

describe('QEMU arguments and input checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-qemu-args-'));
  const spec = (over: Partial<QemuSpec> = {}): QemuSpec => ({
    name: 'instance-1',
    memoryMb: 128,
    vcpus: 1,
    qmpSocket: join(dir, 'q.qmp'),
    serialLog: join(dir, 'console.log'),
    pidFile: join(dir, 'q.pid'),
    vncSocket: join(dir, 'q.vnc'),
    ...over,
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a TCG, no-defaults, daemonized command line with disk and tap NICs', () => {
    const args = qemuArgs(
      spec({ diskPath: '/var/lib/kumo/i-1/disk', tbSizeMb: 16, paused: true, nics: [{ ifname: 'tap1234abcd-ef', mac: '52:54:00:AB:cd:01' }] }),
    );
    const valuesOf = (flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1] as string] : []));
    assert.deepEqual(valuesOf('-accel'), ['tcg,tb-size=16']);
    assert.deepEqual(valuesOf('-machine'), ['pc']);
    assert.deepEqual(valuesOf('-m'), ['128']);
    assert.deepEqual(valuesOf('-display'), ['none']);
    assert.deepEqual(valuesOf('-qmp'), [`unix:${join(dir, 'q.qmp')},server=on,wait=off`]);
    assert.deepEqual(valuesOf('-vnc'), [`unix:${join(dir, 'q.vnc')}`]);
    assert.deepEqual(valuesOf('-pidfile'), [join(dir, 'q.pid')]);
    assert.deepEqual(valuesOf('-netdev'), ['tap,id=net0,ifname=tap1234abcd-ef,script=no,downscript=no']);
    assert.ok(valuesOf('-device').includes('virtio-net-pci,netdev=net0,mac=52:54:00:ab:cd:01,id=nic0'));
    assert.ok(valuesOf('-blockdev').includes('driver=file,node-name=root-file,filename=/var/lib/kumo/i-1/disk'));
    assert.ok(args.includes('-nodefaults') && args.includes('-S'));
    assert.equal(args.at(-1), '-daemonize');
    assert.ok(!qemuArgs(spec()).includes('-S'));
  });

  it('boots a kernel directly with its initrd and command line, the disk attached as before', () => {
    const cmdline = 'quiet console=tty0 console=ttyS0,115200n8 opt="a b"';
    const args = qemuArgs(spec({ diskPath: '/var/lib/kumo/i-1/disk', kernelPath: '/var/lib/kumo/i-1/kernel', initrdPath: '/var/lib/kumo/i-1/ramdisk', kernelCmdline: cmdline }));
    const valueOf = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    assert.equal(valueOf('-kernel'), '/var/lib/kumo/i-1/kernel');
    assert.equal(valueOf('-initrd'), '/var/lib/kumo/i-1/ramdisk');
    assert.equal(valueOf('-append'), cmdline, 'the command line is one argument, commas and all');
    assert.ok(args.includes('virtio-blk-pci,drive=root,id=root-disk,bootindex=1'));
    const bare = qemuArgs(spec({ kernelPath: '/k' }));
    assert.ok(!bare.includes('-initrd') && !bare.includes('-append'), 'neither an initrd nor a command line unless given');
    assert.ok(!qemuArgs(spec()).includes('-kernel'));
  });

  it('refuses paths with newlines or commas, bad names, bad MACs and bad sizes', () => {
    const bad: Array<[Partial<QemuSpec>, RegExp]> = [
      [{ qmpSocket: `${dir}/a\nb.qmp` }, /QMP socket/],
      [{ serialLog: `${dir}/log,append=off` }, /serial log/],
      [{ diskPath: 'relative/disk' }, /disk/],
      [{ diskPath: '/var/lib/../../etc/shadow' }, /disk/],
      [{ pidFile: `${dir}/with space.pid` }, /pid file/],
      [{ vncSocket: `/${'v'.repeat(120)}` }, /longer than a unix socket path/],
      [{ name: 'a,b' }, /guest name/],
      [{ nics: [{ ifname: 'tap0', mac: '52:54:00:12:34' }] }, /not a MAC/],
      [{ nics: [{ ifname: 'tap0', mac: '01:00:5e:00:00:01' }] }, /multicast/],
      [{ nics: [{ ifname: 'tap0', mac: '52:54:00:12:34:56\n' }] }, /not a MAC/],
      [{ nics: [{ ifname: 'tap-name-too-long', mac: '52:54:00:12:34:56' }] }, /tap name/],
      [{ nics: [{ ifname: 'tap,x', mac: '52:54:00:12:34:56' }] }, /tap name/],
      [{ memoryMb: 12.5 }, /memoryMb/],
      [{ vcpus: 0 }, /vcpus/],
      [{ tbSizeMb: -1 }, /tbSizeMb/],
      [{ kernelPath: '/k,initrd=/etc/shadow' }, /kernel/],
      [{ kernelPath: '/k', initrdPath: 'relative' }, /initrd/],
      [{ initrdPath: '/r' }, /needs a kernel/],
      [{ kernelCmdline: 'quiet' }, /needs a kernel/],
      [{ kernelPath: '/k', kernelCmdline: 'quiet\ninit=/bin/sh' }, /control characters/],
      [{ kernelPath: '/k', kernelCmdline: 'x'.repeat(2048) }, /longer than 2047 bytes/],
    ];
    for (const [over, message] of bad) {
      assert.throws(() => qemuArgs(spec(over)), (e: unknown) => e instanceof VirtError && message.test(e.message), JSON.stringify(over));
    }
  });

  it('launchQemu refuses bad input before running anything', async () => {
    // A stand-in binary that only leaves a mark: bad specs must never get to run it.
    const marker = join(dir, 'ran');
    const binary = join(dir, 'fake-qemu');
    writeFileSync(binary, `#!/bin/sh\ntouch ${marker}\n`);
    chmodSync(binary, 0o755);
    await assert.rejects(launchQemu(spec({ binary, vncSocket: `${dir}/x\n-fake` })), VirtError);
    await assert.rejects(launchQemu(spec({ binary, nics: [{ ifname: 'tap0', mac: 'zz:54:00:12:34:56' }] })), /not a MAC/);
    assert.equal(existsSync(marker), false);
    // The control: a good spec does run it (and then finds no QEMU behind the pid file).
    await assert.rejects(launchQemu(spec({ binary })), /names no QEMU/);
    assert.equal(existsSync(marker), true);
  });
});

function qemuSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run QEMU here';
  const found = (process.env.PATH ?? '').split(':').some((d) => {
    try {
      accessSync(join(d, 'qemu-system-x86_64'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  return found ? undefined : 'needs qemu-system-x86_64 (apt: qemu-system-x86)';
}

describe('a real QEMU (TCG, started paused) driven over QMP', { skip: qemuSkipReason() }, () => {
  let dir = '';
  let spec: QemuSpec;
  let pid: number | undefined;
  let client: QmpClient | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kumo-qemu-'));
    const disk = join(dir, 'disk.qcow2');
    await promisify(execFile)('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    spec = pausedGuestSpec(dir, 'kumo-qmp-test', disk);
    pid = await launchQemu(spec);
    client = await QmpClient.connect(spec.qmpSocket, 5000);
  });

  after(async () => {
    await client?.close();
    // Only the QEMU this suite started, and only while its pid file still names it.
    if (pid !== undefined && findRunning(spec.pidFile, spec.qmpSocket) === pid) process.kill(pid, 'SIGKILL');
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('starts in prelaunch under -S, with its disk attached', async () => {
    assert.ok(pid !== undefined && alive(pid));
    assert.ok((client?.greeting.version.qemu.major ?? 0) >= 7);
    const status = await client!.execute('query-status');
    assert.equal(status.running, false);
    assert.ok(['prelaunch', 'paused'].includes(status.status), status.status);
    const block = await client!.execute('human-monitor-command', { 'command-line': 'info block' });
    assert.match(block, /disk\.qcow2/);
  });

  it('cont runs the guest and stop pauses it, with RESUME and STOP events', async () => {
    const resumed = client!.waitForEvent('RESUME', 5000);
    assert.deepEqual(await client!.execute('cont'), {});
    await resumed;
    const running = await client!.execute('query-status');
    assert.equal(running.status, 'running');
    assert.equal(running.running, true);
    const stopped = client!.waitForEvent('STOP', 5000);
    await client!.execute('stop');
    await stopped;
    const status = await client!.execute('query-status');
    assert.equal(status.status, 'paused');
    assert.equal(status.running, false);
  });

  it('query-vnc reports the unix socket', async () => {
    const vnc = await client!.execute('query-vnc');
    assert.equal(vnc.enabled, true);
    assert.equal(vnc.family, 'unix');
    assert.ok(existsSync(spec.vncSocket));
  });

  it('surfaces QMP errors as QmpError', async () => {
    const untyped = client!.execute.bind(client) as (command: string) => Promise<unknown>;
    await assert.rejects(untyped('no-such-command'), (e: unknown) => e instanceof QmpError && e.errorClass === 'CommandNotFound');
    await assert.rejects(client!.execute('device_del', { id: 'no-such-device' }), (e: unknown) => e instanceof QmpError && e.errorClass === 'DeviceNotFound');
    // The connection stays usable after errors.
    assert.equal((await client!.execute('query-status')).status, 'paused');
  });

  it('is adopted by its pid file, and a second launch on it is refused', async () => {
    assert.equal(findRunning(spec.pidFile, spec.qmpSocket), pid);
    assert.equal(findRunning(spec.pidFile, '/not/this/guest.qmp'), undefined);
    await assert.rejects(launchQemu(spec), /already runs as pid/);
  });

  it('quit ends QEMU: SHUTDOWN, the socket closes, the pid goes and QEMU removes its pid file', async () => {
    const closed = new Promise<void>((resolve) => client!.on('close', () => resolve()));
    const shutdown = client!.waitForEvent('SHUTDOWN', 5000);
    await client!.execute('quit');
    assert.equal((await shutdown).data?.reason, 'host-qmp-quit');
    await closed;
    for (let i = 0; i < 100 && (alive(pid!) || existsSync(spec.pidFile)); i += 1) await sleep(50);
    assert.equal(alive(pid!), false);
    assert.equal(existsSync(spec.pidFile), false);
    assert.equal(findRunning(spec.pidFile, spec.qmpSocket), undefined);
  });
});
