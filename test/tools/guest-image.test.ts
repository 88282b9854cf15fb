// kumo-tiny, the test guest built by tools/guest-image/build.sh, booted under plain QEMU (TCG)
// without any network: it must still report "kumo-tiny ready none none" on its serial console,
// keep /data across a clean ACPI power-off, and power off by itself on the power button.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { guestImage, missingGuestImagePrerequisites, QEMU } from '../helpers/guest-image.js';

const execFileAsync = promisify(execFile);

const READY_TIMEOUT_MS = 120_000;
const POWEROFF_TIMEOUT_MS = 60_000;
const SHELL_TIMEOUT_MS = 60_000;
const READY_LINE = /^kumo-tiny ready (\S+) (\S+)$/m;

const missing = await missingGuestImagePrerequisites();
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const skip: string | false = missing && !inCi ? `guest image prerequisites missing: ${missing}` : false;

function lastLines(text: string, n = 25): string {
  return text.split(/\r?\n/).slice(-n).join('\n');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One QEMU process booting `disk`, its serial console on a unix socket and in a log file. */
class GuestVm {
  readonly consoleSocket: string;
  readonly qmpSocket: string;
  readonly log: string;
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private stderr = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private consolePromise: Promise<Socket> | undefined;

  constructor(dir: string, disk: string, name: string) {
    this.consoleSocket = join(dir, `${name}.console`);
    this.qmpSocket = join(dir, `${name}.qmp`);
    this.log = join(dir, `${name}.log`);
    const args = [
      '-name', `kumo-tiny-${name}`,
      '-machine', 'pc',
      '-accel', 'tcg',
      '-m', '128',
      '-smp', '1',
      '-nodefaults',
      '-no-user-config',
      '-display', 'none',
      '-drive', `file=${disk},format=qcow2,if=virtio`,
      '-chardev', `socket,id=ser0,path=${this.consoleSocket},server=on,wait=off,logfile=${this.log}`,
      '-serial', 'chardev:ser0',
      '-qmp', `unix:${this.qmpSocket},server=on,wait=off`,
      '-nic', 'none',
    ];
    this.child = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      this.child.on('error', (err) => {
        this.stderr += String(err);
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  async console(): Promise<string> {
    const text = await readFile(this.log, 'utf8').catch(() => '');
    return text.replace(/\r/g, '');
  }

  private async describe(): Promise<string> {
    const state = this.exitInfo
      ? `qemu exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})${this.stderr ? `: ${this.stderr.trim()}` : ''}`
      : 'qemu still running';
    return `${state}; last console lines:\n${lastLines(await this.console())}`;
  }

  /** Polls the console log until `pattern` matches (after `from` characters). */
  async waitFor(pattern: RegExp, what: string, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = (await this.console()).slice(from).match(pattern);
      if (match) return match;
      if (!this.alive) throw new Error(`guest stopped while waiting for ${what}; ${await this.describe()}`);
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}; ${await this.describe()}`);
      }
      await sleep(200);
    }
  }

  /** The console socket, connected once and kept: QEMU drops unread input when a client leaves. */
  private consoleConnection(): Promise<Socket> {
    this.consolePromise ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect(this.consoleSocket);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`console socket ${this.consoleSocket}: no connection within 10 s`));
      }, 10_000);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      // The console output also arrives here: drain it (the log file is what we read).
      socket.resume();
      socket.on('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
    return this.consolePromise;
  }

  /** Types one command line on the serial console (the shell on ttyS0). */
  async type(line: string): Promise<void> {
    const socket = await this.consoleConnection();
    // Ctrl-U first: drop whatever an earlier, half-read attempt left on the line.
    await new Promise<void>((resolve, reject) => {
      socket.write(`\x15${line}\r`, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Runs `command` in the console shell until `done` shows up; the shell may not have opened
   * ttyS0 yet right after the ready line, so the (idempotent) command is typed again every 5 s.
   */
  async run(command: string, done: RegExp, what: string): Promise<void> {
    const deadline = Date.now() + SHELL_TIMEOUT_MS;
    const from = (await this.console()).length;
    for (;;) {
      await this.type(command);
      const until = Math.min(Date.now() + 5_000, deadline);
      while (Date.now() < until) {
        if (done.test((await this.console()).slice(from))) return;
        if (!this.alive) throw new Error(`guest stopped while waiting for ${what}; ${await this.describe()}`);
        await sleep(200);
      }
      if (Date.now() >= deadline) {
        throw new Error(`timed out after ${SHELL_TIMEOUT_MS / 1000} s waiting for ${what}; ${await this.describe()}`);
      }
    }
  }

  /** Sends one QMP command (after the capabilities handshake) and returns its reply. */
  async qmp(execute: string): Promise<unknown> {
    return await new Promise((resolve, reject) => {
      const socket = connect(this.qmpSocket);
      let buffer = '';
      let step = 0;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`QMP ${execute}: no reply within 10 s`));
      }, 10_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.setEncoding('utf8');
      socket.on('error', fail);
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const message = JSON.parse(line) as { QMP?: unknown; event?: unknown; return?: unknown; error?: { desc?: string } };
          if (message.event !== undefined) continue;
          if (message.error) return fail(new Error(`QMP ${execute}: ${message.error.desc ?? JSON.stringify(message.error)}`));
          if (message.QMP !== undefined && step === 0) {
            step = 1;
            socket.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
          } else if (message.return !== undefined && step === 1) {
            step = 2;
            socket.write(`${JSON.stringify({ execute })}\n`);
          } else if (message.return !== undefined && step === 2) {
            clearTimeout(timer);
            socket.end();
            resolve(message.return);
          }
        }
      });
    });
  }

  /** Waits for QEMU to exit by itself; fails after `timeoutMs`. */
  async waitExit(timeoutMs: number, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      if ((await Promise.race([this.exited.then(() => 'exited' as const), timeout])) === 'timeout') {
        throw new Error(`qemu did not exit within ${timeoutMs / 1000} s after ${what}; ${await this.describe()}`);
      }
    } finally {
      clearTimeout(timer);
    }
    return this.exitInfo ?? { code: null, signal: null };
  }

  /** Kills QEMU by its PID if it is still running. */
  async kill(): Promise<void> {
    this.consolePromise?.then((socket) => socket.destroy(), () => undefined);
    if (!this.alive || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.exited;
  }
}

async function overlayOf(image: string, dir: string): Promise<string> {
  // A copy-on-write overlay, as Nova boots instances: the cached image is never written.
  const disk = join(dir, 'disk.qcow2');
  await execFileAsync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image, disk]);
  return disk;
}

function countMatches(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0;
}

describe('kumo-tiny guest image (tools/guest-image)', { skip, timeout: 900_000 }, () => {
  test('boots under TCG without network and reports "kumo-tiny ready none none"', async (t) => {
    if (missing) throw new Error(`CI is set but the guest image prerequisites are missing: ${missing}`);
    const image = await guestImage();
    const dir = await mkdtemp(join(tmpdir(), 'kumo-guest-'));
    let vm: GuestVm | undefined;
    try {
      const disk = await overlayOf(image, dir);
      vm = new GuestVm(dir, disk, 'boot');
      const ready = await vm.waitFor(READY_LINE, 'the "kumo-tiny ready" line', READY_TIMEOUT_MS);
      t.diagnostic(`ready line after ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s: ${ready[0]}`);
      assert.equal(ready[1], 'none', 'no NIC, so no address');
      assert.equal(ready[2], 'none', 'no metadata service, so no instance id');
      const text = await vm.console();
      assert.equal(countMatches(text, READY_LINE), 1, 'exactly one ready line');
      assert.doesNotMatch(text, /^kumo-tiny public-key /m);
      assert.doesNotMatch(text, /kumo-tiny: insmod .* failed/);
      assert.doesNotMatch(text, /not persistent/, '/data is mounted from the image');
    } finally {
      await vm?.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('keeps /data across an ACPI power-off (QMP system_powerdown) and a second boot', async (t) => {
    if (missing) throw new Error(`CI is set but the guest image prerequisites are missing: ${missing}`);
    const image = await guestImage();
    const dir = await mkdtemp(join(tmpdir(), 'kumo-guest-'));
    const token = `kumo-persist-${randomUUID()}`;
    let vm: GuestVm | undefined;
    try {
      const disk = await overlayOf(image, dir);

      vm = new GuestVm(dir, disk, 'boot1');
      await vm.waitFor(READY_LINE, 'the ready line of boot 1', READY_TIMEOUT_MS);
      // $((6*7)) is echoed as typed but printed as 42: the "42" line proves the command ran.
      await vm.run(`echo ${token} > /data/marker && sync && echo "kumo-test wrote $((6*7))"`, /^kumo-test wrote 42$/m, 'the marker write');
      const poweroffAt = Date.now();
      await vm.qmp('system_powerdown');
      const exit = await vm.waitExit(POWEROFF_TIMEOUT_MS, 'QMP system_powerdown');
      t.diagnostic(`qemu exited ${((Date.now() - poweroffAt) / 1000).toFixed(1)} s after system_powerdown`);
      assert.equal(exit.code, 0, 'qemu exits normally when the guest powers off');
      const boot1 = await vm.console();
      assert.match(boot1, /kumo-tiny power-button/, 'acpid ran the power-button handler');
      assert.match(boot1, /reboot: Power down/, 'the kernel powered off');

      vm = new GuestVm(dir, disk, 'boot2');
      const ready = await vm.waitFor(READY_LINE, 'the ready line of boot 2', READY_TIMEOUT_MS);
      assert.equal(ready[1], 'none');
      await vm.run(`cat /data/marker; echo "kumo-test read $((6*7))"`, /^kumo-test read 42$/m, 'the marker read');
      const boot2 = await vm.console();
      const afterReady = boot2.slice(boot2.search(READY_LINE));
      assert.ok(
        afterReady.split('\n').some((line) => line.trim() === token),
        `boot 2 reads back the marker written on boot 1; last console lines:\n${lastLines(boot2)}`,
      );
    } finally {
      await vm?.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
