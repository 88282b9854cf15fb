import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const KEY_RE = /^[0-9a-f]{32}$/;

/** What a finished write left: the file's key, its size and the md5 of its bytes. */
export interface WrittenFile {
  key: string;
  size: number;
  md5: string;
}

export class TooLarge extends Error {
  constructor() {
    super('the body is larger than allowed');
  }
}

/**
 * Object bytes as files: each version is written under `tmp/` with a fresh random key, fsynced,
 * then renamed into `data/<2 hex>/<key>` (and the directory fsynced), so a file under `data/` is
 * always whole. Which file is an object's current version is the database's business: a crash
 * before the row names it leaves only a file nobody reads, which `sweep` removes on the next start.
 */
export class ObjectFiles {
  private readonly tmp: string;
  private readonly data: string;

  constructor(readonly root: string) {
    this.tmp = join(root, 'tmp');
    this.data = join(root, 'data');
  }

  /** Drops what interrupted writes left in tmp/ (run before serving). */
  async sweep(): Promise<number> {
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    await mkdir(this.data, { recursive: true, mode: 0o700 });
    const names = await readdir(this.tmp);
    for (const name of names) await rm(join(this.tmp, name), { force: true });
    return names.length;
  }

  /** Streams `body` into a new file (never more than `maxBytes`); the file is durable once this resolves. */
  async write(body: Readable, maxBytes: number): Promise<WrittenFile> {
    const key = randomBytes(16).toString('hex');
    const partial = join(this.tmp, key);
    await mkdir(this.tmp, { recursive: true, mode: 0o700 });
    const handle = await open(partial, 'wx', 0o600);
    const hash = createHash('md5');
    let size = 0;
    try {
      try {
        // Pulled a chunk at a time, each written before the next is read: memory stays bounded.
        for await (const chunk of body as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxBytes) throw new TooLarge();
          hash.update(chunk);
          let offset = 0;
          while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const dir = this.dirOf(key);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rename(partial, join(dir, key));
      await syncDirectory(dir);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { key, size, md5: hash.digest('hex') };
  }

  /** Bytes `start`..`end` (inclusive) of a file, or the whole file. */
  read(key: string, start?: number, end?: number): Readable {
    // 1 MiB reads: fewer, larger writes to the socket (64 KiB halves GET throughput); still bounded.
    const options: { start?: number; end?: number; highWaterMark: number } = { highWaterMark: 1024 * 1024 };
    if (start !== undefined) options.start = start;
    if (end !== undefined) options.end = end;
    return createReadStream(this.pathOf(key), options);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  /** The md5 of a file's bytes, streamed; undefined when the file is missing. */
  async md5Of(key: string): Promise<string | undefined> {
    const hash = createHash('md5');
    try {
      for await (const chunk of this.read(key)) hash.update(chunk as Buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return hash.digest('hex');
  }

  /** Moves a damaged file aside (kept for the operator under quarantined/), out of every read path. */
  async quarantine(key: string): Promise<void> {
    const dir = join(this.root, 'quarantined');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await rename(this.pathOf(key), join(dir, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async readAll(key: string): Promise<Buffer> {
    const handle = await open(this.pathOf(key), 'r');
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  private dirOf(key: string): string {
    return join(this.data, key.slice(0, 2));
  }

  private pathOf(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`invalid object file key ${JSON.stringify(key)}`);
    return join(this.dirOf(key), key);
  }
}

/** A rename is durable once its directory is: fsync the directory too. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
