import { networkInterfaces } from 'node:os';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConnectionInfo, ImageSource, ImageTarget, VolumeConnector } from '../../../../contracts/volume.js';
import { runCommand } from '../../../../core/host/commands.js';
import type { Logger } from '../../../../core/log.js';
import { checkId, type BackendStats, type VolumeBackend } from '../driver.js';

const GiB = 2 ** 30;
/** Glance disk formats qemu-img reads, by its own names. */
const QEMU_FORMATS: Record<string, string> = { raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vdi: 'vdi', vhd: 'vpc', vhdx: 'vhdx' };

export interface FileBackendOptions {
  /** Where volume files live: one qcow2 per volume, one per snapshot. */
  dir: string;
  /** The host the agent runs on: file volumes attach only to guests of this host. */
  host: string;
  log: Logger;
  /** Cinder's max_over_subscription_ratio (thin qcow2 files). */
  maxOverSubscriptionRatio?: number;
  reservedPercentage?: number;
  /** How long a qemu-img copy may take. */
  commandTimeoutMs?: number;
}

interface QemuImgInfo {
  'virtual-size': number;
  format: string;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'data-file'?: string;
  'format-specific'?: { data?: { 'data-file'?: string } };
}

/**
 * The all-in-one backend: a qcow2 file per volume in the data directory (Cinder's remotefs
 * drivers, without the remote share). Snapshots and clones are full copies made with
 * qemu-img (no chains to follow on delete). A file is written under a `.part` name and
 * renamed once complete, so a crash never leaves a half-made volume under its real name; the
 * next start removes the leftovers. Attached by QEMU on the same host, which can grow it online.
 */
export class FileBackend implements VolumeBackend {
  readonly name = 'file';

  constructor(private readonly opts: FileBackendOptions) {}

  /** Where a volume's file is (the nbd backend keeps its files the same way and exports them). */
  volumePath(id: string): string {
    return join(this.opts.dir, `volume-${checkId(id)}.qcow2`);
  }
  snapshotPath(id: string): string {
    return join(this.opts.dir, `snapshot-${checkId(id, 'snapshot')}.qcow2`);
  }
  private partOf(path: string): string {
    return `${path}.part`;
  }
  private get timeout(): number {
    return this.opts.commandTimeoutMs ?? 30 * 60_000;
  }

  async setup(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.opts.dir)) {
      if (name.endsWith('.part') || name.endsWith('.download')) {
        this.opts.log.warn({ file: name }, 'removing what an interrupted volume task left half-made');
        await rm(join(this.opts.dir, name), { force: true });
      }
    }
  }

  private async info(path: string, format?: string): Promise<QemuImgInfo> {
    const argv = ['qemu-img', 'info', '--output=json', '-U'];
    if (format) argv.push('-f', format);
    argv.push(path);
    return JSON.parse(await runCommand(argv, { timeoutMs: 60_000 })) as QemuImgInfo;
  }

  /** Writes `path` under its .part name with `make`, grows it to sizeGb, then renames it into place. */
  async build(path: string, sizeGb: number, make: (part: string) => Promise<void>): Promise<void> {
    const part = this.partOf(path);
    try {
      await make(part);
      const info = await this.info(part, 'qcow2');
      if (info['virtual-size'] > sizeGb * GiB) throw new Error(`the source is ${info['virtual-size']} bytes, larger than the ${sizeGb} GiB volume`);
      if (info['virtual-size'] < sizeGb * GiB) await runCommand(['qemu-img', 'resize', '-f', 'qcow2', part, `${sizeGb}G`], { timeoutMs: 60_000 });
      await rename(part, path);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
  }

  async createVolume(volumeId: string, sizeGb: number): Promise<void> {
    await this.build(this.volumePath(volumeId), sizeGb, async (part) => {
      await runCommand(['qemu-img', 'create', '-q', '-f', 'qcow2', part, `${sizeGb}G`], { timeoutMs: 60_000 });
    });
  }

  /** Copies a qcow2 file we made (no backing file) into a new volume's .part. */
  private async copyFrom(source: string, part: string): Promise<void> {
    await runCommand(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O', 'qcow2', source, part], { timeoutMs: this.timeout });
  }

  async createFromSnapshot(volumeId: string, snapshotId: string, sizeGb: number): Promise<void> {
    const source = this.snapshotPath(snapshotId);
    await this.build(this.volumePath(volumeId), sizeGb, (part) => this.copyFrom(source, part));
  }

  async cloneVolume(volumeId: string, sourceVolumeId: string, sizeGb: number): Promise<void> {
    const source = this.volumePath(sourceVolumeId);
    await this.build(this.volumePath(volumeId), sizeGb, (part) => this.copyFrom(source, part));
  }

  async copyImageToVolume(volumeId: string, image: ImageSource, sizeGb: number): Promise<void> {
    const format = QEMU_FORMATS[image.diskFormat];
    if (!format) throw new Error(`disk format ${image.diskFormat} cannot be written to a volume`);
    const path = this.volumePath(volumeId);
    const download = `${path}.download`;
    try {
      const response = await fetch(image.url, { headers: image.headers });
      if (!response.ok || !response.body) throw new Error(`the Image API answered ${response.status} for image ${image.imageId}`);
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(download, { mode: 0o600 }));
      // An image is untrusted input: it must be what it says, and must not name other files
      // (a backing file or external data file would let it read the host's).
      const info = await this.info(download, format);
      if (info['backing-filename'] || info['full-backing-filename'] || info['data-file'] || info['format-specific']?.data?.['data-file']) {
        throw new Error(`image ${image.imageId} refers to another file (backing or data file); refused`);
      }
      if (info['virtual-size'] > sizeGb * GiB) throw new Error(`image ${image.imageId} is ${Math.ceil(info['virtual-size'] / GiB)} GiB, larger than the ${sizeGb} GiB volume`);
      await this.build(path, sizeGb, async (part) => {
        await runCommand(['qemu-img', 'convert', '-f', format, '-O', 'qcow2', download, part], { timeoutMs: this.timeout });
      });
    } finally {
      await rm(download, { force: true });
    }
  }

  async copyVolumeToImage(volumeId: string, image: ImageTarget): Promise<void> {
    const path = this.volumePath(volumeId);
    const out = `${path}.upload.part`;
    try {
      await runCommand(['qemu-img', 'convert', '-U', '-f', 'qcow2', '-O', image.diskFormat, path, out], { timeoutMs: this.timeout });
      const { createReadStream } = await import('node:fs');
      const size = (await stat(out)).size;
      const body = Readable.toWeb(createReadStream(out)) as unknown as ReadableStream;
      const response = await fetch(image.url, {
        method: 'PUT',
        headers: { ...image.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body,
        duplex: 'half',
      } as RequestInit);
      if (!response.ok) throw new Error(`the Image API refused the upload (${response.status})`);
    } finally {
      await rm(out, { force: true });
    }
  }

  async deleteVolume(volumeId: string): Promise<void> {
    const path = this.volumePath(volumeId);
    await rm(this.partOf(path), { force: true });
    await rm(path, { force: true });
  }

  async extendVolume(volumeId: string, newSizeGb: number, attached: boolean): Promise<void> {
    // Attached: the guest's QEMU holds the file's write lock and grows it itself (block_resize
    // on the volume-extended event); qemu-img must not write under it.
    if (attached) return;
    await runCommand(['qemu-img', 'resize', '-f', 'qcow2', this.volumePath(volumeId), `${newSizeGb}G`], { timeoutMs: 60_000 });
  }

  async createSnapshot(snapshotId: string, volumeId: string): Promise<void> {
    const path = this.snapshotPath(snapshotId);
    const part = this.partOf(path);
    try {
      await this.copyFrom(this.volumePath(volumeId), part);
      await rename(part, path);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const path = this.snapshotPath(snapshotId);
    await rm(this.partOf(path), { force: true });
    await rm(path, { force: true });
  }

  async initializeConnection(volumeId: string, connector: VolumeConnector, accessMode: 'rw' | 'ro'): Promise<ConnectionInfo> {
    const path = this.volumePath(volumeId);
    await stat(path);
    // The path is good on this machine only: for this host, or an attacher whose address is one
    // of this machine's (the all-in-one's simulated hosts share it), never another machine.
    if (connector.host !== undefined && connector.host !== this.opts.host && !isThisMachine(connector.ip)) {
      throw new Error(`file volumes attach only on their own machine (${this.opts.host}), not ${String(connector.host)}`);
    }
    return { driver_volume_type: 'file', data: { device_path: path, format: 'qcow2', volume_id: volumeId, access_mode: accessMode, online_extend: true, qos_specs: null, encrypted: false, discard: true } };
  }

  async terminateConnection(): Promise<void> {
    // Nothing is exported: the attacher's QEMU simply closes the file.
  }

  async listVolumes(): Promise<string[]> {
    const names = await readdir(this.opts.dir).catch(() => [] as string[]);
    return names.map((n) => /^volume-([0-9a-f-]{36})\.qcow2$/.exec(n)?.[1]).filter((id): id is string => id !== undefined);
  }

  async volumeSizeGb(volumeId: string): Promise<number | null> {
    try {
      const info = await this.info(this.volumePath(volumeId), 'qcow2');
      return Math.ceil(info['virtual-size'] / GiB);
    } catch {
      return null;
    }
  }

  async stats(): Promise<BackendStats> {
    const fs = await statfs(this.opts.dir);
    return {
      driver: 'file',
      storageProtocol: 'file',
      totalCapacityGb: Math.floor((fs.blocks * fs.bsize) / GiB),
      freeCapacityGb: Math.floor((fs.bavail * fs.bsize) / GiB),
      reservedPercentage: this.opts.reservedPercentage ?? 0,
      thinProvisioning: true,
      maxOverSubscriptionRatio: this.opts.maxOverSubscriptionRatio ?? 20,
      onlineExtend: true,
      multiattach: true,
      volumeCount: (await this.listVolumes()).length,
    };
  }
}

/** True when `ip` is one of this machine's own addresses (loopback included). */
function isThisMachine(ip: unknown): boolean {
  if (typeof ip !== 'string' || ip === '') return false;
  if (ip.startsWith('127.') || ip === '::1') return true;
  return Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.address === ip));
}
