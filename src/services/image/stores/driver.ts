import type { Readable } from 'node:stream';

/** A byte range, inclusive at both ends, as HTTP Range has it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where image data lives. A new backend (S3-compatible, Swift, ...) is a new file
 * implementing this, registered by name; nothing else changes.
 */
export interface ImageDataStore {
  /** Store id as Glance reports it (`file`, `s3`, ...). */
  readonly id: string;
  readonly description: string;
  /**
   * Streams `data` in under `key`. Nothing is visible under the key until the whole stream
   * has arrived; a failed or cut-off stream leaves no trace. Resolves with the byte count.
   */
  add(key: string, data: Readable): Promise<number>;
  /** The data, or the given range of it; rejects with DataNotFound when there is none. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Removes the data and any unfinished write under `key` at once; a write still running
   * then fails instead of completing.
   */
  delete(key: string): Promise<void>;
  /** Keys that have an unfinished write on the store (running, or left behind by a crash). */
  unfinished(): Promise<string[]>;
  /** Removes what an unfinished write under `key` left behind, and nothing else. */
  discardUnfinished(key: string): Promise<void>;
  /** Stored size in bytes, or undefined when the key holds nothing. */
  size(key: string): Promise<number | undefined>;
}

export class DataNotFound extends Error {
  constructor(key: string) {
    super(`no image data under ${key}`);
    this.name = 'DataNotFound';
  }
}
