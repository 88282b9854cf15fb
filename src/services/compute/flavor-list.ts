import { badRequest, type Caller, type ComputeContext } from './context.js';
import { FlavorRecords } from './store/flavors.js';
import type { FlavorRow } from './tables.js';
import { queryValue } from './validate.js';

/** Nova's sort keys for flavors, mapped to our columns. */
const SORT_KEYS: Readonly<Record<string, keyof FlavorRow>> = {
  flavorid: 'id',
  id: 'id',
  name: 'name',
  memory_mb: 'memory_mb',
  root_gb: 'root_gb',
  ephemeral_gb: 'ephemeral_gb',
  swap: 'swap',
  vcpus: 'vcpus',
  rxtx_factor: 'rxtx_factor',
  is_public: 'is_public',
  disabled: 'disabled',
  description: 'description',
  created_at: 'created_at',
  updated_at: 'created_at',
};

const MAX_LIMIT = 1000;

export interface FlavorPage {
  rows: FlavorRow[];
  /** The query string of the next page, when this one was cut at `limit`. */
  next?: string;
}

function parseIsPublic(value: string | undefined): boolean | null {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'none') return null;
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(v)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(v)) return false;
  throw badRequest(`Invalid is_public filter [${value}]`);
}

function nonNegative(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw badRequest(`Invalid ${what} filter [${value}]`);
  return Number(value.trim());
}

/**
 * Flavors as GET /flavors lists them. Ordering happens here rather than in SQL because
 * flavor ids sort as strings ("42" before "5") and PostgreSQL's collation would not
 * agree with SQLite's on mixed text; a cloud has tens of flavors, not millions.
 */
export async function listFlavors(ctx: ComputeContext, caller: Caller, query: unknown): Promise<FlavorPage> {
  // Only an admin chooses; a project always sees what is public plus what it was granted.
  const isPublic = caller.isAdmin ? parseIsPublic(queryValue(query, 'is_public')) : true;
  const minRam = nonNegative(queryValue(query, 'minRam'), 'minRam');
  const minDisk = nonNegative(queryValue(query, 'minDisk'), 'minDisk');
  const sortKeyName = queryValue(query, 'sort_key') ?? 'flavorid';
  const sortKey = SORT_KEYS[sortKeyName];
  if (!sortKey) throw badRequest('Invalid sort key');
  const sortDir = (queryValue(query, 'sort_dir') ?? 'asc').toLowerCase();
  if (sortDir !== 'asc' && sortDir !== 'desc') throw badRequest("Unknown sort direction, must be 'desc' or 'asc'");
  const limitText = queryValue(query, 'limit');
  let limit = MAX_LIMIT;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText.trim())) throw badRequest('limit param must be an integer');
    limit = Math.min(Number(limitText.trim()), MAX_LIMIT);
  }
  const marker = queryValue(query, 'marker');

  const flavors = new FlavorRecords(ctx.db);
  const all = await flavors.list();
  const granted = await flavors.grantedTo(caller.projectId);
  let rows = all.filter((row) => {
    if (!caller.isAdmin && row.disabled === 1) return false;
    if (isPublic !== null) {
      const matches = (row.is_public === 1) === isPublic || (isPublic && granted.has(row.id));
      if (!matches) return false;
    }
    if (minRam !== undefined && row.memory_mb < minRam) return false;
    if (minDisk !== undefined && row.root_gb < minDisk) return false;
    return true;
  });
  const sign = sortDir === 'asc' ? 1 : -1;
  rows.sort((a, b) => sign * compare(a[sortKey], b[sortKey]) || compare(a.id, b.id));
  if (marker !== undefined) {
    const at = rows.findIndex((r) => r.id === marker);
    if (at < 0) throw badRequest(`marker [${marker}] not found`);
    rows = rows.slice(at + 1);
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  if (limitText === undefined || page.length < limit || !last) return { rows: page };
  const params = new URLSearchParams();
  for (const key of ['is_public', 'minRam', 'minDisk', 'sort_key', 'sort_dir']) {
    const value = queryValue(query, key);
    if (value !== undefined) params.set(key, value);
  }
  params.set('limit', String(limit));
  params.set('marker', last.id);
  return { rows: page, next: params.toString() };
}

function compare(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
