#!/usr/bin/env node
// Bundles the compiled `kumo` command (dist/src/cli/main.js) and its libraries into one file,
// dist/kumo.mjs: Node then reads and links one module instead of about 700, which is most of
// a start's CPU time (bench/startup.bench.ts). Native addons stay outside, loaded from
// node_modules as before.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/kumo.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Addons and the optional native PostgreSQL driver are loaded by Node, not inlined.
  external: ['better-sqlite3', 'bcrypt', 'pg-native'],
  // The CommonJS libraries inside an ES module still need `require` for Node's built-ins.
  banner: { js: "import { createRequire as kumoCreateRequire } from 'node:module'; const require = kumoCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
