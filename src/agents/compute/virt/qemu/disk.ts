// placeholder until helper D's version lands
import { execFile } from 'node:child_process';
import { open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { VirtError } from '../driver.js';
import type { CachedImage } from './image-cache.js';

const run = promisify(execFile);
const GIB = 1024 ** 3;

async function qemuImg(args: string[]): Promise<string> {
  try {
    return (await run('qemu-img', args, { encoding: 'utf8' })).stdout;
  } catch (error) {
    throw new VirtError(`qemu-img ${args[0]}: ${((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`);
  }
}

export async function createOverlay(base: CachedImage, overlayPath: string, sizeGb: number): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2', '-F', base.format, '-b', base.path, overlayPath];
  if (sizeGb > 0) {
    if (sizeGb * GIB < base.virtualSize) throw new VirtError(`Flavor's disk is too small for requested image.`);
    args.push(String(sizeGb * GIB));
  }
  await qemuImg(args);
}

export async function growDisk(path: string, sizeGb: number): Promise<void> {
  const info = JSON.parse(await qemuImg(['info', '--output=json', '-f', 'qcow2', path])) as { 'virtual-size': number };
  if (sizeGb * GIB < info['virtual-size']) throw new VirtError(`disk ${path} cannot shrink to ${sizeGb} GiB`);
  if (sizeGb * GIB === info['virtual-size']) return;
  await qemuImg(['resize', '-q', '-f', 'qcow2', path, String(sizeGb * GIB)]);
}

export async function exportDisk(path: string, format: 'qcow2' | 'raw'): Promise<{ data: AsyncIterable<Buffer>; cleanup(): Promise<void> }> {
  const copy = join(dirname(path), `.export-${randomBytes(4).toString('hex')}.${format}`);
  try {
    // -U: a running (paused) QEMU holds the disk's lock.
    await qemuImg(['convert', '-U', '-f', 'qcow2', '-O', format, path, copy]);
    const stream = (await open(copy, 'r')).createReadStream();
    return { data: stream, cleanup: async () => void stream.destroy() };
  } finally {
    await unlink(copy).catch(() => undefined);
  }
}
