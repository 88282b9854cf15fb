import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCommand } from '../../../../core/host/commands.js';
import { runningPid, stopDaemon } from '../../../../core/host/daemons.js';
import { QmpClient, QmpError } from '../../../../core/host/qmp.js';
import type { Logger } from '../../../../core/log.js';
import { checkId } from '../driver.js';

/**
 * The nbd backend's qemu-storage-daemon: one per volume agent, serving every export of its
 * backend from one NBD server over TCP with TLS-PSK (shared/notes/storage-lab.md). Exports are
 * added and removed over its QMP monitor. Its runtime files (pid file, QMP socket, keys.psk) sit
 * in a directory of the cloud's runtime state, so `kumo down` finds it by that directory and a
 * restarted agent adopts one left running (a crash) instead of starting a second.
 */

export interface StorageDaemonOptions {
  /** The daemon's runtime directory: pid file, QMP socket, keys.psk. */
  runDir: string;
  address: string;
  port: number;
  /** The TLS-PSK identity and hex key clients must present. */
  pskIdentity: string;
  pskKey: string;
  /** Tests only: the named network namespace the agent treats as its host (the dataplane's). */
  netns?: string;
  log: Logger;
}

const PID_FILE = 'qsd.pid';
const QMP_SOCKET = 'qmp.sock';
/** Node and export names are derived from the volume id: a letter and 29 hex digits fit QEMU's 31. */
const short = (volumeId: string) => checkId(volumeId).replaceAll('-', '').slice(0, 29);
export const exportNameOf = (volumeId: string) => `volume-${checkId(volumeId)}`;

export class StorageDaemon {
  private qmp: QmpClient | undefined;
  /** QMP serves one client, and export changes must not interleave: one operation at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: StorageDaemonOptions) {}

  private get pidFile(): string {
    return join(this.opts.runDir, PID_FILE);
  }
  private get socket(): string {
    return join(this.opts.runDir, QMP_SOCKET);
  }

  /** The daemon's pid when it runs (checked against its command line, so a reused pid is not taken). */
  pid(): number | undefined {
    return runningPid(this.pidFile, this.socket);
  }

  /** Starts the daemon, or adopts the one a crashed agent left running, and connects to its monitor. */
  async start(): Promise<void> {
    await mkdir(this.opts.runDir, { recursive: true, mode: 0o700 });
    if (this.pid() === undefined) {
      await rm(this.socket, { force: true });
      // tls-creds-psk reads `identity:key` lines from dir/keys.psk.
      await writeFile(join(this.opts.runDir, 'keys.psk'), `${this.opts.pskIdentity}:${this.opts.pskKey}\n`, { mode: 0o600 });
      await runCommand(
        [
          'qemu-storage-daemon',
          '--chardev', `socket,id=monitor,path=${this.socket},server=on,wait=off`,
          '--monitor', 'chardev=monitor',
          '--object', `tls-creds-psk,id=tls0,endpoint=server,dir=${this.opts.runDir}`,
          '--nbd-server', `addr.type=inet,addr.host=${this.opts.address},addr.port=${this.opts.port},tls-creds=tls0`,
          '--pidfile', this.pidFile,
          '--daemonize',
        ],
        { timeoutMs: 30_000, ...(this.opts.netns !== undefined ? { netns: this.opts.netns } : {}) },
      );
      this.opts.log.info({ address: this.opts.address, port: this.opts.port, pid: this.pid() }, 'qemu-storage-daemon started for the nbd volume backend');
    } else {
      this.opts.log.info({ pid: this.pid() }, 'adopting the qemu-storage-daemon a previous volume agent left running');
    }
    this.qmp = await QmpClient.connect(this.socket, 10_000, { commandTimeoutMs: 60_000 });
  }

  /** Disconnects and ends the daemon (its exports, and its clients' connections, go with it). */
  async stop(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.qmp?.close();
    this.qmp = undefined;
    await stopDaemon(this.pidFile, this.socket);
    await rm(this.opts.runDir, { recursive: true, force: true });
    // The `volume-nbd` directory, and the cloud's runtime directory, when nothing else is left in them.
    const parent = dirname(this.opts.runDir);
    await rmdir(parent).then(() => rmdir(dirname(parent))).catch(() => undefined);
  }

  private monitor(): QmpClient {
    if (!this.qmp || this.qmp.isClosed) throw new Error('the qemu-storage-daemon of the nbd backend is not running');
    return this.qmp;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Whether the volume is exported now. */
  async isExported(volumeId: string): Promise<boolean> {
    const id = `e${short(volumeId)}`;
    return (await this.monitor().execute('query-block-exports')).some((e) => e.id === id && !e['shutting-down']);
  }

  /** Exports a volume's qcow2 file under exportNameOf(volumeId); already exported is fine. */
  export(volumeId: string, path: string): Promise<void> {
    return this.serial(async () => {
      const qmp = this.monitor();
      const id = `e${short(volumeId)}`;
      const present = await qmp.execute('query-block-exports');
      if (present.some((e) => e.id === id && !e['shutting-down'])) return;
      await this.addNodes(volumeId, path);
      try {
        await qmp.execute('block-export-add', { type: 'nbd', id, 'node-name': `q${short(volumeId)}`, name: exportNameOf(volumeId), writable: true });
      } catch (error) {
        await this.removeNodes(volumeId);
        throw error;
      }
    });
  }

  /** Ends a volume's export (dropping any client still on it) and closes its file; not exported is fine. */
  unexport(volumeId: string): Promise<void> {
    return this.serial(async () => {
      const qmp = this.monitor();
      const id = `e${short(volumeId)}`;
      const present = await qmp.execute('query-block-exports');
      if (present.some((e) => e.id === id)) {
        const deleted = qmp.waitForEvent('BLOCK_EXPORT_DELETED', 30_000, (e) => e.data?.id === id);
        try {
          await qmp.execute('block-export-del', { id, mode: 'hard' });
        } catch (error) {
          deleted.catch(() => undefined);
          if (!(error instanceof QmpError && /not found|no such|shutting down/i.test(error.desc))) throw error;
        }
        await deleted.catch(() => undefined);
      }
      await this.removeNodes(volumeId);
    });
  }

  /**
   * A point-in-time copy of an exported volume into a new qcow2 file at `target` (which must
   * not exist), while clients keep writing to it: a blockdev-backup job of the daemon's node.
   */
  copyExported(volumeId: string, target: string, sizeBytes: number): Promise<void> {
    return this.serial(async () => {
      const qmp = this.monitor();
      await runCommand(['qemu-img', 'create', '-q', '-f', 'qcow2', target, String(sizeBytes)], { timeoutMs: 60_000 });
      const job = `b${short(volumeId)}`;
      const targetFile = `t${short(volumeId)}`;
      const targetFormat = `u${short(volumeId)}`;
      await qmp.execute('blockdev-add', { driver: 'file', 'node-name': targetFile, filename: target });
      try {
        await qmp.execute('blockdev-add', { driver: 'qcow2', 'node-name': targetFormat, file: targetFile });
        try {
          const completed = qmp.waitForEvent('BLOCK_JOB_COMPLETED', 30 * 60_000, (e) => e.data?.device === job);
          await qmp.execute('blockdev-backup', { 'job-id': job, device: `q${short(volumeId)}`, target: targetFormat, sync: 'full' }).catch((error: unknown) => {
            completed.catch(() => undefined);
            throw error;
          });
          const event = await completed;
          if (typeof event.data?.error === 'string') throw new Error(`copying volume ${volumeId} failed: ${event.data.error}`);
        } finally {
          await qmp.execute('blockdev-del', { 'node-name': targetFormat }).catch(() => undefined);
        }
      } finally {
        await qmp.execute('blockdev-del', { 'node-name': targetFile }).catch(() => undefined);
      }
    });
  }

  private async addNodes(volumeId: string, path: string): Promise<void> {
    const qmp = this.monitor();
    const file = `f${short(volumeId)}`;
    await qmp.execute('blockdev-add', { driver: 'file', 'node-name': file, filename: path, discard: 'unmap' });
    try {
      await qmp.execute('blockdev-add', { driver: 'qcow2', 'node-name': `q${short(volumeId)}`, file, discard: 'unmap' });
    } catch (error) {
      await qmp.execute('blockdev-del', { 'node-name': file }).catch(() => undefined);
      throw error;
    }
  }

  private async removeNodes(volumeId: string): Promise<void> {
    const qmp = this.monitor();
    for (const node of [`q${short(volumeId)}`, `f${short(volumeId)}`]) {
      await qmp.execute('blockdev-del', { 'node-name': node }).catch((error: unknown) => {
        if (!(error instanceof QmpError && /not found|cannot find/i.test(error.desc))) throw error;
      });
    }
  }
}

/** `kumo down`: ends every nbd backend daemon of the cloud, found under its runtime directory. */
export async function stopStorageDaemons(stateDir: string): Promise<number> {
  const root = join(stateDir, 'volume-nbd');
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let ended = 0;
  for (const name of names) {
    const dir = join(root, name);
    if (await stopDaemon(join(dir, PID_FILE), join(dir, QMP_SOCKET))) ended += 1;
    await rm(dir, { recursive: true, force: true });
  }
  await rm(root, { recursive: true, force: true });
  return ended;
}

/** The runtime directory of the daemon of backend host `host` (one per agent) under the cloud's state directory. */
export function storageDaemonDir(stateDir: string, host: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(host)) throw new Error(`${JSON.stringify(host)} is not a host name`);
  return join(stateDir, 'volume-nbd', host);
}
