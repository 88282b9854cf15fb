import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataNotFound, type ByteRange, type ImageDataStore } from './driver.js';

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const PARTIAL = '.partial';

/** Image data as files in one directory: `<dir>/<key>`, written as `<key>.partial` and renamed when complete. */
export class FilesystemStore implements ImageDataStore {
  readonly description = 'Files in the data directory';

  constructor(
    private readonly directory: string,
    readonly id = 'file',
  ) {}

  async add(key: string, data: Readable): Promise<number> {
    const path = this.pathOf(key);
    const partial = `${path}${PARTIAL}`;
    await mkdir(this.directory, { recursive: true });
    const out = createWriteStream(partial, { flags: 'w', mode: 0o600 });
    try {
      await pipeline(data, out);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return (await stat(path)).size;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    if ((await this.size(key)) === undefined) throw new DataNotFound(key);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async delete(key: string): Promise<void> {
    // Unlinking the partial file makes a running write's final rename fail: it cannot complete.
    await this.discardUnfinished(key);
    await rm(this.pathOf(key), { force: true });
  }

  async unfinished(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((n) => n.endsWith(PARTIAL)).map((n) => n.slice(0, -PARTIAL.length)).filter((key) => KEY_RE.test(key));
  }

  async discardUnfinished(key: string): Promise<void> {
    await rm(`${this.pathOf(key)}${PARTIAL}`, { force: true });
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch {
      return undefined;
    }
  }

  private pathOf(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid store key ${JSON.stringify(key)}`);
    return join(this.directory, key);
  }
}
