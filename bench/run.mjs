#!/usr/bin/env node
// `npm run bench`: runs every compiled bench script in turn (or those whose names contain one of
// the arguments), shows their output as it comes and writes it all to bench/RESULTS.md (or
// $BENCH_RESULTS) under a header describing the machine, so a run can be read and compared later.
// A failing script does not stop the others: its failure and the end of its stderr go into the
// file, and the exit code is 1. The file is rewritten after every script so an interrupted run
// still leaves what it measured.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';

const RESULTS = process.env.BENCH_RESULTS ?? 'bench/RESULTS.md';
const only = process.argv.slice(2);
const scripts = readdirSync('dist/bench')
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

function readOr(path, fallback) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function machine() {
  const cpuinfo = readOr('/proc/cpuinfo', '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const memKiB = Number(/^MemTotal:\s+(\d+) kB/m.exec(readOr('/proc/meminfo', ''))?.[1] ?? os.totalmem() / 1024);
  const distro = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readOr('/etc/os-release', ''))?.[1] ?? os.type();
  return {
    cpu: `${os.cpus().length} cores, ${model.trim()}`,
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()} (${os.version()})`,
    distro,
  };
}

function commit() {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? ' with uncommitted changes' : ''}`;
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' / ');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

const m = machine();
const startedAt = new Date();
const settings = Object.entries(process.env)
  .filter(([name]) => name.startsWith('BENCH_'))
  .map(([name, value]) => `\`${name}=${value}\``);

/** Per script: name, status text, wall time, load average at its start, output, stderr tail. */
const done = [];

function render(finished) {
  const header = [
    '# Kumo benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.mjs)${only.length ? `, scripts matching ${only.map((o) => `\`${o}\``).join(', ')} only` : ''}.`,
    'Every figure is from this one run on this machine; other work on the machine (see the load averages) moves them.',
    '',
    '| | |',
    '| --- | --- |',
    `| Machine | ${m.cpu}, ${m.memory} RAM |`,
    `| Kernel | ${m.kernel} |`,
    `| System | ${m.distro} |`,
    `| Node | ${process.version} |`,
    `| Date | ${startedAt.toISOString()}${finished ? ` to ${new Date().toISOString()}` : ' (run in progress)'} |`,
    `| Kumo | ${commit()} |`,
    `| Settings | ${settings.length ? settings.join(', ') : 'defaults'} |`,
    `| Load average (1/5/15 min) at start | ${startLoad} |`,
    '',
    '| script | result | wall time | load average at its start |',
    '| --- | --- | --- | --- |',
    ...done.map((d) => `| ${d.script} | ${d.status} | ${seconds(d.ms)} | ${d.load} |`),
    '',
  ];
  const sections = done.map((d) => {
    const parts = [`\n---\n\n<!-- ${d.script} -->\n`];
    if (d.failed) {
      const stderr = d.stderrTail ? `the end of its stderr:\n\n\`\`\`\n${d.stderrTail}\n\`\`\`` : 'it wrote nothing to stderr.';
      parts.push(`\n> **${d.script} failed**: ${d.status}. Its output up to then follows; ${stderr}\n\n`);
    }
    parts.push(d.output);
    return parts.join('');
  });
  return header.join('\n') + sections.join('\n') + '\n';
}

function runScript(script) {
  return new Promise((resolveRun) => {
    const started = performance.now();
    const load = loadAverage();
    let output = '';
    let stderr = '';
    const child = spawn(process.execPath, [`dist/bench/${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      process.stderr.write(chunk);
      // Only the end is kept for the file: enough to see why it failed.
      stderr = (stderr + chunk).slice(-8000);
    });
    let finished = false;
    // 'error' (spawn failed) may be followed by 'close': report once.
    const finish = (code, signal, error) => {
      if (finished) return;
      finished = true;
      const ms = performance.now() - started;
      const failed = error !== undefined || code !== 0;
      const status = error ? `could not start (${error.message})` : signal ? `killed by ${signal}` : code === 0 ? 'ok' : `failed, exit code ${code}`;
      const stderrTail = stderr.trimEnd().split('\n').slice(-40).join('\n');
      resolveRun({ script, status, failed, ms, load, output, stderrTail });
    };
    child.once('error', (error) => finish(null, null, error));
    child.once('close', (code, signal) => finish(code, signal, undefined));
  });
}

const startLoad = loadAverage();
process.stdout.write(`# Kumo benchmarks\n\nMachine: ${m.cpu}, ${m.memory}, ${m.kernel}; Node ${process.version}; ${startedAt.toISOString()}\n`);
writeFileSync(RESULTS, render(false));
for (const script of scripts) {
  process.stdout.write(`\n<!-- ${script} -->\n`);
  const result = await runScript(script);
  done.push(result);
  if (result.failed) {
    process.exitCode = 1;
    process.stderr.write(`\n${script}: ${result.status}\n`);
  }
  writeFileSync(RESULTS, render(false));
}
writeFileSync(RESULTS, render(true));
process.stdout.write(`\nWritten to ${RESULTS}\n`);
