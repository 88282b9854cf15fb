import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectContext } from './context.js';
import { SwiftError } from './errors.js';
import { parseMetadata } from './metadata.js';
import { splitContainerObject } from './names.js';
import type { ObjectObjectRow } from './tables.js';

/** What a GET serves: its size, its ETag header value, and any byte span of it as a stream. */
export interface ObjectBody {
  size: number;
  etag: string;
  kind: 'plain' | 'slo' | 'dlo';
  open(start: number, end: number): Readable;
}

/** A static large object's manifest as stored (Swift's own stored form). */
export interface StoredSegment {
  name: string;
  hash: string;
  bytes: number;
  content_type: string;
  last_modified: string;
  range?: string;
}

interface Piece {
  /** `container`, `object` of the segment. */
  container: string;
  object: string;
  /** The etag the manifest promised (SLO), checked against the segment when it is read. */
  hash?: string;
  /** The bytes of the segment this piece is (inclusive), and its place in the whole. */
  first: number;
  last: number;
  offset: number;
}

const MAX_DEPTH = 10;

export const quoted = (etag: string) => `"${etag}"`;
export const unquoted = (etag: string) => etag.replace(/^"(.*)"$/, '$1');

export async function readManifest(ctx: ObjectContext, row: ObjectObjectRow): Promise<StoredSegment[]> {
  return JSON.parse((await ctx.files.readAll(row.file)).toString('utf8')) as StoredSegment[];
}

/**
 * May the caller read segments from this container? Swift authorizes every segment's sub-request
 * as the caller: a manifest must not show what its reader could not read directly.
 */
export type SegmentCheck = (container: string) => Promise<void>;

/** The body of an object: its file, or (for SLO and DLO manifests) its segments in order. */
export async function bodyOf(ctx: ObjectContext, account: string, row: ObjectObjectRow, check: SegmentCheck, depth = 0): Promise<ObjectBody> {
  if (depth > MAX_DEPTH) throw new SwiftError(409, 'Max recursion depth exceeded on large object');
  if (row.slo) {
    const manifest = await readManifest(ctx, row);
    const pieces: Piece[] = [];
    const checked = new Set<string>();
    let offset = 0;
    for (const seg of manifest) {
      const { container, object } = splitContainerObject(seg.name, 'Segment');
      let first = 0;
      let last = seg.bytes - 1;
      if (seg.range) {
        const [a, b] = seg.range.split('-').map(Number);
        first = a ?? 0;
        last = b ?? last;
      }
      pieces.push({ container, object, hash: seg.hash, first, last, offset });
      if (!checked.has(container)) {
        await check(container);
        checked.add(container);
      }
      offset += last - first + 1;
    }
    return composed(ctx, account, pieces, offset, quoted(row.etag), 'slo', check, depth);
  }
  const manifest = parseMetadata(row.metadata)['x-object-manifest'];
  if (manifest !== undefined) return dloBody(ctx, account, manifest, check, depth);
  return {
    size: row.size,
    etag: row.etag,
    kind: 'plain',
    open: (start, end) => (row.size === 0 ? Readable.from([]) : ctx.files.read(row.file, start, end)),
  };
}

/** A dynamic large object: every object of `<container>/<prefix>` in name order, read at GET time. */
async function dloBody(ctx: ObjectContext, account: string, manifest: string, check: SegmentCheck, depth: number): Promise<ObjectBody> {
  const { container, object: prefix } = splitContainerObject(manifest, 'X-Object-Manifest', false);
  await check(container);
  const pieces: Piece[] = [];
  const hash = createHash('md5');
  let offset = 0;
  let after: string | undefined;
  const high = `${prefix}\u{10FFFF}`;
  for (;;) {
    const rows = await ctx.records.objects(account, container, { ...(after !== undefined ? { after } : {}), from: prefix, before: high, reverse: false, limit: 1000 });
    for (const seg of rows) {
      if (seg.size === 0) continue;
      hash.update(seg.etag);
      pieces.push({ container, object: seg.name, first: 0, last: seg.size - 1, offset });
      offset += seg.size;
    }
    if (rows.length < 1000) break;
    after = rows[rows.length - 1]?.name;
  }
  return composed(ctx, account, pieces, offset, quoted(hash.digest('hex')), 'dlo', check, depth);
}

function composed(ctx: ObjectContext, account: string, pieces: Piece[], size: number, etag: string, kind: 'slo' | 'dlo', check: SegmentCheck, depth: number): ObjectBody {
  return {
    size,
    etag,
    kind,
    open(start, end) {
      async function* chunks(): AsyncGenerator<Buffer> {
        for (const piece of pieces) {
          const pieceEnd = piece.offset + (piece.last - piece.first);
          if (pieceEnd < start || piece.offset > end) continue;
          const seg = await ctx.records.object(account, piece.container, piece.object);
          if (!seg) throw new SwiftError(409, `Segment ${piece.container}/${piece.object} is gone`);
          if (piece.hash !== undefined && seg.etag !== piece.hash) {
            throw new SwiftError(409, `Object segment no longer valid: ${piece.container}/${piece.object} etag mismatch`);
          }
          const body = await bodyOf(ctx, account, seg, check, depth + 1);
          const from = piece.first + Math.max(0, start - piece.offset);
          const to = piece.first + Math.min(piece.last - piece.first, end - piece.offset);
          if (to < from) continue;
          for await (const chunk of body.open(from, to)) yield chunk as Buffer;
        }
      }
      return Readable.from(chunks(), { objectMode: false });
    },
  };
}
