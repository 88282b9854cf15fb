import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream, type Digests } from '../../core/hashing.js';
import { ApiError, badRequest, conflict } from '../../core/http/errors.js';
import { authorize, type Caller, type ImageContext } from './context.js';
import { loadVisible } from './images.js';
import type { Image } from './model.js';
import { DataNotFound, type ByteRange } from './stores/driver.js';
import { beginTransfer, leaseOfThisProcess } from './transfers.js';
import { isOwner } from './visibility.js';
import { checkWebDownloadUri, openWebDownload, webDownloadOffered } from './web-download.js';

const MIB = 1024 * 1024;

/** The interoperable import methods this cloud offers (GET /v2/info/import): web-download only when some host is allowed. */
export function importMethods(ctx: ImageContext): string[] {
  return ['glance-direct', ...(webDownloadOffered(ctx.webDownload) ? ['web-download'] : [])];
}

/** PUT /v2/images/{id}/file: queued -> saving -> active, or back to queued when the data does not all arrive. */
export async function uploadImageData(ctx: ImageContext, caller: Caller, id: string, data: Readable): Promise<void> {
  const image = await loadVisible(ctx, caller, id);
  authorize(ctx, caller, 'upload_image', image);
  if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to upload data for this image.');
  requireFormats(image);
  await receive(ctx, image, data, 'saving', ctx.store);
}

/** PUT /v2/images/{id}/stage: the first half of the glance-direct import. */
export async function stageImageData(ctx: ImageContext, caller: Caller, id: string, data: Readable): Promise<void> {
  const image = await loadVisible(ctx, caller, id);
  authorize(ctx, caller, 'upload_image', image);
  if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to stage data for this image.');
  await receive(ctx, image, data, 'uploading', ctx.staging);
}

/**
 * Takes the image from queued to `during` under this process's lease, then streams the data
 * into a store through the quota limiter and the hasher; only a complete upload marks the
 * image, anything else puts it back to queued with nothing stored.
 */
async function receive(
  ctx: ImageContext,
  image: Image,
  data: Readable,
  during: 'saving' | 'uploading',
  store: ImageContext['store'],
): Promise<void> {
  const transfer = beginTransfer(image.id);
  try {
    if (!(await ctx.records.transition(image.id, ['queued'], during, { transfer_lease: leaseOfThisProcess() }))) {
      throw conflict(`Image status transition from ${image.status} to ${during} is not allowed`);
    }
    await streamIn(ctx, image, data, during, store);
  } finally {
    transfer.end();
  }
}

async function streamIn(
  ctx: ImageContext,
  image: Image,
  data: Readable,
  during: 'saving' | 'uploading',
  store: ImageContext['store'],
): Promise<void> {
  const hasher = new HashingStream();
  const allowance = await remainingBytes(ctx, image);
  const limiter = new ByteLimit(allowance);
  let digests: Digests;
  const stored = Promise.all([store.add(image.id, hasher), hasher.digests()]);
  try {
    await pipeline(data, new IdleLimit(ctx.uploadIdleTimeoutMs), limiter, hasher);
    [, digests] = await stored;
  } catch (error) {
    // Let the store finish failing (it removes its partial file) before tidying up.
    await stored.catch(() => undefined);
    await store.delete(image.id);
    const reset = await ctx.records.transition(image.id, [during], 'queued', { transfer_lease: null });
    if (limiter.exceeded) {
      throw new ApiError(413, `Image storage quota exceeded: the upload is larger than the ${Math.floor(allowance / MIB)} MiB the project has left (image_size_total).`);
    }
    // Deleting the image removed the file being written, which is why the write failed.
    if (!reset && (await ctx.records.get(image.id)) === undefined) throw deletedDuringUpload(image.id);
    throw error;
  }
  if (during === 'uploading') {
    // Staged: the hashes are computed again at import, from the staged copy.
    if (!(await ctx.records.transition(image.id, ['uploading'], 'uploading', { size: digests.size, transfer_lease: null }))) {
      await store.delete(image.id);
      throw deletedDuringUpload(image.id);
    }
    return;
  }
  const activated = await ctx.records.transition(image.id, ['saving'], 'active', {
    size: digests.size,
    checksum: digests.md5,
    os_hash_algo: 'sha512',
    os_hash_value: digests.sha512,
    store: store.id,
    transfer_lease: null,
  });
  // Deleted while the bytes were on their way: the data has nothing to belong to.
  if (!activated) {
    await store.delete(image.id);
    throw deletedDuringUpload(image.id);
  }
}

/** What Glance answers when the image went away while its data was arriving. */
function deletedDuringUpload(id: string): ApiError {
  return new ApiError(410, `Image ${id} could not be found after upload. The image may have been deleted during the upload.`);
}

/** POST /v2/images/{id}/import with glance-direct: moves the staged data into the store and activates. */
export async function importImage(ctx: ImageContext, caller: Caller, id: string, body: unknown): Promise<void> {
  const image = await loadVisible(ctx, caller, id);
  // Glance checks an import of the image's own data as a change of the image.
  authorize(ctx, caller, 'modify_image', image);
  if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to import data for this image.');
  const method = typeof body === 'object' && body !== null ? (body as { method?: { name?: unknown; uri?: unknown } }).method : undefined;
  const name = method?.name;
  if (typeof name !== 'string') throw badRequest("The import request needs {\"method\": {\"name\": \"glance-direct\"}}.");
  if (!importMethods(ctx).includes(name)) throw badRequest(`Import method ${name.slice(0, 32)} is not available on this cloud.`);
  requireFormats(image);
  if (name === 'web-download') {
    await startWebDownload(ctx, image, method?.uri);
    return;
  }
  if (image.status !== 'uploading') throw conflict('Image needs to be staged before import');
  const transfer = beginTransfer(image.id);
  if (!(await ctx.records.transition(image.id, ['uploading'], 'importing', { transfer_lease: leaseOfThisProcess() }))) {
    transfer.end();
    throw conflict(`Image status transition from ${image.status} to importing is not allowed`);
  }
  // Glance answers 202 and imports in the background; so do we.
  void finishImport(ctx, image)
    .catch((error: unknown) => ctx.log.error({ err: error, image: image.id }, 'image import failed'))
    .finally(() => transfer.end());
}

/** web-download: queued -> importing at once (202), then the data from the checked URL -> active, or back to queued. */
async function startWebDownload(ctx: ImageContext, image: Image, uri: unknown): Promise<void> {
  const target = await checkWebDownloadUri(uri, ctx.webDownload);
  if (image.status !== 'queued') throw conflict(`Image status transition from ${image.status} to importing is not allowed`);
  const transfer = beginTransfer(image.id);
  if (!(await ctx.records.transition(image.id, ['queued'], 'importing', { transfer_lease: leaseOfThisProcess() }))) {
    transfer.end();
    throw conflict(`Image status transition from ${image.status} to importing is not allowed`);
  }
  void (async () => {
    try {
      await importInto(ctx, image, async () => [
        await openWebDownload(target, ctx.uploadIdleTimeoutMs),
        new IdleLimit(ctx.uploadIdleTimeoutMs),
        new ByteLimit(await remainingBytes(ctx, image)),
      ]);
    } catch (error) {
      ctx.log.warn({ err: error, image: image.id, uri: target.url.href }, 'web-download import failed; the image is queued again');
    } finally {
      transfer.end();
    }
  })();
}

/**
 * An importing image's data from `open`'s source (a stream and the transforms it passes through) into
 * the store, hashed on the way; then active, or, on any failure, its data gone and queued again
 * (the error rethrown). `beforeActive` runs between the two (the staged copy's removal).
 */
async function importInto(
  ctx: ImageContext,
  image: Image,
  open: () => Promise<[Readable, ...NodeJS.ReadWriteStream[]]>,
  beforeActive?: () => Promise<void>,
): Promise<void> {
  try {
    const source = await open();
    const hasher = new HashingStream();
    const stored = Promise.all([ctx.store.add(image.id, hasher), hasher.digests()]);
    try {
      await pipeline([...source, hasher]);
    } catch (error) {
      await stored.catch(() => undefined);
      throw error;
    }
    const [, digests] = await stored;
    await beforeActive?.();
    const activated = await ctx.records.transition(image.id, ['importing'], 'active', {
      size: digests.size,
      checksum: digests.md5,
      os_hash_algo: 'sha512',
      os_hash_value: digests.sha512,
      store: ctx.store.id,
      transfer_lease: null,
    });
    if (!activated) await ctx.store.delete(image.id);
  } catch (error) {
    await ctx.store.delete(image.id);
    await ctx.records.transition(image.id, ['importing'], 'queued', { size: null, transfer_lease: null });
    throw error;
  }
}

async function finishImport(ctx: ImageContext, image: Image): Promise<void> {
  try {
    // The staged copy has served once stored: gone before the image shows active, not just after.
    await importInto(ctx, image, async () => [await ctx.staging.get(image.id)], () => ctx.staging.delete(image.id));
  } finally {
    await ctx.staging.delete(image.id);
  }
}

export interface ImageDownload {
  image: Image;
  /** Undefined when the image has no data (Glance answers 204). */
  stream?: Readable;
  range?: ByteRange;
}

/** GET /v2/images/{id}/file, whole or one byte range. */
export async function downloadImageData(ctx: ImageContext, caller: Caller, id: string, rangeHeader: string | undefined): Promise<ImageDownload> {
  const image = await loadVisible(ctx, caller, id);
  authorize(ctx, caller, 'download_image', image);
  if (image.status === 'deactivated' && !caller.isAdmin) {
    throw new ApiError(403, 'The requested image has been deactivated. Image data download is forbidden.');
  }
  if (image.status !== 'active' && image.status !== 'deactivated') return { image };
  if (image.size === null) return { image };
  const range = rangeHeader ? parseRange(rangeHeader, image.size) : undefined;
  try {
    const stream = await ctx.store.get(image.id, range);
    return { image, stream, ...(range ? { range } : {}) };
  } catch (error) {
    if (error instanceof DataNotFound) throw new ApiError(404, `Image data for ${image.id} is missing from the store.`);
    throw error;
  }
}

function parseRange(header: string, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) throw new ApiError(416, `Invalid Range header: ${header.slice(0, 64)}`);
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) {
    throw new ApiError(416, `Requested range ${header.slice(0, 64)} is not satisfiable for ${size} bytes.`, undefined, {
      'content-range': `bytes */${size}`,
    });
  }
  return { start, end };
}

function requireFormats(image: Image): void {
  if (!image.diskFormat || !image.containerFormat) {
    throw badRequest('Properties disk_format, container_format must be set prior to saving data.');
  }
}

async function remainingBytes(ctx: ImageContext, image: Image): Promise<number> {
  if (!image.owner) return Number.POSITIVE_INFINITY;
  const limitMiB = await ctx.identity.limit(image.owner, 'image', 'image_size_total');
  if (limitMiB === undefined || limitMiB < 0) return Number.POSITIVE_INFINITY;
  const { bytes } = await ctx.records.usage(image.owner);
  return Math.max(0, limitMiB * MIB - bytes);
}

/** Fails the stream when no byte arrives for `ms`: a client whose machine vanished never closes its connection. */
class IdleLimit extends Transform {
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => this.destroy(new ApiError(408, `No image data arrived for ${Math.round(ms / 1000)} seconds.`)), ms);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.timer.refresh();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.timer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    callback(error);
  }
}

/** Fails the stream as soon as more than `limit` bytes have passed. */
class ByteLimit extends Transform {
  private seen = 0;
  exceeded = false;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.exceeded = true;
      callback(new Error('image size quota exceeded'));
      return;
    }
    callback(null, chunk);
  }
}
