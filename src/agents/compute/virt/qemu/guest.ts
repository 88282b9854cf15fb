import { access, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { alive } from '../../../../core/host/daemons.js';
import type { Logger } from '../../../../core/log.js';
import { PowerState, VirtError, type PowerStateValue } from '../driver.js';
import type { InstanceFiles, LaunchRecord } from './instance-files.js';
import { findRunning, launchQemu, type QemuSpec } from './process.js';
import { QmpClient, type QmpEvent, type QmpRunState } from '../../../../core/host/qmp.js';
import { tapOfPort, type Taps } from './taps.js';
import { volumeNodes, writeTlsKeys } from './volumes.js';

/**
 * One guest: its QEMU process (found by pid file), its QMP connection (one per guest: QEMU
 * serves one client per monitor), and the power operations, one at a time.
 *
 * States: `shutoff` (no QEMU) and `suspended` (no QEMU, the state saved in the disk) are on
 * disk; `running`, `paused` and `crashed` come from QEMU (query-status and its events). An
 * operation that ends QEMU on purpose says so first (`expectingExit`); a QEMU that goes away
 * otherwise has died on its own, and the driver hears of it (`onUnexpectedExit`) within
 * seconds: at once when the QMP connection closes, else from the driver's watch.
 */

/**
 * The Debian guest kernel needs at least 96 MiB (below that it hangs in SeaBIOS or panics,
 * shared/notes/guest-lab.md); a smaller flavor runs with this much so it still boots.
 */
export const MIN_GUEST_MEMORY_MB = 128;
/** The internal snapshot a suspend saves the guest's state in (HMP savevm), until resume. */
export const SUSPEND_TAG = 'kumo-suspend';
/** console.log is rotated at launch once it is this big, so it never grows without bound. */
const CONSOLE_ROTATE_BYTES = 8 * 1024 * 1024;
const QMP_CONNECT_TIMEOUT_MS = 5_000;
/** savevm blocks the monitor while it writes the guest's memory. */
const QMP_COMMAND_TIMEOUT_MS = 120_000;
const STATUS_TIMEOUT_MS = 2_000;
const POLL_MS = 100;

export type GuestState = 'shutoff' | 'suspended' | 'running' | 'paused' | 'crashed';

export interface GuestEnv {
  binary?: string;
  accel: 'kvm' | 'tcg';
  tbSizeMb?: number;
  /** QEMU runs in this namespace, the one its taps are in. */
  netns?: string;
  taps: Taps;
  /** How long a guest gets to power off on the ACPI button before QEMU is stopped hard. */
  stopTimeoutMs: number;
  /** The button is pressed again this often while waiting (a guest still booting misses it, as Nova's retry). */
  powerdownRetryMs: number;
  log?: Logger;
  onUnexpectedExit(id: string): void;
}

function powerStateOf(status: QmpRunState): PowerStateValue {
  switch (status) {
    case 'running':
      return PowerState.RUNNING;
    case 'shutdown':
      return PowerState.SHUTDOWN;
    case 'internal-error':
    case 'io-error':
    case 'guest-panicked':
      return PowerState.CRASHED;
    case 'suspended':
      return PowerState.SUSPENDED;
    default:
      // paused, prelaunch, migration and snapshot states, debug, watchdog: vCPUs are stopped.
      return PowerState.PAUSED;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export class Guest {
  private pid: number | undefined;
  private qmp: QmpClient | undefined;
  private runState: QmpRunState | undefined;
  private expectingExit = false;
  private chain: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private adopted: Promise<void> | undefined;
  private reporting = false;

  constructor(
    readonly files: InstanceFiles,
    private readonly env: GuestEnv,
  ) {}

  get id(): string {
    return this.files.id;
  }

  /** The QEMU pid while one runs (tests kill guests by it). */
  get processId(): number | undefined {
    return this.pid;
  }

  /** Runs operations on this guest one after another, in the order they were asked for. */
  run<T>(operation: () => Promise<T>): Promise<T> {
    this.busy += 1;
    const result = this.chain.then(operation);
    this.chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.busy -= 1;
    });
  }

  /**
   * Finds a QEMU that already runs this guest (an agent restart) by its pid file, guarded by
   * the QMP socket path in its command line, and reconnects QMP; once per Guest object.
   */
  adopt(): Promise<void> {
    this.adopted ??= this.run(async () => {
      const pid = findRunning(this.files.pidFile, this.files.qmpSocket);
      if (pid === undefined) return;
      this.pid = pid;
      await this.connect().catch((err: unknown) => this.env.log?.warn({ err, instanceId: this.id, pid }, 'qemu guest adopted without QMP'));
    });
    return this.adopted;
  }

  /** What the guest is now; never waits long on QEMU (a busy monitor answers from the last known state). */
  async state(): Promise<GuestState> {
    if (this.pid !== undefined && alive(this.pid)) {
      const qmp = this.qmp;
      if (qmp && !qmp.isClosed && this.busy === 0) {
        const status = await Promise.race([qmp.execute('query-status').then((s) => s.status), sleep(STATUS_TIMEOUT_MS).then(() => undefined)]).catch(() => undefined);
        if (status !== undefined) this.runState = status;
      }
      const power = powerStateOf(this.runState ?? 'running');
      return power === PowerState.PAUSED ? 'paused' : power === PowerState.CRASHED ? 'crashed' : 'running';
    }
    return (await exists(this.files.suspendedMarker)) ? 'suspended' : 'shutoff';
  }

  async powerState(): Promise<PowerStateValue> {
    switch (await this.state()) {
      case 'running':
        return PowerState.RUNNING;
      case 'paused':
        return PowerState.PAUSED;
      case 'crashed':
        return PowerState.CRASHED;
      case 'suspended':
        return PowerState.SUSPENDED;
      case 'shutoff':
        return PowerState.SHUTDOWN;
    }
  }

  get isRunning(): boolean {
    return this.pid !== undefined && alive(this.pid);
  }

  /** Starts QEMU for the record (taps first: QEMU opens them by name). Call inside run(). */
  async launch(record: LaunchRecord, options: { loadvm?: string } = {}): Promise<void> {
    if (this.isRunning) throw new VirtError(`Instance ${this.id} is already running.`);
    const memoryMb = Math.max(record.memoryMb, MIN_GUEST_MEMORY_MB);
    if (memoryMb !== record.memoryMb) {
      this.env.log?.info({ instanceId: this.id, flavorMemoryMb: record.memoryMb, memoryMb }, `guest memory raised to ${MIN_GUEST_MEMORY_MB} MiB: the guest kernel needs at least 96 MiB`);
    }
    const nics = record.nics.map((nic) => ({ ifname: tapOfPort(nic.portId), mac: nic.mac }));
    for (const nic of nics) await this.env.taps.ensure(nic.ifname);
    await this.rotateConsoleLog();
    await this.files.removeRuntime();
    await mkdir(this.files.runtimeDir, { recursive: true, mode: 0o700 });
    const rootVolume = record.rootVolume ? volumeNodes(record.rootVolume, this.files.volumesDir, { protocol: 'root-file', format: 'root', deviceId: 'root-disk' }) : undefined;
    const volumes = (record.volumes ?? []).map((v) => volumeNodes(v, this.files.volumesDir));
    for (const nodes of [...(rootVolume ? [rootVolume] : []), ...volumes]) await writeTlsKeys(nodes);
    const spec: QemuSpec = {
      name: `kumo-${this.id}`,
      memoryMb,
      vcpus: record.vcpus,
      ...(rootVolume ? { rootVolume } : { diskPath: this.files.disk, diskFormat: 'qcow2' as const }),
      ...(volumes.length > 0 ? { volumes } : {}),
      qmpSocket: this.files.qmpSocket,
      serialLog: this.files.consoleLog,
      consoleSocket: this.files.consoleSocket,
      pidFile: this.files.pidFile,
      vncSocket: this.files.vncSocket,
      nics,
      accel: this.env.accel,
      ...(record.configDrive ? { configDrivePath: this.files.configDrive } : {}),
      ...(record.directBoot
        ? {
            kernelPath: this.files.kernel,
            kernelCmdline: record.directBoot.cmdline,
            ...(record.directBoot.ramdisk ? { initrdPath: this.files.ramdisk } : {}),
          }
        : {}),
      ...(this.env.tbSizeMb !== undefined ? { tbSizeMb: this.env.tbSizeMb } : {}),
      ...(options.loadvm !== undefined ? { loadvm: options.loadvm } : {}),
      ...(this.env.binary !== undefined ? { binary: this.env.binary } : {}),
      ...(this.env.netns !== undefined ? { netns: this.env.netns } : {}),
    };
    this.pid = await launchQemu(spec);
    this.expectingExit = false;
    this.runState = 'running';
    try {
      await this.connect();
    } catch (error) {
      await this.hardStop();
      throw new VirtError(`qemu for ${this.id} started but its QMP socket did not answer: ${(error as Error).message}`);
    }
  }

  /**
   * ACPI power button, pressed again every powerdownRetryMs, until QEMU exits or the timeout;
   * then a hard stop. Resolves true when the guest powered off by itself. Call inside run().
   */
  async powerOff(timeoutMs = this.env.stopTimeoutMs): Promise<boolean> {
    const pid = this.pid;
    if (pid === undefined || !alive(pid)) {
      await this.exited();
      return true;
    }
    this.expectingExit = true;
    const qmp = await this.monitor().catch(() => undefined);
    // Only running vCPUs see the button (not a paused or crashed guest's).
    if (qmp && this.runState === 'running') {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        try {
          await qmp.execute('system_powerdown');
        } catch {
          // QEMU may be exiting already; the wait below tells.
        }
        if (await this.waitExit(pid, Math.min(this.env.powerdownRetryMs, deadline - Date.now()))) {
          await this.exited();
          return true;
        }
      }
      this.env.log?.warn({ instanceId: this.id, timeoutMs }, 'guest did not power off on the ACPI button in time: stopping it hard');
    }
    await this.hardStop();
    return false;
  }

  /** QMP quit (QEMU flushes its disks), SIGKILL by pid when that does not end it. Call inside run(). */
  async hardStop(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || !alive(pid)) {
      await this.exited();
      return;
    }
    this.expectingExit = true;
    const qmp = this.qmp && !this.qmp.isClosed ? this.qmp : undefined;
    try {
      if (qmp) await qmp.execute('quit');
      else process.kill(pid, 'SIGTERM');
    } catch {
      // The connection closes as QEMU quits, or it is already gone.
    }
    if (!(await this.waitExit(pid, 5_000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      if (!(await this.waitExit(pid, 10_000))) throw new VirtError(`qemu pid ${pid} of ${this.id} does not exit, even on SIGKILL`);
    }
    await this.exited();
  }

  async pause(): Promise<void> {
    await (await this.monitor()).execute('stop');
    this.runState = 'paused';
  }

  async unpause(): Promise<void> {
    await (await this.monitor()).execute('cont');
    this.runState = 'running';
  }

  /** The hardware reset line (Nova's hard reboot of a running guest); a paused guest runs again after it. */
  async reset(): Promise<void> {
    const qmp = await this.monitor();
    await qmp.execute('system_reset');
    if (this.runState !== 'running') await qmp.execute('cont');
    this.runState = 'running';
  }

  /** HMP commands QMP has no synchronous equivalent of (savevm, delvm); their errors come back as text. */
  async hmp(commandLine: string): Promise<void> {
    const output = await (await this.monitor()).execute('human-monitor-command', { 'command-line': commandLine });
    if (/error/i.test(output)) throw new VirtError(`qemu ${commandLine.split(' ')[0]} for ${this.id}: ${output.trim()}`);
  }

  /** Saves the guest's memory and devices into its disk, then ends QEMU (suspend). Call inside run(). */
  async saveAndQuit(): Promise<void> {
    await this.hmp(`savevm ${SUSPEND_TAG}`);
    await writeFile(this.files.suspendedMarker, `${SUSPEND_TAG}\n`);
    await this.hardStop();
  }

  /** The QMP connection for what the driver does beside power (volume hot-plug). Call inside run(). */
  qmpClient(): Promise<QmpClient> {
    return this.monitor();
  }

  /** The QMP connection, reconnected when it dropped while QEMU lives. */
  private async monitor(): Promise<QmpClient> {
    if (this.pid === undefined || !alive(this.pid)) throw new VirtError(`Instance ${this.id} is not running.`);
    if (!this.qmp || this.qmp.isClosed) await this.connect();
    return this.qmp as QmpClient;
  }

  private async connect(): Promise<void> {
    const qmp = await QmpClient.connect(this.files.qmpSocket, QMP_CONNECT_TIMEOUT_MS, { commandTimeoutMs: QMP_COMMAND_TIMEOUT_MS });
    this.qmp = qmp;
    qmp.on('event', (event) => this.onEvent(event));
    qmp.on('close', () => {
      if (this.qmp === qmp) this.qmp = undefined;
      void this.checkExit();
    });
    const status = await qmp.execute('query-status');
    this.runState = status.status;
  }

  private onEvent(event: QmpEvent): void {
    if (event.event === 'STOP') this.runState = 'paused';
    else if (event.event === 'RESUME') this.runState = 'running';
    else if (event.event === 'SHUTDOWN') this.runState = 'shutdown';
  }

  /**
   * Called when QMP closes and by the driver's watch: a QEMU that is gone without an
   * operation ending it died on its own; its leftovers go and the driver is told.
   */
  async checkExit(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined || this.expectingExit || this.reporting) return;
    if (alive(pid) && this.qmp !== undefined && !this.qmp.isClosed) return;
    this.reporting = true;
    try {
      // QMP closes a moment before the process is gone.
      if (!(await this.waitExit(pid, 2_000))) {
        // Alive but without QMP (the connection dropped): reconnect when nothing else is under way.
        if ((!this.qmp || this.qmp.isClosed) && this.busy === 0) await this.connect().catch(() => undefined);
        return;
      }
      if (this.expectingExit || this.pid !== pid) return;
      await this.exited();
      this.env.log?.warn({ instanceId: this.id, pid }, 'qemu exited without being asked to');
      this.env.onUnexpectedExit(this.id);
    } finally {
      this.reporting = false;
    }
  }

  /** Lets go of QMP, leaving QEMU running (the agent stops; a new one adopts the guest). */
  async detach(): Promise<void> {
    this.expectingExit = true;
    const qmp = this.qmp;
    this.qmp = undefined;
    await qmp?.close();
  }

  private async waitExit(pid: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (alive(pid)) {
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
    return true;
  }

  /** After QEMU is gone: forget it and remove its sockets and pid file. */
  private async exited(): Promise<void> {
    const qmp = this.qmp;
    this.qmp = undefined;
    this.pid = undefined;
    this.runState = undefined;
    await qmp?.close();
    await this.files.removeRuntime();
  }

  private async rotateConsoleLog(): Promise<void> {
    const size = await stat(this.files.consoleLog).then(
      (s) => s.size,
      () => 0,
    );
    if (size > CONSOLE_ROTATE_BYTES) await rename(this.files.consoleLog, this.files.oldConsoleLog);
  }
}
