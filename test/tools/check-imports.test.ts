// The import-graph check (scripts/check-imports.mjs) on fixture trees: each layering rule it
// names fails a tree that breaks it, a clean tree passes, and its allowlist is a ratchet.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/check-imports.mjs');

type Run = { code: number; stdout: string; stderr: string };

function run(root: string, ...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [SCRIPT, '--root', root, ...args], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** A tree that keeps every rule: the base each case adds one import to. */
const CLEAN: Record<string, string> = {
  'src/core/log.ts': `export const log = (s: string) => s;\n`,
  'src/core/http/errors.ts': `import { log } from '../log.js';\nexport const fail = () => log('x');\n`,
  'src/contracts/compute.ts': `import type { log } from '../core/log.js';\nexport type Build = { id: string; l?: typeof log };\n`,
  'src/services/image/client.ts': `import { images } from './images.js';\nexport interface ImageClient { get(id: string): string }\nexport const client = images;\n`,
  'src/services/image/images.ts': `export const images = { get: (id: string) => id };\n`,
  // Stores, which only their service's domain files import (never its routes).
  'src/services/image/store.ts': `export const records = new Map<string, string>();\n`,
  'src/services/compute/store/hosts.ts': `export class HostRecords {}\n`,
  'src/services/compute/servers.ts':
    `import type { ImageClient } from '../image/client.js';\nimport type { Build } from '../../contracts/compute.js';\nimport { fail } from '../../core/http/errors.js';\nexport const boot = (i: ImageClient, b: Build) => [i, b, fail];\n`,
  'src/agents/compute/agent.ts': `import type { Build } from '../../contracts/compute.js';\nimport { helper } from './virt/helper.js';\nexport const run = (b: Build) => [b, helper];\n`,
  'src/agents/compute/virt/helper.ts': `export const helper = 1;\n`,
  // The composition root wires everything, services' internals and agents included.
  'src/cloud.ts': `import { images } from './services/image/images.js';\nimport { run } from './agents/compute/agent.js';\nexport const cloud = [images, run];\n`,
};

async function tree(extra: Record<string, string> = {}, allowlist?: string[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kumo-imports-'));
  for (const [path, text] of Object.entries({ ...CLEAN, ...extra })) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  if (allowlist) {
    await mkdir(join(root, '.ci'), { recursive: true });
    await writeFile(join(root, '.ci/import-allowlist.txt'), `# header\n${allowlist.join('\n')}\n`);
  }
  return root;
}

async function check(extra: Record<string, string>, allowlist?: string[]): Promise<Run> {
  const root = await tree(extra, allowlist);
  try {
    return await run(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The table's row for a rule: violations, allowlisted, new. */
function row(out: string, rule: string): number[] {
  const line = out.split('\n').find((l) => l.startsWith(`${rule} `));
  assert.ok(line, `no row ${rule} in\n${out}`);
  return line.trim().split(/\s+/).slice(1).map(Number);
}

describe('scripts/check-imports.mjs', () => {
  test('a tree that keeps the rules passes, with a table of zero violations', async () => {
    const r = await check({});
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(row(r.stdout, 'total'), [0, 0, 0]);
    assert.match(r.stdout, /imports from one service into another: 1 \(1 through the other's client\.ts\)/);
  });

  const cases: Array<{ name: string; rule: string; file: string; text: string; entry: string }> = [
    {
      name: 'core importing a service',
      rule: 'core-imports-service',
      file: 'src/core/http/server.ts',
      text: `import { images } from '../../services/image/images.js';\nexport const s = images;\n`,
      entry: 'core-imports-service src/core/http/server.ts -> src/services/image/images.ts',
    },
    {
      name: 'core importing an agent, through a type-only import',
      rule: 'core-imports-agent',
      file: 'src/core/bus.ts',
      text: `import type { run } from '../agents/compute/agent.js';\nexport type R = typeof run;\n`,
      entry: 'core-imports-agent src/core/bus.ts -> src/agents/compute/agent.ts',
    },
    {
      name: 'an agent importing a service, through a dynamic import()',
      rule: 'agent-imports-service',
      file: 'src/agents/compute/start.ts',
      text: `export async function start() { return (await import('../../services/compute/servers.js')).boot; }\n`,
      entry: 'agent-imports-service src/agents/compute/start.ts -> src/services/compute/servers.ts',
    },
    {
      name: "a service importing another service's internals, through a re-export",
      rule: 'service-imports-other-service-internals',
      file: 'src/services/compute/images.ts',
      text: `export { images } from '../image/images.js';\n`,
      entry: 'service-imports-other-service-internals src/services/compute/images.ts -> src/services/image/images.ts',
    },
    {
      name: "a service naming another service's internals in an import type",
      rule: 'service-imports-other-service-internals',
      file: 'src/services/compute/lookup.ts',
      text: `export type I = typeof import('../image/images.js').images;\n`,
      entry: 'service-imports-other-service-internals src/services/compute/lookup.ts -> src/services/image/images.ts',
    },
    {
      name: 'a service importing an agent',
      rule: 'service-imports-agent',
      file: 'src/services/compute/conductor.ts',
      text: `import { run } from '../../agents/compute/agent.js';\nexport const c = run;\n`,
      entry: 'service-imports-agent src/services/compute/conductor.ts -> src/agents/compute/agent.ts',
    },
    {
      name: "an agent importing another agent's files",
      rule: 'agent-imports-other-agent',
      file: 'src/agents/network/names.ts',
      text: `import { helper } from '../compute/virt/helper.js';\nexport const n = helper;\n`,
      entry: 'agent-imports-other-agent src/agents/network/names.ts -> src/agents/compute/virt/helper.ts',
    },
    {
      name: 'contracts importing a service',
      rule: 'contracts-imports-service-or-agent',
      file: 'src/contracts/image.ts',
      text: `import type { ImageClient } from '../services/image/client.js';\nexport type C = ImageClient;\n`,
      entry: 'contracts-imports-service-or-agent src/contracts/image.ts -> src/services/image/client.ts',
    },
    {
      name: "a route importing its service's store folder",
      rule: 'route-imports-store',
      file: 'src/services/compute/routes/hosts.ts',
      text: `import type { HostRecords } from '../store/hosts.js';\nexport type H = HostRecords;\n`,
      entry: 'route-imports-store src/services/compute/routes/hosts.ts -> src/services/compute/store/hosts.ts',
    },
    {
      name: "a route importing its service's store.ts",
      rule: 'route-imports-store',
      file: 'src/services/image/routes/images.ts',
      text: `import { records } from '../store.js';\nexport const r = records;\n`,
      entry: 'route-imports-store src/services/image/routes/images.ts -> src/services/image/store.ts',
    },
    {
      name: 'a service importing the composition root',
      rule: 'imports-composition-root',
      file: 'src/services/image/wiring.ts',
      text: `import { cloud } from '../../cloud.js';\nexport const w = cloud;\n`,
      entry: 'imports-composition-root src/services/image/wiring.ts -> src/cloud.ts',
    },
  ];

  for (const c of cases) {
    test(`${c.name} fails the check, named in the table and on stderr`, async () => {
      const r = await check({ [c.file]: c.text });
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(row(r.stdout, c.rule).slice(0, 3), [1, 0, 1]);
      assert.deepEqual(row(r.stdout, 'total'), [1, 0, 1]);
      assert.match(r.stderr, new RegExp(`NEW  ${c.file}:\\d+ imports .* \\(${c.rule}\\)`));
    });

    test(`${c.name} passes once it is on the allowlist`, async () => {
      const r = await check({ [c.file]: c.text }, [c.entry]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(row(r.stdout, 'total'), [1, 1, 0]);
    });
  }

  test('an allowlisted import that is gone fails until the list drops it (--prune), which never adds one', async () => {
    const gone = 'agent-imports-service src/agents/compute/start.ts -> src/services/compute/servers.ts';
    const kept = 'core-imports-service src/core/http/server.ts -> src/services/image/images.ts';
    const root = await tree(
      {
        'src/core/http/server.ts': `import { images } from '../../services/image/images.js';\nexport const s = images;\n`,
        // A new violation too: pruning must not slip it onto the list.
        'src/services/compute/images.ts': `export { images } from '../image/images.js';\n`,
      },
      [gone, kept],
    );
    try {
      const before = await run(root);
      assert.equal(before.code, 1);
      assert.match(before.stderr, new RegExp(`GONE ${gone.replace(/[.]/g, '\\.')}`));

      const pruned = await run(root, '--prune');
      assert.equal(pruned.code, 1, 'the new violation still fails');
      const list = (await readFile(join(root, '.ci/import-allowlist.txt'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
      assert.deepEqual(list, [kept]);

      await rm(join(root, 'src/services/compute/images.ts'));
      const after = await run(root);
      assert.equal(after.code, 0, after.stderr);
      assert.deepEqual(row(after.stdout, 'total'), [1, 1, 0]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('domain files may import their stores; routes reach them through the domain', async () => {
    const r = await check({
      'src/services/compute/hosts.ts': `import { HostRecords } from './store/hosts.js';\nexport const hosts = () => new HostRecords();\n`,
      'src/services/compute/routes/hosts.ts': `import { hosts } from '../hosts.js';\nexport const routes = hosts;\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(row(r.stdout, 'route-imports-store'), [0, 0, 0]);
  });

  test('imports of packages and node builtins are not the graph', async () => {
    const r = await check({ 'src/core/x.ts': `import { join } from 'node:path';\nimport Fastify from 'fastify';\nexport const x = [join, Fastify];\n` });
    assert.equal(r.code, 0, r.stderr);
  });
});
