import { isObject } from '../../core/http/body.js';

/**
 * Keystone's inexact list filters: `name__contains=web`, `name__startswith`, `name__endswith`,
 * `name__equals`, each with an `i` before the comparator for case-insensitive matching
 * (`name__icontains`). Keystone ignores a comparator it does not know, and so do we.
 */
const COMPARATORS: Record<string, (value: string, wanted: string) => boolean> = {
  contains: (value, wanted) => value.includes(wanted),
  startswith: (value, wanted) => value.startsWith(wanted),
  endswith: (value, wanted) => value.endsWith(wanted),
  equals: (value, wanted) => value === wanted,
};

type Predicate = (item: Record<string, unknown>) => boolean;

function predicates(query: unknown, fields: readonly string[]): Predicate[] {
  const out: Predicate[] = [];
  if (!isObject(query)) return out;
  for (const [key, raw] of Object.entries(query)) {
    const separator = key.indexOf('__');
    if (separator < 0) continue;
    const field = key.slice(0, separator);
    if (!fields.includes(field)) continue;
    let comparator = key.slice(separator + 2);
    const caseSensitive = !comparator.startsWith('i');
    if (!caseSensitive) comparator = comparator.slice(1);
    const compare = Object.hasOwn(COMPARATORS, comparator) ? COMPARATORS[comparator] : undefined;
    if (!compare) continue;
    for (const wanted of (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string')) {
      const needle = caseSensitive ? wanted : wanted.toLowerCase();
      out.push((item) => {
        const value = item[field];
        if (typeof value !== 'string') return false;
        return compare(caseSensitive ? value : value.toLowerCase(), needle);
      });
    }
  }
  return out;
}

/** The rendered entities of a list that pass every inexact filter of the query on these fields. */
export function applyInexactFilters<T extends Record<string, unknown>>(query: unknown, items: T[], fields: readonly string[] = ['name']): T[] {
  const tests = predicates(query, fields);
  return tests.length === 0 ? items : items.filter((item) => tests.every((test) => test(item)));
}
