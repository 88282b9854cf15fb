import { randomBytes } from 'node:crypto';
import { access, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { BuildAbortError, VirtError } from '../driver.js';
import type { CachedImage } from './image-cache.js';
import { checkDiskPath, imageInfo, qemuImg, type DiskFormat } from './qemu-img.js';

/**
 * An instance's disks: a qcow2 overlay on the cached base image (Nova's Qcow2 image backend),
 * grown for a bigger flavor, and flattened into a standalone image for a snapshot.
 *
 * Instance disks are always opened with an explicit format (`-f`): a guest can write any bytes
 * into its disk, including a qcow2 header naming a host file as backing file, so letting
 * qemu-img probe a disk a guest has used would hand it that file.
 */

const GIB = 1024 ** 3;
const CREATE_TIMEOUT_MS = 60_000;
const RESIZE_TIMEOUT_MS = 60_000;
/** Converting copies the whole disk; a large one takes a while even on fast disks. */
const CONVERT_TIMEOUT_MS = 60 * 60_000;
/** 64 TiB: far above any flavor, low enough that GiB to bytes stays exact. */
const MAX_DISK_GB = 64 * 1024;

function checkSizeGb(sizeGb: number): void {
  if (!Number.isInteger(sizeGb) || sizeGb < 0 || sizeGb > MAX_DISK_GB) {
    throw new VirtError(`disk size must be a whole number of GiB from 0 to ${MAX_DISK_GB}, not ${sizeGb}`);
  }
}

function checkFormat(format: string): asserts format is DiskFormat {
  if (format !== 'qcow2' && format !== 'raw') throw new VirtError(`disk format ${JSON.stringify(format)} is not qcow2 or raw`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A new qcow2 at `overlayPath` backed by `base`; `sizeGb` 0 keeps the image's own size, as a
 * flavor with a 0 GB root disk does in Nova. A flavor disk smaller than the image is refused
 * (Nova's FlavorDiskSmallerThanImage). An existing file is never overwritten.
 */
export async function createOverlay(base: CachedImage, overlayPath: string, sizeGb: number): Promise<void> {
  checkDiskPath('base image', base.path);
  checkDiskPath('overlay', overlayPath);
  checkFormat(base.format);
  checkSizeGb(sizeGb);
  const size = sizeGb * GIB;
  if (sizeGb > 0 && size < base.virtualSize) {
    throw new BuildAbortError(
      `Flavor's disk is too small for requested image. Flavor disk is ${size} bytes, image is ${base.virtualSize} bytes.`,
    );
  }
  if (await exists(overlayPath)) throw new VirtError(`disk ${overlayPath} already exists`);
  // -F names the base's format, so qemu-img (and later QEMU) never probe it.
  const args = ['create', '-q', '-f', 'qcow2', '-F', base.format, '-b', base.path, overlayPath];
  if (sizeGb > 0) args.push(String(size));
  await qemuImg(args, CREATE_TIMEOUT_MS);
}

/** Grows a disk (never shrinks: a guest's filesystem may use the end). The same size is a no-op. */
export async function growDisk(path: string, sizeGb: number, format: DiskFormat = 'qcow2'): Promise<void> {
  checkDiskPath('disk', path);
  checkFormat(format);
  checkSizeGb(sizeGb);
  const size = sizeGb * GIB;
  const { virtualSize } = await imageInfo(path, format);
  if (size < virtualSize) {
    throw new VirtError(`disk ${basename(path)} is ${virtualSize} bytes; it cannot shrink to ${size} bytes`);
  }
  if (size === virtualSize) return;
  await qemuImg(['resize', '-q', '-f', format, path, String(size)], RESIZE_TIMEOUT_MS);
}

export interface DiskExport {
  data: AsyncIterable<Buffer>;
  /** Closes the stream and removes what is left of the exported copy. */
  cleanup(): Promise<void>;
}

/**
 * The disk's content as one standalone image in `format`: the backing chain is flattened, so
 * a snapshot does not depend on this host's image cache. `-U` reads a disk a running QEMU
 * holds; the caller pauses the guest so the copy is consistent. The copy lives beside the
 * disk until it is opened, then only as an open file: it never outlives the stream.
 */
export async function exportDisk(path: string, format: DiskFormat, sourceFormat: DiskFormat = 'qcow2'): Promise<DiskExport> {
  checkDiskPath('disk', path);
  checkFormat(format);
  checkFormat(sourceFormat);
  const copy = join(dirname(path), `.${basename(path)}.export-${randomBytes(4).toString('hex')}.${format}`);
  checkDiskPath('export copy', copy);
  let stream: Readable;
  try {
    await qemuImg(['convert', '-U', '-f', sourceFormat, '-O', format, path, copy], CONVERT_TIMEOUT_MS);
    const file = await open(copy, 'r');
    stream = file.createReadStream();
  } finally {
    // Open or not, the name goes now: a crash later leaves no export behind.
    await unlink(copy).catch(() => undefined);
  }
  return {
    data: stream,
    async cleanup() {
      if (stream.destroyed) return;
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.destroy();
      });
    },
  };
}
