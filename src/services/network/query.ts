import { filterInTurns, mapInTurns } from '../../core/cooperative.js';
import { isObject, type Json } from '../../core/http/body.js';
import { invalidInput } from './common.js';

const CONTROL = new Set(['fields', 'sort_key', 'sort_dir', 'limit', 'marker', 'page_reverse', 'tags', 'tags-any', 'not-tags', 'not-tags-any']);

export interface ListResult {
  items: Json[];
  links: Array<{ rel: 'next' | 'previous'; href: string }>;
}

function values(query: Json, key: string): string[] {
  const v = query[key];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

function matches(item: Json, key: string, wanted: string[]): boolean {
  const value = item[key];
  if (key === 'fixed_ips' && Array.isArray(value)) {
    // fixed_ips=ip_address=10.0.0.5 or fixed_ips=subnet_id=...
    return wanted.some((w) => {
      const [field, expected] = w.split('=');
      return value.some((entry) => isObject(entry) && field !== undefined && String(entry[field]) === expected);
    });
  }
  if (Array.isArray(value)) return wanted.some((w) => value.map(String).includes(w));
  const text = value === null || value === undefined ? '' : String(value).toLowerCase();
  return wanted.some((w) => w.toLowerCase() === text || (w === '' && (value === null || value === undefined)));
}

/**
 * Neutron's list contract over rendered resources: attribute filters (repeated values
 * OR'ed), tag filters, `fields=`, `sort_key`/`sort_dir`, `limit`/`marker`/`page_reverse`
 * with `*_links`. Long lists are filtered in turns (core/cooperative.ts).
 */
export async function listQuery(all: Json[], rawQuery: unknown, baseUrl: string): Promise<ListResult> {
  const query: Json = isObject(rawQuery) ? rawQuery : {};
  let items = all;
  for (const key of Object.keys(query)) {
    if (CONTROL.has(key)) continue;
    const wanted = values(query, key);
    if (wanted.length === 0) continue;
    items = await filterInTurns(items, (item) => key in item && matches(item, key, wanted));
  }
  const tagList = (key: string) => values(query, key).flatMap((v) => v.split(',')).filter(Boolean);
  const tagsOf = (item: Json) => (Array.isArray(item.tags) ? (item.tags as string[]) : []);
  const all_ = tagList('tags');
  const any = tagList('tags-any');
  const notAll = tagList('not-tags');
  const notAny = tagList('not-tags-any');
  if (all_.length) items = await filterInTurns(items, (i) => all_.every((t) => tagsOf(i).includes(t)));
  if (any.length) items = await filterInTurns(items, (i) => any.some((t) => tagsOf(i).includes(t)));
  if (notAll.length) items = await filterInTurns(items, (i) => !notAll.every((t) => tagsOf(i).includes(t)));
  if (notAny.length) items = await filterInTurns(items, (i) => !notAny.some((t) => tagsOf(i).includes(t)));

  const keys = values(query, 'sort_key');
  const dirs = values(query, 'sort_dir');
  if (dirs.length > 0 && dirs.length !== keys.length) throw invalidInput('The number of sort_keys and sort_dirs must be same');
  for (const dir of dirs) if (dir !== 'asc' && dir !== 'desc') throw invalidInput(`${dir} is an invalid value for sort_dir, valid value is 'asc' and 'desc'`);
  for (const key of keys) {
    if (items.length > 0 && !(key in (items[0] as Json))) throw invalidInput(`${key} is an invalid attribute for sort_keys`);
  }
  const spec = [...keys.map((k, i) => ({ key: k, desc: dirs[i] === 'desc' })), { key: 'id', desc: dirs[0] === 'desc' }];
  items = [...items].sort((a, b) => {
    for (const { key, desc } of spec) {
      const x = a[key];
      const y = b[key];
      if (x === y) continue;
      const order = x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : String(x) < String(y) ? -1 : 1;
      return desc ? -order : order;
    }
    return 0;
  });

  const limitText = values(query, 'limit')[0];
  const marker = values(query, 'marker')[0];
  const reverse = values(query, 'page_reverse')[0]?.toLowerCase() === 'true';
  const links: ListResult['links'] = [];
  if (limitText !== undefined || marker !== undefined) {
    const limit = limitText === undefined ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) throw invalidInput(`'${limitText}' is not an integer`);
    let start = 0;
    let end = items.length;
    if (marker !== undefined) {
      const index = items.findIndex((i) => i.id === marker);
      if (index < 0) throw invalidInput(`Marker ${marker.slice(0, 64)} could not be found.`);
      if (reverse) end = index;
      else start = index + 1;
    }
    if (limit > 0) {
      if (reverse) start = Math.max(0, end - limit);
      else end = Math.min(items.length, start + limit);
    }
    const page = items.slice(start, end);
    const link = (rel: 'next' | 'previous', id: string, pageReverse: boolean) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (k === 'marker' || k === 'page_reverse') continue;
        for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') params.append(k, x);
      }
      params.set('marker', id);
      if (pageReverse) params.set('page_reverse', 'True');
      links.push({ rel, href: `${baseUrl}?${params.toString()}` });
    };
    const first = page[0];
    const last = page[page.length - 1];
    if (limit > 0 && last && end < items.length) link('next', String(last.id), false);
    if (first && start > 0) link('previous', String(first.id), true);
    items = page;
  }

  const fields = values(query, 'fields');
  if (fields.length > 0) {
    items = await mapInTurns(items, (item) => Object.fromEntries(Object.entries(item).filter(([k]) => fields.includes(k))));
  }
  return { items, links };
}

/** `fields=` on a single resource. */
export function selectFields(item: Json, rawQuery: unknown): Json {
  const fields = isObject(rawQuery) ? values(rawQuery, 'fields') : [];
  if (fields.length === 0) return item;
  return Object.fromEntries(Object.entries(item).filter(([k]) => fields.includes(k)));
}
