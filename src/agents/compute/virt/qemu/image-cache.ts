// placeholder until helper D's version lands
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Logger } from '../../../../core/log.js';
import { VirtError } from '../driver.js';

const run = promisify(execFile);

export interface CachedImage {
  path: string;
  format: 'qcow2' | 'raw';
  virtualSize: number;
}

export interface ImageSource {
  download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }>;
}

const IMAGE_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Base images, downloaded once per image id (minimal stand-in: no checksum check, no locking). */
export class ImageCache {
  private readonly dir: string;
  private readonly source: ImageSource;

  constructor(opts: { dir: string; source: ImageSource; log?: Logger }) {
    this.dir = opts.dir;
    this.source = opts.source;
  }

  async ensure(projectId: string, imageId: string): Promise<CachedImage> {
    if (!IMAGE_ID.test(imageId)) throw new VirtError(`image id ${JSON.stringify(imageId)} is not valid`);
    await mkdir(this.dir, { recursive: true });
    for (const format of ['qcow2', 'raw'] as const) {
      const path = join(this.dir, `${imageId}.${format}`);
      if (await access(path).then(() => true, () => false)) return { path, format, virtualSize: await virtualSize(path, format) };
    }
    const download = await this.source.download(projectId, imageId);
    const format = download.diskFormat === 'raw' ? 'raw' : download.diskFormat === 'qcow2' ? 'qcow2' : undefined;
    if (format === undefined) throw new VirtError(`image ${imageId} has disk format ${String(download.diskFormat)}, not qcow2 or raw`);
    const path = join(this.dir, `${imageId}.${format}`);
    const partial = `${path}.part-${randomBytes(4).toString('hex')}`;
    try {
      await pipeline(Readable.from(download.data), createWriteStream(partial));
      const size = await virtualSize(partial, format);
      await rename(partial, path);
      return { path, format, virtualSize: size };
    } finally {
      await rm(partial, { force: true });
    }
  }
}

async function virtualSize(path: string, format: 'qcow2' | 'raw'): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-f', format, path], { encoding: 'utf8' });
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}
