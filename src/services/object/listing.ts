import type { ObjectContainerRow, ObjectObjectRow } from './tables.js';

export type ListingFormat = 'plain' | 'json' | 'xml';

export type ObjectEntry = { subdir: string } | ObjectObjectRow;
export type ContainerEntry = { subdir: string } | ObjectContainerRow;

/** ?format= wins over Accept, as in Swift's get_listing_content_type. */
export function listingFormat(format: string | undefined, accept: string | undefined): ListingFormat {
  const f = format?.toLowerCase();
  if (f === 'json') return 'json';
  if (f === 'xml') return 'xml';
  if (f === 'plain' || f === 'txt') return 'plain';
  const a = (accept ?? '').toLowerCase();
  if (a.includes('application/json')) return 'json';
  if (a.includes('application/xml') || a.includes('text/xml')) return 'xml';
  return 'plain';
}

export const CONTENT_TYPES: Record<ListingFormat, string> = {
  plain: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
};

/** Swift's listing time: the X-Timestamp as an ISO time with microseconds, no zone. */
export function listingTime(timestamp: string): string {
  const seconds = Number(timestamp);
  const iso = new Date(Math.floor(seconds * 1000)).toISOString().slice(0, 19);
  const micros = Math.round((seconds - Math.floor(seconds)) * 1e6);
  return `${iso}.${String(micros).padStart(6, '0')}`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderObjects(container: string, entries: ObjectEntry[], format: ListingFormat): string {
  if (format === 'plain') return entries.map((e) => `${'subdir' in e ? e.subdir : e.name}\n`).join('');
  if (format === 'json') {
    return JSON.stringify(
      entries.map((e) =>
        'subdir' in e
          ? { subdir: e.subdir }
          : { name: e.name, hash: e.etag, bytes: e.size, content_type: e.content_type, last_modified: listingTime(e.created_at) },
      ),
    );
  }
  const items = entries.map((e) =>
    'subdir' in e
      ? `<subdir name="${xmlEscape(e.subdir)}"><name>${xmlEscape(e.subdir)}</name></subdir>`
      : `<object><name>${xmlEscape(e.name)}</name><hash>${e.etag}</hash><bytes>${e.size}</bytes><content_type>${xmlEscape(e.content_type)}</content_type><last_modified>${listingTime(e.created_at)}</last_modified></object>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<container name="${xmlEscape(container)}">${items.join('')}</container>`;
}

export function renderContainers(account: string, entries: ContainerEntry[], format: ListingFormat): string {
  if (format === 'plain') return entries.map((e) => `${'subdir' in e ? e.subdir : e.name}\n`).join('');
  if (format === 'json') {
    return JSON.stringify(
      entries.map((e) =>
        'subdir' in e ? { subdir: e.subdir } : { name: e.name, count: e.object_count, bytes: e.bytes_used, last_modified: listingTime(e.updated_at) },
      ),
    );
  }
  const items = entries.map((e) =>
    'subdir' in e
      ? `<subdir name="${xmlEscape(e.subdir)}"><name>${xmlEscape(e.subdir)}</name></subdir>`
      : `<container><name>${xmlEscape(e.name)}</name><count>${e.object_count}</count><bytes>${e.bytes_used}</bytes><last_modified>${listingTime(e.updated_at)}</last_modified></container>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<account name="${xmlEscape(account)}">${items.join('')}</account>`;
}

/** The largest code point: a prefix followed by it sorts after every name starting with the prefix. */
export const MAX_CHAR = '\u{10FFFF}';

export interface ListingQuery {
  limit: number;
  marker?: string;
  endMarker?: string;
  prefix: string;
  delimiter?: string;
  /** `path=`: only the direct children of this pseudo-folder, no subdirs. */
  path?: string;
  reverse: boolean;
}

/**
 * Walks a name-ordered table page by page (keyset: each page starts after the last name seen),
 * folding names that hold the delimiter past the prefix into one `subdir` each and jumping the
 * walk past that subdir, so a listing costs pages of what it returns, not of the container.
 */
export async function walkListing<T extends { name: string }>(
  query: ListingQuery,
  page: (range: { after?: string; before?: string; from?: string; reverse: boolean; limit: number }) => Promise<T[]>,
): Promise<Array<T | { subdir: string }>> {
  const out: Array<T | { subdir: string }> = [];
  const prefix = query.path !== undefined ? (query.path === '' ? '' : `${query.path.replace(/\/$/, '')}/`) : query.prefix;
  const delimiter = query.path !== undefined ? undefined : query.delimiter;
  // The bounds the prefix and markers leave: (low, high) exclusive, with `from` inclusive.
  let low = query.reverse ? query.endMarker : query.marker;
  let high = query.reverse ? query.marker : query.endMarker;
  const prefixHigh = prefix ? `${prefix}${MAX_CHAR}` : undefined;
  if (prefixHigh !== undefined && (high === undefined || prefixHigh < high)) high = prefixHigh;
  let from = prefix && (low === undefined || low < prefix) ? prefix : undefined;
  while (out.length < query.limit) {
    const want = query.limit - out.length;
    // With a delimiter a page may end at its first row (a subdir jump): small pages, not `limit` rows.
    const pageSize = delimiter || query.path !== undefined ? Math.min(want, 100) : want;
    const rows = await page({
      ...(low !== undefined ? { after: low } : {}),
      ...(high !== undefined ? { before: high } : {}),
      ...(from !== undefined ? { from } : {}),
      reverse: query.reverse,
      limit: pageSize,
    });
    if (rows.length === 0) break;
    let jumped = false;
    for (const row of rows) {
      if (out.length >= query.limit) break;
      const rest = row.name.slice(prefix.length);
      if (query.path !== undefined && rest.includes('/')) continue;
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (delimiter && cut >= 0) {
        const subdir = `${prefix}${rest.slice(0, cut)}${delimiter}`;
        if (!query.marker || subdir !== query.marker || query.reverse) out.push({ subdir });
        // Continue after (or before) everything under this subdir.
        if (query.reverse) {
          high = subdir;
        } else {
          low = `${subdir}${MAX_CHAR}`;
          from = undefined;
        }
        jumped = true;
        break;
      }
      out.push(row);
    }
    if (jumped) continue;
    const last = rows[rows.length - 1] as T;
    if (query.reverse) high = last.name;
    else {
      low = last.name;
      from = undefined;
    }
    if (rows.length < pageSize) break;
  }
  return out;
}
