import { ApiError } from '../../../core/http/errors.js';

/** Query values as strings (Fastify gives arrays for repeated keys; the last one wins, as webob's). */
export function q(query: unknown, key: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[key];
  if (Array.isArray(value)) return value.length ? String(value[value.length - 1]) : undefined;
  return value === undefined ? undefined : String(value);
}

export const truthy = (value: string | undefined): boolean => value !== undefined && ['1', 'true', 'yes', 'on', 't', 'y'].includes(value.toLowerCase());


/** Cinder's v1 names, which it still sorts by. */
const SORT_ALIASES: Record<string, string> = { display_name: 'name', display_description: 'description' };

/**
 * Cinder's sort (`sort=key:dir,...` or sort_key/sort_dir), limit and marker over rows already
 * filtered; a bad key, direction, limit or marker is a 400, as Cinder answers.
 */
export function sortAndPage<T extends { id: string }>(rows: T[], query: unknown, keys: readonly string[]): { rows: T[]; next: string | undefined } {
  const sorts: Array<[string, 'asc' | 'desc']> = [];
  const sort = q(query, 'sort');
  if (sort !== undefined) {
    for (const part of sort.split(',')) {
      const [key, dir = 'desc'] = part.trim().split(':', 2) as [string, string | undefined];
      sorts.push([SORT_ALIASES[key] ?? key, dir as 'asc' | 'desc']);
    }
  } else if (q(query, 'sort_key') !== undefined) {
    const key = q(query, 'sort_key') as string;
    sorts.push([SORT_ALIASES[key] ?? key, (q(query, 'sort_dir') ?? 'desc') as 'asc' | 'desc']);
  }
  if (sorts.length === 0) sorts.push(['created_at', 'desc']);
  for (const [key, dir] of sorts) {
    if (!keys.includes(key)) throw new ApiError(400, `Invalid input received: Invalid sort key ${key}.`);
    if (dir !== 'asc' && dir !== 'desc') throw new ApiError(400, `Invalid input received: Invalid sort direction ${dir}.`);
  }
  if (!sorts.some(([key]) => key === 'id')) sorts.push(['id', sorts[0]?.[1] ?? 'desc']);
  const sorted = [...rows].sort((a, b) => {
    for (const [key, dir] of sorts) {
      const x = (a as Record<string, unknown>)[key] as string | number | null;
      const y = (b as Record<string, unknown>)[key] as string | number | null;
      if (x === y) continue;
      const c = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
      return dir === 'asc' ? c : -c;
    }
    return 0;
  });
  let out = sorted;
  const marker = q(query, 'marker');
  if (marker !== undefined) {
    const at = out.findIndex((r) => r.id === marker);
    if (at < 0) throw new ApiError(400, `Invalid input received: marker [${marker}] not found.`);
    out = out.slice(at + 1);
  }
  const offsetRaw = q(query, 'offset');
  if (offsetRaw !== undefined) {
    const offset = Number(offsetRaw);
    if (!Number.isInteger(offset) || offset < 0) throw new ApiError(400, `Invalid input received: offset must be a non-negative integer, not ${offsetRaw}.`);
    out = out.slice(offset);
  }
  const limitRaw = q(query, 'limit');
  let next: string | undefined;
  if (limitRaw !== undefined) {
    const limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 0) throw new ApiError(400, `Invalid input received: limit must be a non-negative integer, not ${limitRaw}.`);
    // As Cinder: a full page gets a next link (the page after it may be empty).
    if (limit === 0) out = [];
    else if (out.length >= limit) {
      out = out.slice(0, limit);
      next = out.at(-1)?.id;
    }
  }
  return { rows: out, next };
}

/** Cinder's metadata filter: `metadata={"k": "v"}` (JSON, or Python-literal quotes). */
export function metadataFilter(raw: string | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw.replace(/'/g, '"')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  } catch {
    throw new ApiError(400, `Invalid input received: Invalid metadata filter ${raw}.`);
  }
}

/** Validates a metadata body: string keys of 1-255 and string values of at most 255 characters. */
export function checkMetadata(value: unknown, what = 'metadata'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, `Invalid input received: ${what} must be an object.`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.length === 0 || key.length > 255) throw new ApiError(400, `Invalid input received: ${what} keys must be 1 to 255 characters.`);
    if (typeof v !== 'string') throw new ApiError(400, `Invalid input received: the value of ${what} key ${key} must be a string.`);
    if (v.length > 255) throw new ApiError(400, `Invalid input received: the value of ${what} key ${key} is longer than 255 characters.`);
    out[key] = v;
  }
  return out;
}

/** The next page's link: the request's own URL (with or without a project id) with the new marker. */
export function nextLink(publicUrl: string, requestUrl: string, query: unknown, marker: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (key === 'marker') continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  params.set('marker', marker);
  return `${publicUrl}${requestUrl.split('?')[0]}?${params}`;
}
