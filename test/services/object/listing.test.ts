// The listing walk (keyset pages, prefix bounds, delimiter jumps, reverse) against a plain
// reference: sort all names, filter, fold into subdirs, cut at the limit. Random names and
// queries; the page function is an in-memory table that answers as the SQL does.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { walkListing, type ListingQuery } from '../../../src/services/object/listing.js';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function reference(names: string[], q: ListingQuery): string[] {
  const prefix = q.path !== undefined ? (q.path === '' ? '' : `${q.path.replace(/\/$/, '')}/`) : q.prefix;
  const delimiter = q.path !== undefined ? undefined : q.delimiter;
  let sorted = [...new Set(names)].sort(byBytes);
  if (q.reverse) sorted = sorted.reverse();
  const out: string[] = [];
  for (const name of sorted) {
    if (!name.startsWith(prefix)) continue;
    if (!q.reverse && q.marker !== undefined && byBytes(name, q.marker) <= 0) continue;
    if (!q.reverse && q.endMarker !== undefined && byBytes(name, q.endMarker) >= 0) continue;
    if (q.reverse && q.marker !== undefined && byBytes(name, q.marker) >= 0) continue;
    if (q.reverse && q.endMarker !== undefined && byBytes(name, q.endMarker) <= 0) continue;
    const rest = name.slice(prefix.length);
    if (q.path !== undefined && rest.includes('/')) continue;
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    const entry = cut >= 0 ? `${prefix}${rest.slice(0, cut)}${delimiter as string}` : name;
    if (cut >= 0 && out.at(-1) === entry) continue;
    if (cut >= 0 && !q.reverse && entry === q.marker) continue;
    out.push(entry);
    if (out.length >= q.limit) break;
  }
  return out;
}

it('walks listings as a full sort-and-filter would', async () => {
  const name = fc.stringMatching(/^[ab/.]{1,6}$/);
  await fc.assert(
    fc.asyncProperty(
      fc.array(name, { maxLength: 60 }),
      fc.record({
        limit: fc.integer({ min: 1, max: 30 }),
        marker: fc.option(name, { nil: undefined }),
        endMarker: fc.option(name, { nil: undefined }),
        prefix: fc.oneof(fc.constant(''), name),
        delimiter: fc.option(fc.constantFrom('/', '.', 'a'), { nil: undefined }),
        reverse: fc.boolean(),
      }),
      async (names, raw) => {
        const q: ListingQuery = { limit: raw.limit, prefix: raw.prefix, reverse: raw.reverse };
        if (raw.marker !== undefined) q.marker = raw.marker;
        if (raw.endMarker !== undefined) q.endMarker = raw.endMarker;
        if (raw.delimiter !== undefined) q.delimiter = raw.delimiter;
        const table = [...new Set(names)].sort(byBytes).map((n) => ({ name: n }));
        const got = await walkListing(q, async (range) => {
          let rows = table.filter(
            (r) =>
              (range.after === undefined || byBytes(r.name, range.after) > 0) &&
              (range.before === undefined || byBytes(r.name, range.before) < 0) &&
              (range.from === undefined || byBytes(r.name, range.from) >= 0),
          );
          if (range.reverse) rows = rows.reverse();
          return rows.slice(0, range.limit);
        });
        assert.deepEqual(got.map((e) => ('subdir' in e ? e.subdir : e.name)), reference(names, q), JSON.stringify({ names: table.map((r) => r.name), q }));
      },
    ),
    { seed: 0x6c697374, numRuns: 3000 },
  );
});
