import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ConnectionInfo, ImageSource, ImageTarget, VolumeConnector } from '../../../../contracts/volume.js';
import { runCommand } from '../../../../core/host/commands.js';
import type { Logger } from '../../../../core/log.js';
import { checkId, type BackendStats, type VolumeBackend } from '../driver.js';
import { FileBackend } from '../file/file.js';
import { exportNameOf, StorageDaemon } from './storage-daemon.js';

const GiB = 2 ** 30;

export interface NbdBackendOptions {
  /** Where volume files live (qcow2, as the file backend keeps them), with the server's settings. */
  dir: string;
  /** The storage daemon's runtime directory (pid file, QMP socket, keys.psk). */
  runDir: string;
  /** The address the NBD server listens on and attachers are given. */
  address: string;
  /** The NBD server's port; unset, one is picked on the first start and kept in `dir`. */
  port?: number;
  /** The TLS-PSK identity attachers present (`kumo-<cloud id>`). */
  pskIdentity: string;
  /** Tests only: the network namespace the host's guests run in (the dataplane's host namespace). */
  netns?: string;
  log: Logger;
  maxOverSubscriptionRatio?: number;
  reservedPercentage?: number;
}

/** What survives a restart besides the volume files: the server's port and key. */
interface ServerSettings {
  port: number;
  pskKey: string;
}

/** Volume id -> the connectors (host|instance) it is exported for. */
type Connections = Record<string, string[]>;

const connectorKey = (connector: VolumeConnector) => `${String(connector.host ?? '')}|${String(connector.instance ?? '')}`;

/**
 * The multi-host backend: volumes are qcow2 files in the agent's own directory (made, copied
 * and grown as the file backend makes them), exported by the agent's qemu-storage-daemon over
 * NBD with TLS-PSK while they have connections, so a guest on any host attaches them over the
 * network (compute's `nbd` volume nodes). The key is the agent's own, handed out in the
 * connection info of every attachment (as iSCSI CHAP secrets are), and the same after a
 * restart, as are the port and export names: a restarted agent starts its daemon again with
 * the exports its connections record lists, and attached guests reconnect. QEMU 7.2 cannot
 * grow an NBD node, so there is no online extend.
 */
export class NbdBackend implements VolumeBackend {
  readonly name = 'nbd';
  private readonly files: FileBackend;
  private daemon: StorageDaemon | undefined;
  private settings: ServerSettings | undefined;
  private connections: Connections = {};
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: NbdBackendOptions) {
    this.files = new FileBackend({
      dir: opts.dir,
      host: '',
      log: opts.log,
      ...(opts.maxOverSubscriptionRatio !== undefined ? { maxOverSubscriptionRatio: opts.maxOverSubscriptionRatio } : {}),
      ...(opts.reservedPercentage !== undefined ? { reservedPercentage: opts.reservedPercentage } : {}),
    });
  }

  private get settingsFile(): string {
    return join(this.opts.dir, 'nbd-server.json');
  }
  private get connectionsFile(): string {
    return join(this.opts.dir, 'nbd-connections.json');
  }

  /** The NBD server's port (after setup). */
  get port(): number {
    return this.server().port;
  }

  private server(): ServerSettings {
    if (!this.settings) throw new Error('the nbd backend is not set up');
    return this.settings;
  }

  private storage(): StorageDaemon {
    if (!this.daemon) throw new Error('the nbd backend is not set up');
    return this.daemon;
  }

  async setup(): Promise<void> {
    await this.files.setup();
    this.settings = await this.loadSettings();
    this.connections = await readJson<Connections>(this.connectionsFile, {});
    this.daemon = new StorageDaemon({ runDir: this.opts.runDir, address: this.opts.address, port: this.settings.port, pskIdentity: this.opts.pskIdentity, pskKey: this.settings.pskKey, ...(this.opts.netns !== undefined ? { netns: this.opts.netns } : {}), log: this.opts.log });
    await this.daemon.start();
    // Attached volumes are exported again, so their guests' NBD clients reconnect.
    const held = new Set(await this.files.listVolumes());
    for (const volumeId of Object.keys(this.connections)) {
      if (!held.has(volumeId)) {
        delete this.connections[volumeId];
        continue;
      }
      await this.daemon.export(volumeId, this.files.volumePath(volumeId));
    }
    await this.saveConnections();
  }

  /** Ends the storage daemon: attached guests wait (NBD reconnect) until the agent is back. */
  async stop(): Promise<void> {
    await this.saving;
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  private async loadSettings(): Promise<ServerSettings> {
    const saved = await readJson<Partial<ServerSettings>>(this.settingsFile, {});
    const port = this.opts.port ?? (typeof saved.port === 'number' ? saved.port : await freePort(this.opts.address));
    const pskKey = typeof saved.pskKey === 'string' && /^[0-9a-f]{64}$/.test(saved.pskKey) ? saved.pskKey : randomBytes(32).toString('hex');
    const settings = { port, pskKey };
    if (saved.port !== port || saved.pskKey !== pskKey) await writeJson(this.settingsFile, settings);
    return settings;
  }

  private saveConnections(): Promise<void> {
    const snapshot = JSON.stringify(this.connections);
    this.saving = this.saving.then(() => writeJson(this.connectionsFile, JSON.parse(snapshot) as Connections));
    return this.saving;
  }

  private async exported(volumeId: string): Promise<boolean> {
    return this.daemon !== undefined && (await this.daemon.isExported(volumeId));
  }

  /** A point-in-time copy of a volume into `part`: through the daemon when exported, else with qemu-img. */
  private async copyVolume(volumeId: string, part: string): Promise<void> {
    if (await this.exported(volumeId)) {
      const sizeGb = await this.files.volumeSizeGb(volumeId);
      if (sizeGb === null) throw new Error(`volume ${volumeId} has no data`);
      await this.storage().copyExported(volumeId, part, sizeGb * GiB);
    } else {
      await rm(part, { force: true });
      await runCommand(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O', 'qcow2', this.files.volumePath(volumeId), part], { timeoutMs: 30 * 60_000 });
    }
  }

  createVolume(volumeId: string, sizeGb: number): Promise<void> {
    return this.files.createVolume(volumeId, sizeGb);
  }

  createFromSnapshot(volumeId: string, snapshotId: string, sizeGb: number): Promise<void> {
    return this.files.createFromSnapshot(volumeId, snapshotId, sizeGb);
  }

  async cloneVolume(volumeId: string, sourceVolumeId: string, sizeGb: number): Promise<void> {
    checkId(sourceVolumeId);
    await this.files.build(this.files.volumePath(volumeId), sizeGb, (part) => this.copyVolume(sourceVolumeId, part));
  }

  copyImageToVolume(volumeId: string, image: ImageSource, sizeGb: number): Promise<void> {
    return this.files.copyImageToVolume(volumeId, image, sizeGb);
  }

  copyVolumeToImage(volumeId: string, image: ImageTarget): Promise<void> {
    return this.files.copyVolumeToImage(volumeId, image);
  }

  async deleteVolume(volumeId: string): Promise<void> {
    checkId(volumeId);
    if (this.connections[volumeId]) {
      delete this.connections[volumeId];
      await this.saveConnections();
    }
    if (await this.exported(volumeId)) await this.storage().unexport(volumeId);
    await this.files.deleteVolume(volumeId);
  }

  async extendVolume(volumeId: string, newSizeGb: number, attached: boolean): Promise<void> {
    if (attached) throw new Error(`Cannot grow NBD volume ${volumeId} while it is attached (QEMU cannot grow NBD nodes); detach it first.`);
    // An export left by a connection that was never terminated holds the file's write lock.
    if (await this.exported(volumeId)) await this.storage().unexport(volumeId);
    await this.files.extendVolume(volumeId, newSizeGb, false);
  }

  async createSnapshot(snapshotId: string, volumeId: string): Promise<void> {
    const path = this.files.snapshotPath(snapshotId);
    const part = `${path}.part`;
    try {
      await this.copyVolume(volumeId, part);
      await rename(part, path);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
  }

  deleteSnapshot(snapshotId: string): Promise<void> {
    return this.files.deleteSnapshot(snapshotId);
  }

  async initializeConnection(volumeId: string, connector: VolumeConnector, accessMode: 'rw' | 'ro'): Promise<ConnectionInfo> {
    if ((await this.files.volumeSizeGb(volumeId)) === null) throw new Error(`volume ${volumeId} is not on this backend`);
    await this.storage().export(volumeId, this.files.volumePath(volumeId));
    const keys = new Set(this.connections[volumeId] ?? []);
    keys.add(connectorKey(connector));
    this.connections[volumeId] = [...keys];
    await this.saveConnections();
    const server = this.server();
    return {
      driver_volume_type: 'nbd',
      data: {
        host: this.opts.address,
        port: server.port,
        export_name: exportNameOf(volumeId),
        tls_psk_identity: this.opts.pskIdentity,
        tls_psk_key: server.pskKey,
        format: 'raw',
        volume_id: volumeId,
        access_mode: accessMode,
        online_extend: false,
        qos_specs: null,
        encrypted: false,
        discard: true,
      },
    };
  }

  async terminateConnection(volumeId: string, connector: VolumeConnector): Promise<void> {
    checkId(volumeId);
    const key = connectorKey(connector);
    const keys = this.connections[volumeId] ?? [];
    // A legacy caller may name the host without the instance: it lets go of that host's connections.
    const left = keys.includes(key) ? keys.filter((k) => k !== key) : keys.filter((k) => !k.startsWith(`${String(connector.host ?? '')}|`));
    if (left.length > 0) this.connections[volumeId] = left;
    else delete this.connections[volumeId];
    await this.saveConnections();
    if (left.length === 0) await this.storage().unexport(volumeId);
  }

  listVolumes(): Promise<string[]> {
    return this.files.listVolumes();
  }

  volumeSizeGb(volumeId: string): Promise<number | null> {
    return this.files.volumeSizeGb(volumeId);
  }

  async stats(): Promise<BackendStats> {
    const stats = await this.files.stats();
    return { ...stats, driver: 'nbd', storageProtocol: 'NBD', onlineExtend: false, multiattach: true };
  }
}

async function readJson<T>(path: string, empty: T): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw error;
  }
}

/** Written whole or not at all (a crash mid-write keeps the previous file). */
async function writeJson(path: string, value: unknown): Promise<void> {
  const part = `${path}.tmp`;
  await writeFile(part, JSON.stringify(value), { mode: 0o600 });
  await rename(part, path);
}

/** A TCP port free on `address` now (the kernel's pick). */
function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const info = server.address();
      server.close(() => (typeof info === 'object' && info ? resolve(info.port) : reject(new Error('no port'))));
    });
  });
}
