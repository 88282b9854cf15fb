import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isOwner, isResellerAdmin } from './access.js';
import { authorizeObject } from './authorize.js';
import { bodyOf, quoted, readManifest, unquoted, type ObjectBody, type SegmentCheck, type StoredSegment } from './bodies.js';
import { guessContentType } from './content-types.js';
import { httpDate, newTimestamp, type ObjectContext, type SwiftRequest, type SwiftResponse } from './context.js';
import { badRequest, notFound, preconditionFailed, SwiftError } from './errors.js';
import { TooLarge } from './files.js';
import { listingTime } from './listing.js';
import { applyMetadataHeaders, metadataHeaders, parseMetadata, type Metadata } from './metadata.js';
import { header, LIMITS, splitContainerObject } from './names.js';
import { parseRanges } from './ranges.js';
import { WriteRefused, type ObjectRecords } from './store.js';
import { archiveCurrent, restorePrevious, versioningOf } from './versioning.js';
import type { ObjectContainerRow, ObjectObjectRow } from './tables.js';

const nowSeconds = () => Date.now() / 1000;

function objectName(req: SwiftRequest): { container: string; object: string } {
  return { container: req.path.container as string, object: req.path.object as string };
}

/** An object that exists and has not passed its X-Delete-At. */
async function liveObject(ctx: ObjectContext, account: string, container: string, name: string): Promise<ObjectObjectRow | undefined> {
  const row = await ctx.records.object(account, container, name);
  if (!row) return undefined;
  if (row.delete_at !== null && row.delete_at <= nowSeconds()) return undefined;
  return row;
}

/** X-Delete-At / X-Delete-After as Unix seconds (null: none); 400 for what Swift refuses. */
function deleteAtOf(req: SwiftRequest): number | null | undefined {
  const after = header(req.headers, 'x-delete-after');
  const at = header(req.headers, 'x-delete-at');
  if (after !== undefined) {
    if (!/^\s*-?\d+\s*$/.test(after)) throw badRequest('Non-integer X-Delete-After');
    const n = Number(after);
    if (n < 0) throw badRequest('X-Delete-After in past');
    return Math.floor(nowSeconds()) + n;
  }
  if (at !== undefined) {
    if (!/^\s*\d+(\.\d+)?\s*$/.test(at)) throw badRequest('Non-integer X-Delete-At');
    const n = Math.floor(Number(at));
    if (n <= nowSeconds()) throw badRequest('X-Delete-At in past');
    return n;
  }
  return undefined;
}

function commonObjectHeaders(row: ObjectObjectRow, body: ObjectBody): Record<string, string> {
  const meta = parseMetadata(row.metadata);
  const headers: Record<string, string> = {
    ...metadataHeaders(meta),
    'content-type': row.content_type,
    etag: body.etag,
    'last-modified': httpDate(row.created_at),
    'x-timestamp': row.created_at,
    'accept-ranges': 'bytes',
  };
  if (row.delete_at !== null) headers['x-delete-at'] = String(row.delete_at);
  if (row.slo) headers['x-static-large-object'] = 'True';
  return headers;
}

/** If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, as swob evaluates them. */
function checkConditions(req: SwiftRequest, etag: string, timestamp: string, headers: Record<string, string>): void {
  const bare = unquoted(etag);
  const list = (v: string) => v.split(',').map((s) => unquoted(s.trim()));
  const ifMatch = header(req.headers, 'if-match');
  if (ifMatch !== undefined && !(ifMatch.trim() === '*' || list(ifMatch).includes(bare))) throw new SwiftError(412, undefined, { etag, ...headers });
  const ifNoneMatch = header(req.headers, 'if-none-match');
  if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === '*' || list(ifNoneMatch).includes(bare))) {
    throw new SwiftError(304, '', { etag, ...headers });
  }
  const modified = Math.ceil(Number(timestamp));
  const ims = header(req.headers, 'if-modified-since');
  if (ims !== undefined && ifNoneMatch === undefined) {
    const t = Date.parse(ims);
    if (!Number.isNaN(t) && modified <= t / 1000) throw new SwiftError(304, '', { etag, ...headers });
  }
  const ius = header(req.headers, 'if-unmodified-since');
  if (ius !== undefined && ifMatch === undefined) {
    const t = Date.parse(ius);
    if (!Number.isNaN(t) && modified > t / 1000) throw new SwiftError(412, undefined, { etag, ...headers });
  }
}

/**
 * Segment containers a caller reads through a manifest: an owner (or a temp URL, which Swift lets
 * read within its account) reads all; anyone else needs read access to each, as for a direct GET.
 */
function segmentCheck(ctx: ObjectContext, req: SwiftRequest, verdict: 'owner' | 'acl' | 'tempurl'): SegmentCheck {
  if (verdict !== 'acl') return async () => undefined;
  return async (segmentContainer) => {
    const row = await ctx.records.container(req.path.account, segmentContainer);
    await authorizeObject(ctx, { ...req, method: 'GET', query: {} }, row, 'GET');
  };
}

export async function getObject(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const { container, object } = objectName(req);
  const containerRow = await ctx.records.container(req.path.account, container);
  const verdict = await authorizeObject(ctx, req, containerRow);
  const check = segmentCheck(ctx, req, verdict);
  const row = containerRow ? await liveObject(ctx, req.path.account, container, object) : undefined;
  if (!row) throw notFound();
  const head = req.method === 'HEAD';
  if (req.query['multipart-manifest'] === 'get' && row.slo) {
    const manifest = await readManifest(ctx, row);
    const raw = req.query.format === 'raw';
    const text = JSON.stringify(
      raw ? manifest.map((s) => ({ path: s.name, etag: s.hash, size_bytes: s.bytes, ...(s.range ? { range: s.range } : {}) })) : manifest,
    );
    const headers: Record<string, string> = {
      ...metadataHeaders(parseMetadata(row.metadata)),
      'content-type': raw ? row.content_type : 'application/json; charset=utf-8',
      etag: createHash('md5').update(text).digest('hex'),
      'last-modified': httpDate(row.created_at),
      'x-timestamp': row.created_at,
      'x-static-large-object': 'True',
      'content-length': String(Buffer.byteLength(text)),
    };
    return { status: 200, headers, ...(head ? {} : { body: text }) };
  }
  const body =
    req.query['multipart-manifest'] === 'get' && !row.slo
      ? await bodyOf(ctx, req.path.account, { ...row, metadata: JSON.stringify(withoutManifest(parseMetadata(row.metadata))) }, check)
      : await bodyOf(ctx, req.path.account, row, check);
  const headers = commonObjectHeaders(row, body);
  if (body.kind === 'dlo') headers['x-object-manifest'] = parseMetadata(row.metadata)['x-object-manifest'] ?? '';
  if (req.query['multipart-manifest'] === 'get' && body.kind === 'plain') delete headers['x-object-manifest'];
  if (req.query.filename !== undefined || req.query.inline !== undefined) {
    const filename = req.query.filename ?? object.slice(object.lastIndexOf('/') + 1);
    headers['content-disposition'] = `${req.query.inline !== undefined ? 'inline' : 'attachment'}; filename="${filename.replace(/["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
  }
  checkConditions(req, body.etag, row.created_at, headers);
  const ranges = parseRanges(header(req.headers, 'range'), body.size);
  if (!ranges) {
    headers['content-length'] = String(body.size);
    return { status: 200, headers, ...(head ? {} : { body: body.size === 0 ? '' : body.open(0, body.size - 1) }) };
  }
  if (ranges.length === 1) {
    const r = ranges[0] as { start: number; end: number };
    headers['content-length'] = String(r.end - r.start + 1);
    headers['content-range'] = `bytes ${r.start}-${r.end}/${body.size}`;
    return { status: 206, headers, ...(head ? {} : { body: body.open(r.start, r.end) }) };
  }
  const boundary = randomBytes(16).toString('hex');
  const partHead = (r: { start: number; end: number }) =>
    `--${boundary}\r\nContent-Type: ${row.content_type}\r\nContent-Range: bytes ${r.start}-${r.end}/${body.size}\r\n\r\n`;
  const tail = `--${boundary}--`;
  let length = Buffer.byteLength(tail);
  for (const r of ranges) length += Buffer.byteLength(partHead(r)) + (r.end - r.start + 1) + 2;
  headers['content-type'] = `multipart/byteranges;boundary=${boundary}`;
  headers['content-length'] = String(length);
  async function* parts(): AsyncGenerator<Buffer> {
    for (const r of ranges as Array<{ start: number; end: number }>) {
      yield Buffer.from(partHead(r));
      for await (const chunk of body.open(r.start, r.end)) yield chunk as Buffer;
      yield Buffer.from('\r\n');
    }
    yield Buffer.from(tail);
  }
  return { status: 206, headers, ...(head ? {} : { body: Readable.from(parts()) }) };
}

function withoutManifest(meta: Metadata): Metadata {
  const copy = { ...meta };
  delete copy['x-object-manifest'];
  return copy;
}

/** Quotas: the container's (X-Container-Meta-Quota-Bytes/-Count) and the account's (X-Account-Meta-Quota-Bytes). */
async function quotaCheck(records: ObjectRecords, account: string, container: ObjectContainerRow, delta: { objects: number; bytes: number }): Promise<void> {
  const meta = parseMetadata(container.metadata);
  const qb = meta['x-container-meta-quota-bytes'];
  const qc = meta['x-container-meta-quota-count'];
  if (delta.bytes > 0 && qb !== undefined && /^\d+$/.test(qb) && container.bytes_used + delta.bytes > Number(qb)) throw new WriteRefused('quota');
  if (delta.objects > 0 && qc !== undefined && /^\d+$/.test(qc) && container.object_count + delta.objects > Number(qc)) throw new WriteRefused('quota');
  if (delta.bytes > 0) {
    const accountRow = await records.account(account);
    const aq = accountRow ? parseMetadata(accountRow.metadata)['x-account-meta-quota-bytes'] : undefined;
    if (aq !== undefined && /^\d+$/.test(aq)) {
      const totals = await records.accountTotals(account);
      if (totals.bytes + delta.bytes > Number(aq)) throw new WriteRefused('quota');
    }
  }
}

const quotaExceeded = () => new SwiftError(413, 'Upload exceeds quota.');

interface NewVersion {
  account: string;
  container: string;
  name: string;
  body: Readable;
  /** Bytes the body is to have, when known (a Content-Length). */
  expected?: number;
  etag?: string;
  contentType: string;
  metadata: Metadata;
  deleteAt: number | null;
  slo?: { size: number; etag: string };
  ifNoneMatchStar: boolean;
}

/** Writes the bytes, then makes them the object's current version in one transaction; the file of the version replaced goes. */
async function storeVersion(ctx: ObjectContext, v: NewVersion): Promise<ObjectObjectRow> {
  let written;
  try {
    written = await ctx.files.write(v.body, v.expected ?? LIMITS.maxFileSize);
  } catch (error) {
    if (error instanceof TooLarge) throw new SwiftError(413, 'Your request is too large.');
    if (error instanceof SwiftError) throw error;
    throw new SwiftError(499);
  }
  try {
    if (v.expected !== undefined && written.size !== v.expected) throw new SwiftError(499);
    if (v.etag !== undefined && unquoted(v.etag).toLowerCase() !== written.md5) throw new SwiftError(422);
    const row: ObjectObjectRow = {
      account: v.account,
      container: v.container,
      name: v.name,
      size: v.slo ? v.slo.size : written.size,
      etag: v.slo ? v.slo.etag : written.md5,
      content_type: v.contentType,
      created_at: newTimestamp(),
      metadata: JSON.stringify(v.metadata),
      file: written.key,
      slo: v.slo ? 1 : 0,
      delete_at: v.deleteAt,
    };
    const old = await ctx.records.putObject(row, async (container, delta, replaced, records) => {
      if (v.ifNoneMatchStar && replaced && (replaced.delete_at === null || replaced.delete_at > nowSeconds())) throw new WriteRefused('exists');
      await quotaCheck(records, v.account, container, delta);
    });
    if (old) await ctx.files.remove(old.file);
    return row;
  } catch (error) {
    await ctx.files.remove(written.key);
    if (error instanceof WriteRefused) {
      if (error.reason === 'quota') throw quotaExceeded();
      if (error.reason === 'exists') throw new SwiftError(412);
      throw notFound();
    }
    throw error;
  }
}

function contentTypeOf(req: SwiftRequest, name: string, fallback?: string): string {
  const given = header(req.headers, 'content-type');
  const detect = (header(req.headers, 'x-detect-content-type') ?? '').toLowerCase() === 'true';
  if (detect || (!given && !fallback)) return guessContentType(name);
  const type = given ?? fallback ?? 'application/octet-stream';
  if (type.length > 256) throw badRequest('Content-Type too long');
  return type;
}

/** PUT of an object: a body, an X-Copy-From, or (multipart-manifest=put) a static large object manifest. */
export async function putObject(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const { container, object } = objectName(req);
  const account = req.path.account;
  const containerRow = await ctx.records.container(account, container);
  await authorizeObject(ctx, req, containerRow);
  const copyFrom = header(req.headers, 'x-copy-from');
  if (copyFrom === undefined && req.contentLength === undefined && !req.chunked) throw new SwiftError(411);
  if (req.contentLength !== undefined && req.contentLength > LIMITS.maxFileSize) throw new SwiftError(413, 'Your request is too large.');
  if (header(req.headers, 'x-object-manifest') !== undefined) splitContainerObject(header(req.headers, 'x-object-manifest') as string, 'X-Object-Manifest', false);
  const ifNoneMatch = header(req.headers, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw badRequest('If-None-Match only supports *');
  const deleteAt = deleteAtOf(req) ?? null;
  const metadata = applyMetadataHeaders('object', req.headers, {}, true);
  if (!containerRow) throw notFound();
  if (req.contentLength !== undefined && copyFrom === undefined) {
    try {
      await quotaCheck(ctx.records, account, containerRow, { objects: 0, bytes: req.contentLength });
    } catch (error) {
      if (error instanceof WriteRefused) throw quotaExceeded();
      throw error;
    }
  }
  if (copyFrom !== undefined) {
    const source = splitContainerObject(copyFrom, 'X-Copy-From');
    return copyObject(ctx, req, source, { container, object }, deleteAt);
  }
  if (req.query['multipart-manifest'] === 'put') return putManifest(ctx, req, containerRow, metadata, deleteAt);
  await archiveCurrent(ctx, account, containerRow, object);
  const row = await storeVersion(ctx, {
    account,
    container,
    name: object,
    body: req.body,
    ...(req.contentLength !== undefined ? { expected: req.contentLength } : {}),
    ...(header(req.headers, 'etag') !== undefined ? { etag: header(req.headers, 'etag') as string } : {}),
    contentType: contentTypeOf(req, object),
    metadata,
    deleteAt,
    ifNoneMatchStar: ifNoneMatch !== undefined,
  });
  return created(row, row.etag);
}

function created(row: ObjectObjectRow, etag: string, extra: Record<string, string> = {}): SwiftResponse {
  return {
    status: 201,
    headers: { etag, 'last-modified': httpDate(row.created_at), 'content-type': 'text/html; charset=UTF-8', 'content-length': '0', ...extra },
    body: '',
  };
}

/** COPY (Destination) and PUT with X-Copy-From: the source's bytes and metadata, under the new name. */
async function copyObject(
  ctx: ObjectContext,
  req: SwiftRequest,
  source: { container: string; object: string },
  target: { container: string; object: string },
  deleteAt: number | null,
): Promise<SwiftResponse> {
  const account = req.path.account;
  const sourceContainer = await ctx.records.container(account, source.container);
  const verdict = await authorizeObject(ctx, { ...req, query: {} }, sourceContainer, 'GET');
  const row = sourceContainer ? await liveObject(ctx, account, source.container, source.object) : undefined;
  if (!row) throw notFound();
  const fresh = (header(req.headers, 'x-fresh-metadata') ?? '').toLowerCase() === 'true';
  const sourceMeta = parseMetadata(row.metadata);
  const manifestCopy = req.query['multipart-manifest'] === 'get';
  const base: Metadata = fresh ? {} : { ...sourceMeta };
  if (!manifestCopy) delete base['x-object-manifest'];
  const metadata = applyMetadataHeaders('object', req.headers, base, false);
  const body = manifestCopy && row.slo ? undefined : await bodyOf(ctx, account, row, segmentCheck(ctx, req, verdict));
  if (body && body.size > LIMITS.maxFileSize) throw new SwiftError(413, 'Your request is too large.');
  await archiveCurrent(ctx, account, await ctx.records.container(account, target.container), target.object);
  const readable = body ? (body.size === 0 ? Readable.from([]) : body.open(0, body.size - 1)) : ctx.files.read(row.file);
  const stored = await storeVersion(ctx, {
    account,
    container: target.container,
    name: target.object,
    body: readable,
    contentType: header(req.headers, 'content-type') ?? row.content_type,
    metadata,
    deleteAt: deleteAt ?? (fresh ? null : row.delete_at),
    ...(manifestCopy && row.slo ? { slo: { size: row.size, etag: row.etag } } : {}),
    ifNoneMatchStar: false,
  });
  return created(stored, stored.slo ? quoted(stored.etag) : stored.etag, {
    'x-copied-from': `${encodeURIComponent(source.container)}/${encodeURIComponent(source.object)}`,
    'x-copied-from-last-modified': httpDate(row.created_at),
  });
}

export async function copyVerb(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const destination = header(req.headers, 'destination');
  if (destination === undefined) throw preconditionFailed('You must specify the destination in the Destination header');
  const target = splitContainerObject(destination, 'Destination');
  const { container, object } = objectName(req);
  const targetContainer = await ctx.records.container(req.path.account, target.container);
  await authorizeObject(ctx, { ...req, method: 'PUT' }, targetContainer, 'PUT');
  if (!targetContainer) throw notFound();
  return copyObject(ctx, { ...req, method: 'PUT' }, { container, object }, target, deleteAtOf(req) ?? null);
}

interface ManifestEntry {
  path?: unknown;
  etag?: unknown;
  size_bytes?: unknown;
  range?: unknown;
}

async function readSmallBody(req: SwiftRequest, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += (chunk as Buffer).length;
    if (size > max) throw new SwiftError(413, `Manifest File > ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** multipart-manifest=put: every segment must exist and match the etag and size the manifest gives. */
async function putManifest(ctx: ObjectContext, req: SwiftRequest, containerRow: ObjectContainerRow, metadata: Metadata, deleteAt: number | null): Promise<SwiftResponse> {
  const { container, object } = objectName(req);
  const account = req.path.account;
  const text = await readSmallBody(req, LIMITS.maxManifestSize);
  let entries: ManifestEntry[];
  try {
    entries = JSON.parse(text.toString('utf8')) as ManifestEntry[];
  } catch {
    throw badRequest('Manifest must be valid JSON.\n');
  }
  if (!Array.isArray(entries) || entries.length === 0) throw badRequest('Manifest must be a list of segments.\n');
  if (entries.length > LIMITS.maxManifestSegments) throw badRequest(`Too many segments; max ${LIMITS.maxManifestSegments}.\n`);
  const problems: string[] = [];
  const stored: StoredSegment[] = [];
  const hash = createHash('md5');
  let total = 0;
  for (const [i, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null || typeof entry.path !== 'string') {
      problems.push(`Index ${i}: "path" must be a string`);
      continue;
    }
    const extra = Object.keys(entry).filter((k) => !['path', 'etag', 'size_bytes', 'range'].includes(k));
    if (extra.length > 0) {
      problems.push(`Index ${i}: extraneous keys ${extra.map((k) => `"${k}"`).join(', ')}`);
      continue;
    }
    if (entry.etag !== undefined && entry.etag !== null && typeof entry.etag !== 'string') problems.push(`Index ${i}: "etag" must be a string or null (if provided)`);
    if (entry.size_bytes !== undefined && entry.size_bytes !== null && !(Number.isInteger(entry.size_bytes) && (entry.size_bytes as number) >= 0)) {
      problems.push(`Index ${i}: "size_bytes" must be an integer >= 0 or null (if provided)`);
    }
    let seg;
    try {
      seg = splitContainerObject(entry.path, 'Segment');
    } catch {
      problems.push(`Index ${i}: "path" must be of the form <container name>/<object name>`);
      continue;
    }
    if (seg.container === container && seg.object === object) {
      problems.push(`${entry.path}, Manifest cannot reference itself`);
      continue;
    }
    const segContainer = await ctx.records.container(account, seg.container);
    try {
      await authorizeObject(ctx, { ...req, query: {} }, segContainer, 'GET');
    } catch {
      problems.push(`${entry.path}, 403 Forbidden`);
      continue;
    }
    const row = segContainer ? await liveObject(ctx, account, seg.container, seg.object) : undefined;
    if (!row) {
      problems.push(`${entry.path}, 404 Not Found`);
      continue;
    }
    if (typeof entry.etag === 'string' && unquoted(entry.etag) !== row.etag) problems.push(`${entry.path}, Etag Mismatch`);
    if (typeof entry.size_bytes === 'number' && entry.size_bytes !== row.size) problems.push(`${entry.path}, Size Mismatch`);
    let bytes = row.size;
    let range: string | undefined;
    if (entry.range !== undefined) {
      const m = typeof entry.range === 'string' ? /^(\d*)-(\d*)$/.exec(entry.range) : null;
      const a = m?.[1] === '' ? undefined : Number(m?.[1]);
      const b = m?.[2] === '' ? undefined : Number(m?.[2]);
      if (!m || (a === undefined && b === undefined)) {
        problems.push(`Index ${i}: invalid range`);
        continue;
      }
      const start = a === undefined ? Math.max(0, row.size - (b as number)) : a;
      const end = a === undefined ? row.size - 1 : Math.min(b ?? row.size - 1, row.size - 1);
      if (start > end || start >= row.size) {
        problems.push(`Index ${i}: unsatisfiable range`);
        continue;
      }
      range = `${start}-${end}`;
      bytes = end - start + 1;
    }
    if (bytes < 1 && i < entries.length - 1) problems.push(`Index ${i}: too small; each segment must be at least 1 byte.`);
    total += bytes;
    hash.update(range ? `${row.etag}:${range};` : row.etag);
    stored.push({
      name: `/${seg.container}/${seg.object}`,
      hash: row.etag,
      bytes: row.size,
      content_type: row.content_type,
      last_modified: listingTime(row.created_at),
      ...(range ? { range } : {}),
    });
  }
  if (problems.length > 0) throw badRequest(`Errors:\n${problems.join('\n')}`);
  const sloEtag = hash.digest('hex');
  const given = header(req.headers, 'etag');
  if (given !== undefined && unquoted(given) !== sloEtag) throw new SwiftError(422, 'Manifest etag mismatch');
  const manifest = Buffer.from(JSON.stringify(stored));
  await archiveCurrent(ctx, account, containerRow, object);
  const row = await storeVersion(ctx, {
    account,
    container: containerRow.name,
    name: object,
    body: Readable.from([manifest]),
    contentType: contentTypeOf(req, object),
    metadata: { ...metadata, 'x-object-sysmeta-slo-etag': sloEtag, 'x-object-sysmeta-slo-size': String(total) },
    deleteAt,
    slo: { size: total, etag: sloEtag },
    ifNoneMatchStar: false,
  });
  return created(row, quoted(sloEtag));
}

/** POST: the object's metadata replaced (and Content-Type, X-Delete-At). */
export async function postObject(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const { container, object } = objectName(req);
  const containerRow = await ctx.records.container(req.path.account, container);
  await authorizeObject(ctx, req, containerRow);
  const row = containerRow ? await liveObject(ctx, req.path.account, container, object) : undefined;
  const deleteAt = deleteAtOf(req);
  const removeDeleteAt = header(req.headers, 'x-remove-delete-at') !== undefined;
  if (!row) throw notFound();
  const metadata = applyMetadataHeaders('object', req.headers, parseMetadata(row.metadata), true);
  const given = header(req.headers, 'content-type');
  await ctx.records.updateObject(req.path.account, container, object, {
    metadata: JSON.stringify(metadata),
    content_type: given ? contentTypeOf(req, object) : row.content_type,
    delete_at: removeDeleteAt ? null : deleteAt === undefined ? null : deleteAt,
    created_at: newTimestamp(),
  });
  const body = '<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>';
  return { status: 202, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': String(body.length) }, body };
}

export async function deleteObject(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const { container, object } = objectName(req);
  const account = req.path.account;
  const containerRow = await ctx.records.container(account, container);
  await authorizeObject(ctx, req, containerRow);
  const live = containerRow ? await liveObject(ctx, account, container, object) : undefined;
  if (!live) throw notFound();
  if (req.query['multipart-manifest'] === 'delete' && live.slo) return deleteManifest(ctx, req, live);
  const versioning = versioningOf(containerRow);
  if (versioning?.mode === 'history') await archiveCurrent(ctx, account, containerRow, object);
  const old = await ctx.records.deleteObject(account, container, object);
  if (!old) throw notFound();
  await ctx.files.remove(old.file);
  if (versioning?.mode === 'stack') await restorePrevious(ctx, account, containerRow as ObjectContainerRow, object);
  return { status: 204, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
}

/** multipart-manifest=delete: the segments, then the manifest; answered as bulk delete answers. */
async function deleteManifest(ctx: ObjectContext, req: SwiftRequest, manifestRow: ObjectObjectRow): Promise<SwiftResponse> {
  const account = req.path.account;
  const manifest = await readManifest(ctx, manifestRow);
  let deleted = 0;
  let missing = 0;
  const errors: Array<[string, string]> = [];
  for (const seg of manifest) {
    const { container, object } = splitContainerObject(seg.name, 'Segment');
    const segContainer = await ctx.records.container(account, container);
    if (!isOwner(req.auth, req.path.project) && !isResellerAdmin(req.auth)) {
      try {
        await authorizeObject(ctx, { ...req, query: {} }, segContainer, 'DELETE');
      } catch {
        errors.push([seg.name, '403 Forbidden']);
        continue;
      }
    }
    const old = await ctx.records.deleteObject(account, container, object);
    if (old) {
      deleted += 1;
      await ctx.files.remove(old.file);
    } else missing += 1;
  }
  const old = await ctx.records.deleteObject(account, manifestRow.container, manifestRow.name);
  if (old) {
    deleted += 1;
    await ctx.files.remove(old.file);
  } else missing += 1;
  const status = errors.length > 0 ? '400 Bad Request' : '200 OK';
  const accept = header(req.headers, 'accept') ?? '';
  if (accept.includes('json')) {
    const text = JSON.stringify({ 'Number Deleted': deleted, 'Number Not Found': missing, 'Response Body': '', 'Response Status': status, Errors: errors });
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: text };
  }
  const text = `Number Deleted: ${deleted}\nNumber Not Found: ${missing}\nResponse Body: \nResponse Status: ${status}\nErrors:\n${errors.map((e) => e.join(', ')).join('\n')}`;
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text };
}

/** The expirer: objects past their X-Delete-At are deleted (only the version that carried it). */
export async function expireObjects(ctx: ObjectContext, batch = 500): Promise<number> {
  let count = 0;
  for (;;) {
    const rows = await ctx.records.expired(Math.floor(nowSeconds()), batch);
    const before = count;
    for (const row of rows) {
      const old = await ctx.records.deleteObject(row.account, row.container, row.name, row.file);
      if (old) {
        await ctx.files.remove(old.file);
        count += 1;
      }
    }
    // A batch where nothing could go (its container gone) must not be read again forever.
    if (rows.length < batch || count === before) return count;
  }
}

