import { SwiftError } from './errors.js';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * swob's Range handling: a header that does not parse is ignored (the whole object, 200); one
 * that parses but where no range can be satisfied is a 416. Ranges past the end are clipped.
 */
export function parseRanges(header: string | undefined, size: number): ByteRange[] | undefined {
  if (!header) return undefined;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const specs = match[1].split(',').map((s) => s.trim());
  if (specs.length > 50) return undefined;
  const parsed: Array<[number | null, number | null]> = [];
  for (const spec of specs) {
    const m = /^(\d*)-(\d*)$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    const start = m[1] === '' ? null : Number(m[1]);
    const end = m[2] === '' ? null : Number(m[2]);
    if (start !== null && end !== null && end < start) return undefined;
    parsed.push([start, end]);
  }
  const ranges: ByteRange[] = [];
  for (const [start, end] of parsed) {
    if (start === null) {
      // The last `end` bytes.
      if (end === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - (end as number)), end: size - 1 });
    } else if (start < size) {
      ranges.push({ start, end: end === null ? size - 1 : Math.min(end, size - 1) });
    }
  }
  if (ranges.length === 0) throw new SwiftError(416, undefined, { 'content-range': `bytes */${size}` });
  return ranges;
}
