#!/usr/bin/env node
// The import-graph check (.ci/run runs it before the tests): the house's layering rules, read
// from the source with the TypeScript parser, so a rule broken anywhere in src/ fails the run.
//
//   core            imports only core (it knows no service, agent, contract or entry point)
//   contracts       imports only core and contracts (the shared language of services and agents)
//   agents          import core, contracts and their own folder; never a service, never another agent
//   services        import core, contracts, their own folder and, of another service, only its
//                   declared client: src/services/<name>/client.ts (a typed interface and its
//                   in-process implementation; the same interface goes over HTTP or the bus when split)
//   a service's routes  (files under src/services/<name>/routes/) never import that service's stores
//                   (store.ts, store/*, any */store.ts): a route parses, authorizes, calls the domain and
//                   renders; only the domain calls a store, and only a store touches the database
//   the rest of src (cli/, cloud.ts, ...) is the composition root: it wires everything and may
//   import anything, but nothing imports it.
//
// Known violations are listed in .ci/import-allowlist.txt, a ratchet: a violation not on it fails,
// and so does an entry that no longer occurs (remove it: run with --prune), so the list only shrinks.
//
// Usage: node scripts/check-imports.mjs [--root DIR] [--allowlist FILE] [--prune] [--list]
//   --root       the project whose src/ is checked (default: this checkout)
//   --allowlist  the ratchet file (default: ROOT/.ci/import-allowlist.txt)
//   --prune      rewrite the allowlist without its entries that no longer occur (never adds one)
//   --list       print every violation, allowlisted or not
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const KINDS = [
  'core-imports-service',
  'core-imports-agent',
  'core-imports-outside-core',
  'contracts-imports-service-or-agent',
  'agent-imports-service',
  'agent-imports-other-agent',
  'service-imports-agent',
  'service-imports-other-service-internals',
  'route-imports-store',
  'imports-composition-root',
];

function parseArgs(argv) {
  const opts = { root: resolve(dirname(fileURLToPath(import.meta.url)), '..'), allowlist: undefined, prune: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') opts.root = resolve(argv[++i] ?? '');
    else if (a === '--allowlist') opts.allowlist = resolve(argv[++i] ?? '');
    else if (a === '--prune') opts.prune = true;
    else if (a === '--list') opts.list = true;
    else {
      console.error(`check-imports: unknown argument ${a}`);
      process.exit(2);
    }
  }
  opts.allowlist ??= join(opts.root, '.ci', 'import-allowlist.txt');
  return opts;
}

function sourceFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...sourceFiles(path));
    else if (/\.(m|c)?tsx?$/.test(name) && !name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** Every module specifier a file names: static and type-only imports, re-exports, import(), import types. */
function specifiersOf(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const add = (node, literal) => {
    if (literal && ts.isStringLiteralLike(literal)) {
      found.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The file a relative specifier names (NodeNext: `./x.js` is `./x.ts` in the source), as a path under root. */
function resolveSpecifier(root, from, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined; // a package or node: builtin
  const target = resolve(dirname(from), specifier);
  const candidates = [
    target.replace(/\.js$/, '.ts'),
    target.replace(/\.mjs$/, '.mts'),
    target,
    `${target}.ts`,
    join(target, 'index.ts'),
  ];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? target;
  return relative(root, hit).split(sep).join('/');
}

/** Where a path under the project sits in the layering. */
function placeOf(path) {
  const parts = path.split('/');
  if (parts[0] !== 'src') return { layer: 'outside' };
  if (parts[1] === 'core') return { layer: 'core' };
  if (parts[1] === 'contracts') return { layer: 'contracts' };
  if (parts[1] === 'services' && parts.length > 3) return { layer: 'service', name: parts[2], inner: parts.slice(3).join('/') };
  if (parts[1] === 'agents' && parts.length > 3) return { layer: 'agent', name: parts[2], inner: parts.slice(3).join('/') };
  return { layer: 'root' };
}

/** A service's public surface for other services: its declared client. */
const isServiceClient = (to) => to.inner === 'client.ts';

/** A service's data access: its store.ts, anything under store/, or a sub-folder's store.ts. */
const isStore = (to) => to.inner === 'store.ts' || to.inner.startsWith('store/') || to.inner.endsWith('/store.ts');

/** The rule an import breaks, or undefined. */
function violationOf(from, to) {
  if (to.layer === 'outside') return undefined; // package.json and the like
  if (from.layer === 'root') return undefined; // the composition root wires everything
  if (to.layer === 'root') return 'imports-composition-root';
  switch (from.layer) {
    case 'core':
      if (to.layer === 'core') return undefined;
      if (to.layer === 'service') return 'core-imports-service';
      if (to.layer === 'agent') return 'core-imports-agent';
      return 'core-imports-outside-core';
    case 'contracts':
      return to.layer === 'service' || to.layer === 'agent' ? 'contracts-imports-service-or-agent' : undefined;
    case 'agent':
      if (to.layer === 'service') return 'agent-imports-service';
      if (to.layer === 'agent' && to.name !== from.name) return 'agent-imports-other-agent';
      return undefined;
    case 'service':
      if (to.layer === 'agent') return 'service-imports-agent';
      if (to.layer === 'service' && to.name !== from.name && !isServiceClient(to)) return 'service-imports-other-service-internals';
      if (to.layer === 'service' && from.inner.startsWith('routes/') && isStore(to)) return 'route-imports-store';
      return undefined;
    default:
      return undefined;
  }
}

/** One line per (rule, importing file, imported file): the allowlist's unit. */
const entryOf = (v) => `${v.kind} ${v.from} -> ${v.to}`;

export function checkImports(root) {
  const srcDir = join(root, 'src');
  if (!existsSync(srcDir)) throw new Error(`no src/ under ${root}`);
  const violations = new Map();
  let crossService = 0;
  let crossServiceViaClient = 0;
  let edges = 0;
  for (const file of sourceFiles(srcDir)) {
    const fromPath = relative(root, file).split(sep).join('/');
    const from = placeOf(fromPath);
    const seen = new Set();
    for (const { specifier, line } of specifiersOf(file)) {
      const toPath = resolveSpecifier(root, file, specifier);
      if (toPath === undefined || seen.has(toPath)) continue;
      seen.add(toPath);
      edges++;
      const to = placeOf(toPath);
      if (from.layer === 'service' && to.layer === 'service' && to.name !== from.name) {
        crossService++;
        if (isServiceClient(to)) crossServiceViaClient++;
      }
      const kind = violationOf(from, to);
      if (!kind) continue;
      const v = { kind, from: fromPath, to: toPath, line };
      violations.set(entryOf(v), v);
    }
  }
  return { violations, edges, crossService, crossServiceViaClient };
}

function readAllowlist(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

const ALLOWLIST_HEADER = [
  '# Known import-graph violations (scripts/check-imports.mjs), one per line: rule, importing file -> imported file.',
  '# A ratchet: it may only shrink. A new violation fails .ci/run; so does a line here that no longer occurs',
  '# (run `node scripts/check-imports.mjs --prune` to drop those). Never add a line: fix the import.',
];

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { violations, edges, crossService, crossServiceViaClient } = checkImports(opts.root);
  const allowed = readAllowlist(opts.allowlist);
  const allowedSet = new Set(allowed);
  const fresh = [...violations.values()].filter((v) => !allowedSet.has(entryOf(v)));
  const stale = allowed.filter((e) => !violations.has(e));

  const rows = KINDS.map((kind) => {
    const all = [...violations.values()].filter((v) => v.kind === kind).length;
    const news = fresh.filter((v) => v.kind === kind).length;
    return { kind, all, allowlisted: all - news, news };
  });
  const width = Math.max(...KINDS.map((k) => k.length), 'rule'.length);
  const pad = (s, n) => String(s).padEnd(n);
  const padL = (s, n) => String(s).padStart(n);
  console.log(`import check: ${edges} imports between files of src/ checked`);
  console.log(`${pad('rule', width)}  ${padL('violations', 10)}  ${padL('allowlisted', 11)}  ${padL('new', 4)}`);
  for (const r of rows) console.log(`${pad(r.kind, width)}  ${padL(r.all, 10)}  ${padL(r.allowlisted, 11)}  ${padL(r.news, 4)}`);
  const total = violations.size;
  console.log(`${pad('total', width)}  ${padL(total, 10)}  ${padL(total - fresh.length, 11)}  ${padL(fresh.length, 4)}`);
  console.log(`imports from one service into another: ${crossService} (${crossServiceViaClient} through the other's client.ts)`);

  if (opts.list) for (const v of violations.values()) console.log(`  ${entryOf(v)}  (line ${v.line})`);
  for (const v of fresh) console.error(`NEW  ${v.from}:${v.line} imports ${v.to} (${v.kind})`);
  if (stale.length > 0 && opts.prune) {
    const keep = allowed.filter((e) => violations.has(e));
    writeFileSync(opts.allowlist, [...ALLOWLIST_HEADER, ...keep.sort()].join('\n') + '\n');
    console.log(`pruned ${stale.length} entr${stale.length === 1 ? 'y that no longer occurs' : 'ies that no longer occur'} from ${relative(opts.root, opts.allowlist)}`);
  } else {
    for (const e of stale) console.error(`GONE ${e} (fixed: remove it from ${relative(opts.root, opts.allowlist)}, or run with --prune)`);
  }
  const failed = fresh.length > 0 || (stale.length > 0 && !opts.prune);
  if (failed) {
    console.error(
      fresh.length > 0
        ? 'import check failed: an import breaks the layering (see the rules at the top of scripts/check-imports.mjs)'
        : 'import check failed: the allowlist names imports that are gone; it only shrinks',
    );
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
