import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

export interface Digests {
  size: number;
  md5: string;
  sha512: string;
}

// Kept inline so the worker needs no separate build artefact; it only hashes what it is sent.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const md5 = createHash('md5');
const sha512 = createHash('sha512');
parentPort.on('message', (message) => {
  if (message === 'end') {
    parentPort.postMessage({ md5: md5.digest('hex'), sha512: sha512.digest('hex') });
    return;
  }
  md5.update(message);
  sha512.update(message);
  parentPort.postMessage(message.byteLength);
});
`;

const MAX_IN_FLIGHT = 4 * 1024 * 1024;

/**
 * A pass-through stream that computes MD5 and SHA-512 of everything flowing through it on
 * a worker thread, so hashing gigabytes never stalls the event loop. At most 4 MiB wait
 * for the worker at a time: the upload slows down rather than piling up in memory.
 */
export class HashingStream extends Transform {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private inFlight = 0;
  private size = 0;
  private waiting: (() => void) | undefined;
  private readonly result: Promise<Digests>;

  constructor() {
    super();
    this.result = new Promise<Digests>((resolve, reject) => {
      this.worker.on('message', (message: number | { md5: string; sha512: string }) => {
        if (typeof message === 'number') {
          this.inFlight -= message;
          if (this.inFlight <= MAX_IN_FLIGHT && this.waiting) {
            const resume = this.waiting;
            this.waiting = undefined;
            resume();
          }
          return;
        }
        resolve({ size: this.size, ...message });
        void this.worker.terminate();
      });
      this.worker.once('error', reject);
    });
    // A digest nobody waits for (the upload failed) must not become an unhandled rejection.
    this.result.catch(() => undefined);
  }

  /** Resolves once the stream has ended and the worker has finished. */
  digests(): Promise<Digests> {
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.inFlight += chunk.length;
    this.worker.postMessage(chunk);
    this.push(chunk);
    if (this.inFlight > MAX_IN_FLIGHT) this.waiting = () => callback();
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    this.worker.postMessage('end');
    this.result.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    void this.worker.terminate();
    callback(error);
  }
}
