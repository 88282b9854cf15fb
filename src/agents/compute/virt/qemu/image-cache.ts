import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../../core/log.js';
import { BuildAbortError, VirtError } from '../driver.js';
import { checkDiskPath, imageInfo, type DiskFormat, type ImageInfo } from './qemu-img.js';

/**
 * The host's image cache, as Nova's `<instances>/_base`: the first boot of an image on a host
 * fetches it from the image service once, later boots reuse the file as the backing file of
 * their overlays. A file appears under its final name only once it is complete, verified and
 * on disk; until then it is a `.part` file nobody boots from.
 *
 * As in Nova, the cache is the host's, not a project's: whether a project may boot an image is
 * decided by the API when the boot is requested; here the project only names whose rights the
 * first download uses.
 */

/** Where images come from: the image service, acting for the instance's project. */
export interface ImageSource {
  download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }>;
}

export interface CachedImage {
  path: string;
  format: DiskFormat;
  virtualSize: number;
}

/**
 * The kernel or the initramfs of an AMI-style image (Glance's kernel_id / ramdisk_id, Nova's
 * libvirt driver boots them directly): files QEMU loads itself, never opened as disks.
 */
export type BootFileKind = 'kernel' | 'ramdisk';

/** The disk formats Glance gives such images (aki, ari), and raw, as Nova fetches both as raw bytes. */
const BOOT_FILE_FORMATS: Record<BootFileKind, readonly string[]> = { kernel: ['aki', 'raw'], ramdisk: ['ari', 'raw'] };

const UUID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;
const PART = /^\.([0-9a-f-]{36})\.(\d+)\.[0-9a-f]+\.part$/;
const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** The qcow2 header fields read here end at byte 80 (incompatible_features, version 3). */
const HEADER_BYTES = 80;
/** qcow2 incompatible feature bit 2: clusters live in an external data file. */
const QCOW2_EXTERNAL_DATA_FILE = 1n << 2n;

/** The canonical (lower case, dashed) form of an image id, or a VirtError for anything else. */
export function canonicalImageId(imageId: string): string {
  const match = typeof imageId === 'string' ? UUID.exec(imageId) : null;
  if (!match) throw new VirtError(`image id ${JSON.stringify(String(imageId).slice(0, 64))} is not a UUID`);
  return match.slice(1).join('-').toLowerCase();
}

export class ImageCache {
  private readonly dir: string;
  private readonly source: ImageSource;
  private readonly log: Logger | undefined;
  /** One download per image, shared by every ensure() that asks while it runs. */
  private readonly pending = new Map<string, Promise<CachedImage>>();
  private readonly pendingFiles = new Map<string, Promise<string>>();
  private staleSwept = false;

  constructor(opts: { dir: string; source: ImageSource; log?: Logger }) {
    checkDiskPath('image cache directory', opts.dir);
    this.dir = opts.dir;
    this.source = opts.source;
    this.log = opts.log;
  }

  /** The cached image, downloaded and verified first when this host does not have it yet. */
  ensure(projectId: string, imageId: string): Promise<CachedImage> {
    let id: string;
    try {
      id = canonicalImageId(imageId);
    } catch (error) {
      return Promise.reject(error);
    }
    const running = this.pending.get(id);
    if (running) return running;
    const work = this.load(projectId, id).finally(() => this.pending.delete(id));
    this.pending.set(id, work);
    return work;
  }

  /**
   * A kernel or ramdisk image's file, downloaded and verified first when this host does not have
   * it yet; the same cache, the same one download per image, but nothing reads it as a disk.
   */
  ensureBootFile(projectId: string, imageId: string, kind: BootFileKind): Promise<string> {
    let id: string;
    try {
      id = canonicalImageId(imageId);
    } catch (error) {
      return Promise.reject(error);
    }
    const key = `${kind}:${id}`;
    const running = this.pendingFiles.get(key);
    if (running) return running;
    const work = this.loadBootFile(projectId, id, kind).finally(() => this.pendingFiles.delete(key));
    this.pendingFiles.set(key, work);
    return work;
  }

  /** Where an image is (or would be) cached. */
  pathOf(imageId: string): string {
    return join(this.dir, canonicalImageId(imageId));
  }

  private async load(projectId: string, id: string): Promise<CachedImage> {
    const path = join(this.dir, id);
    if (await exists(path)) {
      // Checked again on every first use in this process: the file outlives the process that verified it.
      const info = await imageInfo(path);
      return { path, ...acceptable(id, info, null) };
    }
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await this.sweepStaleParts();
    return this.download(projectId, id, path);
  }

  private async loadBootFile(projectId: string, id: string, kind: BootFileKind): Promise<string> {
    const path = join(this.dir, id);
    if (await exists(path)) return path;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await this.sweepStaleParts();
    const started = Date.now();
    const { data, diskFormat, checksum } = await this.fetch(projectId, id);
    if (diskFormat === null || !BOOT_FILE_FORMATS[kind].includes(diskFormat)) {
      await abandon(data);
      throw new BuildAbortError(`image ${id} has disk_format ${diskFormat ?? 'none'}; a ${kind} image must be ${BOOT_FILE_FORMATS[kind].join(' or ')}`);
    }
    const part = this.partOf(id);
    try {
      const { md5, bytes } = await writeDurably(part, data);
      verifyChecksum(id, checksum, md5, bytes);
      if (checksum === null) this.log?.warn({ imageId: id }, 'image has no checksum to verify its download against');
      await this.publish(part, path);
      this.log?.info({ imageId: id, bytes, kind, ms: Date.now() - started }, 'image cached');
      return path;
    } catch (error) {
      await unlink(part).catch(() => undefined);
      if (error instanceof VirtError) throw error;
      throw new VirtError(`image ${id} could not be cached: ${(error as Error).message}`);
    }
  }

  private async fetch(projectId: string, id: string): Promise<Awaited<ReturnType<ImageSource['download']>>> {
    try {
      return await this.source.download(projectId, id);
    } catch (error) {
      throw new VirtError(`image ${id} could not be downloaded: ${(error as Error).message}`);
    }
  }

  private partOf(id: string): string {
    return join(this.dir, `.${id}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  }

  /** A complete, verified `.part` file becomes the cached image: read-only, under its final name, on disk. */
  private async publish(part: string, path: string): Promise<void> {
    await chmod(part, 0o444);
    await rename(part, path);
    await syncDirectory(this.dir);
  }

  private async download(projectId: string, id: string, path: string): Promise<CachedImage> {
    const started = Date.now();
    const { data, diskFormat, checksum } = await this.fetch(projectId, id);
    if (diskFormat !== null && diskFormat !== 'qcow2' && diskFormat !== 'raw') {
      await abandon(data);
      throw new BuildAbortError(`image ${id} has disk_format ${diskFormat}; this driver boots only qcow2 and raw images`);
    }

    const part = this.partOf(id);
    try {
      const { md5, bytes, header } = await writeDurably(part, data);
      verifyChecksum(id, checksum, md5, bytes);
      if (checksum === null) this.log?.warn({ imageId: id }, 'image has no checksum to verify its download against');
      // Read before qemu-img opens the file at all: its header must not point at other host files.
      checkQcow2Header(id, header);
      const info = await imageInfo(part);
      const accepted = acceptable(id, info, diskFormat);
      if ((accepted.format === 'qcow2') !== isQcow2(header)) {
        throw new VirtError(`image ${id}: qemu-img reads it as ${info.format}, its header says otherwise`);
      }
      await this.publish(part, path);
      this.log?.info({ imageId: id, bytes, format: accepted.format, ms: Date.now() - started }, 'image cached');
      return { path, ...accepted };
    } catch (error) {
      await unlink(part).catch(() => undefined);
      if (error instanceof VirtError) throw error;
      throw new VirtError(`image ${id} could not be cached: ${(error as Error).message}`);
    }
  }

  /** Removes `.part` files that processes which have since died left behind. */
  private async sweepStaleParts(): Promise<void> {
    if (this.staleSwept) return;
    this.staleSwept = true;
    for (const name of await readdir(this.dir)) {
      const match = PART.exec(name);
      if (!match || processAlive(Number(match[2]))) continue;
      await unlink(join(this.dir, name)).catch(() => undefined);
      this.log?.info({ file: name }, 'removed an unfinished image download');
    }
  }
}

/** The format and size of an image the driver may boot from, or a VirtError saying why not. */
function acceptable(id: string, info: ImageInfo, diskFormat: string | null): Omit<CachedImage, 'path'> {
  if (info.format !== 'qcow2' && info.format !== 'raw') {
    throw new BuildAbortError(`image ${id} is ${info.format}; this driver boots only qcow2 and raw images`);
  }
  if (info.backingFilename !== undefined) {
    throw new BuildAbortError(`image ${id} is a qcow2 with a backing file (${JSON.stringify(info.backingFilename)}); images must stand alone`);
  }
  if (info.dataFile !== undefined) {
    throw new BuildAbortError(`image ${id} is a qcow2 with an external data file (${JSON.stringify(info.dataFile)}); images must stand alone`);
  }
  if (diskFormat !== null && diskFormat !== info.format) {
    throw new BuildAbortError(`image ${id} says disk_format ${diskFormat} but its data is ${info.format}`);
  }
  return { format: info.format, virtualSize: info.virtualSize };
}

function verifyChecksum(id: string, checksum: string | null, md5: string, bytes: number): void {
  if (checksum !== null && md5 !== checksum.toLowerCase()) {
    throw new VirtError(`image ${id} failed its checksum: the image service says ${checksum}, the ${bytes} bytes received hash to ${md5}`);
  }
}

function isQcow2(header: Buffer): boolean {
  return header.length >= 4 && header.readUInt32BE(0) === QCOW2_MAGIC;
}

/** Refuses a qcow2 whose header names a backing file or an external data file. */
function checkQcow2Header(id: string, header: Buffer): void {
  if (!isQcow2(header)) return;
  if (header.length < 72) throw new VirtError(`image ${id} is a truncated qcow2 (${header.length} bytes)`);
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new VirtError(`image ${id} is a qcow2 of unknown version ${version}`);
  if (header.readBigUInt64BE(8) !== 0n) throw new VirtError(`image ${id} is a qcow2 with a backing file; images must stand alone`);
  if (version === 3) {
    if (header.length < HEADER_BYTES) throw new VirtError(`image ${id} is a truncated qcow2 (${header.length} bytes)`);
    if ((header.readBigUInt64BE(72) & QCOW2_EXTERNAL_DATA_FILE) !== 0n) {
      throw new VirtError(`image ${id} is a qcow2 with an external data file; images must stand alone`);
    }
  }
}

/** Streams `data` into a new file, hashing as it goes, and syncs it to disk before returning. */
async function writeDurably(path: string, data: AsyncIterable<Buffer>): Promise<{ md5: string; bytes: number; header: Buffer }> {
  const md5 = createHash('md5');
  const headerChunks: Buffer[] = [];
  let headerBytes = 0;
  let bytes = 0;
  const file = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of data) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      md5.update(buffer);
      if (headerBytes < HEADER_BYTES) {
        headerChunks.push(buffer.subarray(0, HEADER_BYTES - headerBytes));
        headerBytes += Math.min(buffer.length, HEADER_BYTES - headerBytes);
      }
      let written = 0;
      while (written < buffer.length) {
        const { bytesWritten } = await file.write(buffer, written, buffer.length - written);
        written += bytesWritten;
      }
      bytes += buffer.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { md5: md5.digest('hex'), bytes, header: Buffer.concat(headerChunks) };
}

/** Makes a rename durable: the directory entry is on disk, not only the file's data. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Stops a download nobody will read (closes the store's stream). */
async function abandon(data: AsyncIterable<Buffer>): Promise<void> {
  const destroyable = data as AsyncIterable<Buffer> & { destroy?: () => void };
  if (typeof destroyable.destroy === 'function') {
    destroyable.destroy();
    return;
  }
  await data[Symbol.asyncIterator]().return?.();
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
