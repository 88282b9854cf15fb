/**
 * The RBAC matrix as data: one YAML file per service under test/rbac/, read and checked
 * here. The format is described in test/rbac/README.md; this file only refuses what does
 * not follow it, so a typo in the table fails loudly instead of checking nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** Who calls, in the order every table lists them. */
export const CALLERS = ['admin', 'member', 'reader', 'other', 'none'] as const;
export type CallerName = (typeof CALLERS)[number];

/**
 * `allow`: any 2xx (and, for a row with `lists`, the listed fixture is in the answer);
 * `hidden`: 200 without that fixture; a number: exactly that HTTP status.
 */
export type Outcome = 'allow' | 'hidden' | number;

export interface Row {
  service: string;
  resource: string;
  operation: string;
  method: string;
  /** Path template below the service prefix, with {fixture} placeholders. */
  path: string;
  /** OpenStack policy rule names this row's expectations come from. */
  rules: string[];
  expect: Record<CallerName, Outcome>;
  body?: unknown;
  headers: Record<string, string>;
  /** Fixtures made anew for every cell of this row (the row consumes or changes them). */
  fresh: string[];
  /** For list rows: the fixture (`name`, or `name.key` for another of its values) whose presence tells `allow` from `hidden`. */
  lists?: string;
  /** For field-level rows: the attribute whose presence in the answer tells `allow` from `hidden`. */
  shows?: string;
  /** Cells known to fail until another branch is merged: caller to the reason. */
  pending: Partial<Record<CallerName, string>>;
  /** Rows that change something global (a host, a quota) run alone, after all the others. */
  last: boolean;
  note?: string;
  /** `file:index` for messages. */
  where: string;
}

export interface ServiceTable {
  service: string;
  prefix: string;
  rows: Row[];
  /** Routes deliberately left out of the matrix, each with its reason: `GET /path` to why. */
  unchecked: Record<string, string>;
}

const ROW_KEYS = new Set(['resource', 'operation', 'request', 'rule', 'expect', 'body', 'headers', 'fresh', 'lists', 'shows', 'pending', 'last', 'note']);
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** test/rbac in the source tree (the compiled test runs from dist/test/rbac). */
export function tableDirectory(): string {
  return fileURLToPath(new URL('../../../test/rbac/', import.meta.url));
}

export function loadTables(directory = tableDirectory()): ServiceTable[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => parseTable(name, readFileSync(join(directory, name), 'utf8')));
}

export function parseTable(file: string, text: string): ServiceTable {
  const doc: unknown = parse(text);
  const fail = (where: string, message: string): never => {
    throw new Error(`${file}${where ? `:${where}` : ''}: ${message}`);
  };
  if (!isRecord(doc)) return fail('', 'must be a mapping with service, prefix and rows');
  const service = doc.service;
  const prefix = doc.prefix;
  if (typeof service !== 'string' || typeof prefix !== 'string') return fail('', 'needs `service` and `prefix` strings');
  const defaultHeaders = stringMap(doc.headers ?? {}, (m) => fail('headers', m));
  const unchecked = stringMap(doc.unchecked ?? {}, (m) => fail('unchecked', m));
  if (!Array.isArray(doc.rows)) return fail('', '`rows` must be a list');
  const rows = doc.rows.map((raw: unknown, index: number): Row => {
    const where = `${file}:row ${index + 1}`;
    const bad = (message: string): never => fail(`row ${index + 1}`, message);
    if (!isRecord(raw)) return bad('must be a mapping');
    for (const key of Object.keys(raw)) if (!ROW_KEYS.has(key)) bad(`unknown key ${key}`);
    const { resource, operation, request } = raw;
    if (typeof resource !== 'string' || typeof operation !== 'string') return bad('needs `resource` and `operation`');
    if (typeof request !== 'string') return bad('needs `request: METHOD /path`');
    const [method, path, ...extra] = request.trim().split(/\s+/);
    if (!method || !METHODS.has(method) || !path?.startsWith('/') || extra.length > 0) return bad(`request ${JSON.stringify(request)} is not "METHOD /path"`);
    const rules = typeof raw.rule === 'string' ? [raw.rule] : Array.isArray(raw.rule) && raw.rule.every((r) => typeof r === 'string') ? (raw.rule as string[]) : [];
    if (rules.length === 0) bad('needs `rule`: the OpenStack policy rule name(s) the expectations come from');
    const expect = outcomes(raw.expect, bad);
    const fresh = raw.fresh === undefined ? [] : Array.isArray(raw.fresh) && raw.fresh.every((f) => typeof f === 'string') ? (raw.fresh as string[]) : bad('`fresh` is a list of fixture names');
    if (raw.lists !== undefined && typeof raw.lists !== 'string') bad('`lists` names one fixture');
    if (raw.shows !== undefined && typeof raw.shows !== 'string') bad('`shows` names one attribute');
    if (raw.lists !== undefined && raw.shows !== undefined) bad('a row has `lists` or `shows`, not both');
    if (raw.lists === undefined && raw.shows === undefined && CALLERS.some((c) => expect[c] === 'hidden')) bad('`hidden` needs `lists` or `shows`');
    const pending = stringMap(raw.pending ?? {}, bad) as Partial<Record<CallerName, string>>;
    for (const caller of Object.keys(pending)) if (!(CALLERS as readonly string[]).includes(caller)) bad(`pending names unknown caller ${caller}`);
    return {
      service,
      resource,
      operation,
      method,
      path,
      rules,
      expect,
      ...(raw.body !== undefined ? { body: raw.body } : {}),
      headers: { ...defaultHeaders, ...stringMap(raw.headers ?? {}, bad) },
      fresh,
      ...(typeof raw.lists === 'string' ? { lists: raw.lists } : {}),
      ...(typeof raw.shows === 'string' ? { shows: raw.shows } : {}),
      pending,
      last: raw.last === true,
      ...(typeof raw.note === 'string' ? { note: raw.note } : {}),
      where,
    };
  });
  return { service, prefix, rows, unchecked };
}

function outcomes(value: unknown, bad: (message: string) => never): Record<CallerName, Outcome> {
  if (!isRecord(value)) return bad(`\`expect\` maps each of ${CALLERS.join(', ')} to an outcome`);
  const result = {} as Record<CallerName, Outcome>;
  for (const key of Object.keys(value)) if (!(CALLERS as readonly string[]).includes(key)) bad(`expect names unknown caller ${key}`);
  for (const caller of CALLERS) {
    const outcome = value[caller];
    if (outcome === 'allow' || outcome === 'hidden' || (typeof outcome === 'number' && Number.isInteger(outcome) && outcome >= 300 && outcome < 500)) {
      result[caller] = outcome;
    } else {
      bad(`expect.${caller} must be allow, hidden or a 3xx/4xx status, not ${JSON.stringify(outcome)}`);
    }
  }
  return result;
}

function stringMap(value: unknown, bad: (message: string) => never): Record<string, string> {
  if (!isRecord(value)) return bad('must be a mapping of strings');
  for (const [key, v] of Object.entries(value)) if (typeof v !== 'string') bad(`${key} must be a string`);
  return value as Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
