#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's own test runner.
// Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests('dist/test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
// node --test given no files searches the whole tree itself: a filter that matches nothing is a mistake.
if (files.length === 0) {
  console.error(`no test file under dist/test matches ${filters.join(', ')}`);
  process.exit(2);
}
// Suites that compare the whole machine's state before and after (processes, namespaces,
// links, iptables) run last and alone, so no other suite's cloud shows up in their snapshots.
const ALONE = ['e2e/two-clouds.test.js'];
const alone = files.filter((f) => ALONE.some((a) => f.endsWith(a)));
const together = files.filter((f) => !alone.includes(f));

function run(list, concurrency) {
  return new Promise((resolve) => {
    if (list.length === 0) return resolve(0);
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...list], { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const first = await run(together, 2);
const last = await run(alone, 1);
process.exit(first !== 0 ? first : last);
