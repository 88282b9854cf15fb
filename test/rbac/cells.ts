/**
 * Runs the cells of the RBAC matrix: one request per (row, caller), its answer reduced to
 * an outcome and compared with the table.
 */
import type { ApiResponse } from '../helpers/cloud.js';
import { CALLERS, type CallerName, type Outcome, type Row, type ServiceTable } from './table.js';
import type { FixtureValue, World } from './world.js';

export interface CellResult {
  row: Row;
  caller: CallerName;
  expected: Outcome;
  actual: Outcome;
  /** Why it did not get as far as an answer (a fixture that failed to build). */
  error?: string;
  /** The answer's status and the start of its body, for mismatches. */
  detail: string;
}

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)(?:\.([a-z][a-z0-9_]*))?\}/g;

/** The fixture names a row refers to (in its path, body and headers), besides `my`. */
export function fixturesOf(row: Row): string[] {
  const text = `${row.path} ${JSON.stringify(row.body ?? null)} ${JSON.stringify(row.headers)}`;
  const names = new Set<string>([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string));
  if (row.lists) names.add(row.lists.split('.')[0] as string);
  names.delete('my');
  return [...names];
}

export async function runCell(w: World, table: ServiceTable, row: Row, caller: CallerName): Promise<CellResult> {
  const expected = row.expect[caller];
  try {
    const values = new Map<string, FixtureValue>();
    for (const name of row.fresh) values.set(name, await w.make(name));
    for (const name of fixturesOf(row)) if (!values.has(name)) values.set(name, await w.get(name));
    const scope = w.scope.get(caller === 'none' ? 'member' : caller) as { project: string; user: string };
    // A MAC tail of the caller's own, so two callers never ask for the same address.
    const mac = `${scope.user.slice(0, 2)}:${scope.user.slice(2, 4)}:${scope.user.slice(4, 6)}`;
    values.set('my', { id: scope.user, project: scope.project, user: scope.user, mac });
    const fill = (text: string) =>
      text.replace(PLACEHOLDER, (_, name: string, key: string | undefined) => {
        const value = values.get(name)?.[key ?? 'id'];
        if (value === undefined) throw new Error(`${row.where}: {${name}${key ? `.${key}` : ''}} is not a fixture value`);
        return value;
      });
    const body = row.body === undefined ? undefined : mapStrings(row.body, fill);
    const headers = Object.fromEntries(Object.entries(row.headers).map(([k, v]) => [k, fill(v)]));
    const res = await w.call(caller, row.method, `${table.prefix}${fill(row.path)}`, body, headers);
    const [listed, listedKey] = row.lists?.split('.') ?? [];
    const marker = listed ? values.get(listed)?.[listedKey ?? 'id'] : undefined;
    if (listed && marker === undefined) throw new Error(`${row.where}: lists ${row.lists}, which is not a fixture value`);
    return { row, caller, expected, actual: outcomeOf(res, marker, row.shows), detail: `HTTP ${res.status} ${preview(res)}` };
  } catch (error) {
    return { row, caller, expected, actual: 0, error: error instanceof Error ? error.message : String(error), detail: '' };
  }
}

/** 2xx is `allow` unless the row's marker (a listed id, a shown attribute) is missing: then `hidden`. */
function outcomeOf(res: ApiResponse, listedId: string | undefined, shownKey: string | undefined): Outcome {
  if (res.status < 200 || res.status >= 300) return res.status;
  if (listedId !== undefined) return JSON.stringify(res.body ?? '').includes(listedId) ? 'allow' : 'hidden';
  if (shownKey !== undefined) return hasKey(res.body, shownKey) ? 'allow' : 'hidden';
  return 'allow';
}

function hasKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => hasKey(v, key));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([k, v]) => k === key || hasKey(v, key));
}

function mapStrings(value: unknown, fill: (text: string) => string): unknown {
  if (typeof value === 'string') return fill(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fill));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [fill(k), mapStrings(v, fill)]));
  return value;
}

function preview(res: ApiResponse): string {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '');
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

/** Runs `tasks` with at most `limit` in flight. */
export async function inPool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Every cell of a table: rows in parallel (within `limit`), then the `last` rows one by one. */
export async function runTable(w: World, table: ServiceTable, limit: number): Promise<CellResult[]> {
  const cellsOf = (row: Row) => CALLERS.map((caller) => () => runCell(w, table, row, caller));
  const concurrent = await inPool(limit, table.rows.filter((r) => !r.last).flatMap(cellsOf));
  const serial: CellResult[] = [];
  for (const row of table.rows.filter((r) => r.last)) for (const cell of cellsOf(row)) serial.push(await cell());
  return [...concurrent, ...serial];
}

export function describeCell(cell: CellResult): string {
  const { row } = cell;
  const got = cell.error ? `error: ${cell.error}` : `${cell.actual} (${cell.detail})`;
  return `${row.service} ${row.resource} ${row.operation} ${row.method} ${row.path} as ${cell.caller}: expected ${cell.expected}, got ${got} [${row.rules.join(', ')}] (${row.where})`;
}
