import { filterInTurns } from '../../core/cooperative.js';
import { badRequest } from '../../core/http/errors.js';
import { isObject } from '../../core/http/body.js';
import { authorize, type Caller, type ImageContext } from './context.js';
import { CORE_ATTRIBUTES } from './images.js';
import type { Image, MemberStatus, Visibility } from './model.js';
import { VISIBILITIES } from './model.js';

const SORT_KEYS = new Set([
  'name',
  'status',
  'container_format',
  'disk_format',
  'size',
  'id',
  'created_at',
  'updated_at',
  'visibility',
  'owner',
  'min_ram',
  'min_disk',
  'virtual_size',
]);
const PAGING = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort']);
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;

export interface ImagePage {
  images: Image[];
  /** The marker for the next page, when this one is full. */
  nextMarker?: string;
  limit: number;
}

type Query = Record<string, string[]>;

/** GET /v2/images: visibility rules, filters, sorting and marker pagination as Glance has them. */
export async function listImages(ctx: ImageContext, caller: Caller, rawQuery: unknown): Promise<ImagePage> {
  authorize(ctx, caller, 'get_images');
  const query = normalise(rawQuery);
  const one = (key: string) => query[key]?.[0];

  const visibility = one('visibility');
  if (visibility !== undefined && visibility !== 'all' && !VISIBILITIES.includes(visibility as Visibility)) {
    throw badRequest(`Invalid visibility value: ${visibility.slice(0, 32)}`);
  }
  const memberStatus = one('member_status') ?? 'accepted';
  if (!['accepted', 'pending', 'rejected', 'all'].includes(memberStatus)) {
    throw badRequest(`Invalid status value: ${memberStatus.slice(0, 32)}`);
  }
  const owner = one('owner');
  const status = one('status');
  let images = await ctx.records.listVisible(
    { projectId: caller.projectId, isAdmin: caller.isAdmin },
    {
      ...(owner !== undefined ? { owner } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(visibility !== undefined && visibility !== 'all' ? { visibility: visibility as Visibility } : {}),
    },
  );

  const memberships = caller.projectId ? await ctx.records.membershipsOf(caller.projectId) : new Map<string, MemberStatus>();
  images = await filterInTurns(images, (image) => {
    const own = image.owner !== null && image.owner === caller.projectId;
    if (image.visibility === 'community' && !own && visibility !== 'community' && !caller.isAdmin) return false;
    if (image.visibility === 'shared' && !own && !caller.isAdmin) {
      const state = memberships.get(image.id);
      if (!state) return false;
      if (memberStatus !== 'all' && state !== memberStatus) return false;
    }
    return true;
  });

  images = await filterInTurns(images, filterPredicate(query));
  const sortSpec = sorting(query);
  images.sort((a, b) => compare(a, b, sortSpec));

  const limit = parseLimit(one('limit'));
  const marker = one('marker');
  if (marker !== undefined) {
    const index = images.findIndex((i) => i.id === marker);
    if (index < 0) throw badRequest(`Invalid marker. Image ${marker.slice(0, 64)} could not be found.`);
    images = images.slice(index + 1);
  }
  const page = images.slice(0, limit);
  const last = page[page.length - 1];
  return { images: page, limit, ...(images.length > limit && last ? { nextMarker: last.id } : {}) };
}

function normalise(raw: unknown): Query {
  const query: Query = {};
  if (!isObject(raw)) return query;
  for (const [key, value] of Object.entries(raw)) {
    const values = Array.isArray(value) ? value : [value];
    query[key] = values.filter((v): v is string => typeof v === 'string');
  }
  return query;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw badRequest('limit param must be a non-negative integer');
  return Math.min(n, MAX_LIMIT);
}

type Predicate = (image: Image) => boolean;

function filterPredicate(query: Query): Predicate {
  const predicates: Predicate[] = [];
  for (const [key, values] of Object.entries(query)) {
    if (PAGING.has(key) || key === 'visibility' || key === 'member_status' || key === 'owner' || key === 'status') continue;
    for (const value of values) predicates.push(filterFor(key, value));
  }
  if (!('os_hidden' in query)) predicates.push((i) => !i.osHidden);
  return (image) => predicates.every((p) => p(image));
}

function filterFor(key: string, value: string): Predicate {
  switch (key) {
    case 'tag':
      return (i) => i.tags.includes(value);
    case 'size_min':
    case 'size_max': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw badRequest(`Invalid value for ${key}: ${value.slice(0, 32)}`);
      return key === 'size_min' ? (i) => i.size !== null && i.size >= n : (i) => i.size !== null && i.size <= n;
    }
    case 'protected':
    case 'os_hidden': {
      // Glance lower-cases os_hidden (openstacksdk sends `os_hidden=True`) but takes protected as written.
      const word = key === 'os_hidden' ? value.toLowerCase() : value;
      if (word !== 'true' && word !== 'false') {
        throw badRequest(`Invalid value '${value.slice(0, 32)}' for '${key}' filter. Valid values are 'true' or 'false'.`);
      }
      const wanted = word === 'true';
      return key === 'protected' ? (i) => i.protected === wanted : (i) => i.osHidden === wanted;
    }
    case 'created_at':
    case 'updated_at':
      return timeFilter(key, value);
    case 'id':
    case 'name':
      if (value.startsWith('in:')) {
        const set = new Set(splitIn(value.slice(3)));
        return (i) => set.has(String(key === 'id' ? i.id : i.name));
      }
      return (i) => (key === 'id' ? i.id : i.name) === value;
    case 'container_format':
    case 'disk_format':
      if (value.startsWith('in:')) {
        const set = new Set(splitIn(value.slice(3)));
        return (i) => set.has(String(key === 'disk_format' ? i.diskFormat : i.containerFormat));
      }
      return (i) => (key === 'disk_format' ? i.diskFormat : i.containerFormat) === value;
    default:
      if (CORE_ATTRIBUTES.has(key)) {
        return (i) => String(coreValue(i, key)) === value;
      }
      return (i) => i.properties[key] === value;
  }
}

function splitIn(list: string): string[] {
  // Glance allows quoting a value that contains a comma: in:"a,b",c
  const out: string[] = [];
  const re = /"([^"]*)"|([^,]+)/g;
  for (let m = re.exec(list); m; m = re.exec(list)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  gt: (a, b) => a > b,
  gte: (a, b) => a >= b,
  lt: (a, b) => a < b,
  lte: (a, b) => a <= b,
  eq: (a, b) => a === b,
  neq: (a, b) => a !== b,
};

function timeFilter(key: 'created_at' | 'updated_at', value: string): Predicate {
  const match = /^(gt|gte|lt|lte|eq|neq):(.+)$/.exec(value);
  const op = match ? OPERATORS[match[1] as string] : undefined;
  const when = match ? Date.parse(match[2] as string) : NaN;
  if (!op || Number.isNaN(when)) {
    throw badRequest(`Invalid ${key} filter '${value.slice(0, 64)}': use an operator (gt, gte, lt, lte, eq, neq) and an ISO 8601 time.`);
  }
  return (i) => op(Date.parse(key === 'created_at' ? i.createdAt : i.updatedAt), when);
}

type SortSpec = Array<{ key: string; dir: 'asc' | 'desc' }>;

function sorting(query: Query): SortSpec {
  const spec: SortSpec = [];
  const sort = query.sort?.[0];
  if (sort !== undefined) {
    if (query.sort_key || query.sort_dir) throw badRequest('The sort parameter cannot be combined with sort_key or sort_dir.');
    for (const part of sort.split(',')) {
      const [key = '', dir = 'desc'] = part.trim().split(':');
      spec.push({ key: checkSortKey(key), dir: checkDir(dir) });
    }
  } else {
    const keys = query.sort_key ?? [];
    const dirs = query.sort_dir ?? [];
    if (dirs.length > Math.max(keys.length, 1)) throw badRequest('There are more sort directions than sort keys.');
    keys.forEach((key, i) => spec.push({ key: checkSortKey(key), dir: checkDir(dirs[i] ?? dirs[0] ?? 'desc') }));
    if (keys.length === 0) spec.push({ key: 'created_at', dir: checkDir(dirs[0] ?? 'desc') });
  }
  if (!spec.some((s) => s.key === 'id')) spec.push({ key: 'id', dir: spec[0]?.dir ?? 'desc' });
  return spec;
}

function checkSortKey(key: string): string {
  if (!SORT_KEYS.has(key)) throw badRequest(`Invalid sort key: ${key.slice(0, 32)}. It is not among the sortable attributes.`);
  return key;
}

function checkDir(dir: string): 'asc' | 'desc' {
  if (dir !== 'asc' && dir !== 'desc') throw badRequest(`Invalid sort direction: ${dir.slice(0, 16)}`);
  return dir;
}

function coreValue(image: Image, key: string): string | number | boolean | null {
  switch (key) {
    case 'name':
      return image.name;
    case 'status':
      return image.status;
    case 'container_format':
      return image.containerFormat;
    case 'disk_format':
      return image.diskFormat;
    case 'size':
      return image.size;
    case 'id':
      return image.id;
    case 'created_at':
      return image.createdAt;
    case 'updated_at':
      return image.updatedAt;
    case 'visibility':
      return image.visibility;
    case 'owner':
      return image.owner;
    case 'min_ram':
      return image.minRam;
    case 'min_disk':
      return image.minDisk;
    case 'virtual_size':
      return image.virtualSize;
    case 'checksum':
      return image.checksum;
    default:
      return null;
  }
}

function compare(a: Image, b: Image, spec: SortSpec): number {
  for (const { key, dir } of spec) {
    const x = coreValue(a, key);
    const y = coreValue(b, key);
    if (x === y) continue;
    // Nulls sort first ascending, as SQL engines Glance runs on do.
    const order = x === null ? -1 : y === null ? 1 : x < y ? -1 : 1;
    return dir === 'asc' ? order : -order;
  }
  return 0;
}
