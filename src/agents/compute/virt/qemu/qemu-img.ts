import { CommandError, runCommand } from '../../../../core/host/commands.js';
import { VirtError } from '../driver.js';

/**
 * Runs `qemu-img` from argument arrays. Paths reach it both as arguments and inside option
 * strings (`-b`, `-o backing_file=`, `json:` names), which qemu-img splits on commas, so every
 * path is checked to be plain first.
 */

/** No comma (QEMU's option separator), colon (protocol prefixes), whitespace or control character. */
const SAFE_PATH = /^\/[A-Za-z0-9._+@/-]+$/;
/** `qemu-img info` on a hostile image must not run away (Nova limits it to 30 s and 1 GiB too). */
const INFO_TIMEOUT_MS = 30_000;
const INFO_MAX_OUTPUT = 1024 * 1024;

export type DiskFormat = 'qcow2' | 'raw';

/** Whether QEMU and qemu-img can take `path` only as a file name: absolute, no `..`, no option or protocol syntax. */
export function isPlainPath(path: string): boolean {
  return SAFE_PATH.test(path) && !path.split('/').includes('..');
}

/** Throws VirtError unless `path` is an absolute path qemu-img cannot read as options or a protocol. */
export function checkDiskPath(what: string, path: string): void {
  if (!isPlainPath(path)) {
    throw new VirtError(`qemu-img: ${what} ${JSON.stringify(path)} is not a plain absolute path`);
  }
}

/** The part of `qemu-img info --output=json` the driver reads (QEMU 7.2's ImageInfo). */
export interface ImageInfo {
  format: string;
  virtualSize: number;
  actualSize: number | undefined;
  backingFilename: string | undefined;
  /** A qcow2 external data file (`data-file`): another file the image reads its clusters from. */
  dataFile: string | undefined;
}

/**
 * `qemu-img info` of a file. With `format` qemu-img opens it as that format; without, it probes
 * (only for images not yet trusted: the caller must then check what came back). qemu-img info
 * never opens a backing file, so naming one does not make it read that file.
 */
export async function imageInfo(path: string, format?: DiskFormat, forceShare = false): Promise<ImageInfo> {
  checkDiskPath('image', path);
  const args = ['info', '--output=json'];
  if (format !== undefined) args.push('-f', format);
  if (forceShare) args.push('-U');
  args.push(path);
  const stdout = await qemuImg(args, INFO_TIMEOUT_MS, INFO_MAX_OUTPUT);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new VirtError(`qemu-img info ${path}: output is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new VirtError(`qemu-img info ${path}: output is not an object`);
  const info = parsed as Record<string, unknown>;
  if (typeof info.format !== 'string' || typeof info['virtual-size'] !== 'number') {
    throw new VirtError(`qemu-img info ${path}: no format or virtual size in its output`);
  }
  const specific = info['format-specific'] as { data?: Record<string, unknown> } | undefined;
  const dataFile = specific?.data?.['data-file'];
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    actualSize: typeof info['actual-size'] === 'number' ? info['actual-size'] : undefined,
    backingFilename: typeof info['backing-filename'] === 'string' ? info['backing-filename'] : undefined,
    dataFile: typeof dataFile === 'string' ? dataFile : undefined,
  };
}

/** Runs qemu-img; a failure becomes a VirtError carrying qemu-img's own message. */
export async function qemuImg(args: string[], timeoutMs: number, maxBuffer = 1024 * 1024): Promise<string> {
  try {
    return await runCommand(['qemu-img', ...args], { timeoutMs, maxOutputBytes: maxBuffer });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    if (error.failure === 'not-found') throw new VirtError('qemu-img is not installed (apt: qemu-utils)');
    if (error.failure === 'timeout') throw new VirtError(`qemu-img ${args[0]} took longer than ${timeoutMs} ms and was stopped`);
    throw new VirtError(`qemu-img ${args[0]} failed: ${error.stderr.trim() || error.message}`);
  }
}
