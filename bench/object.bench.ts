/**
 * Object storage data path and listings against a real `kumo up` (admin's account):
 *   - one large object (BENCH_OBJECT_MIB, default 1024) PUT and GET with streaming clients,
 *     beside `cp` of the same file on the same disk, with the kumo process's RSS sampled;
 *   - BENCH_OBJECT_SMALL (default 10,000) objects of 4 KiB PUT then GET, 16 at a time;
 *   - listing latency in a container of BENCH_OBJECT_LIST (default 100,000) objects: first
 *     page, a page from a marker deep inside, prefix + delimiter, reverse, and HEAD.
 * Prints tables; asserts nothing.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { rssMiB, startKumo, type KumoProcess } from './lib/kumo-process.js';
import { table } from './lib/load.js';

const MIB = 1024 * 1024;
const BIG_MIB = Number(process.env.BENCH_OBJECT_MIB ?? 1024);
const SMALL = Number(process.env.BENCH_OBJECT_SMALL ?? 10_000);
const LISTED = Number(process.env.BENCH_OBJECT_LIST ?? 100_000);
const CONCURRENCY = 16;
const run = promisify(execFile);
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function sampleRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

async function writeRandomFile(path: string, mib: number): Promise<string> {
  const md5 = createHash('md5');
  const buffer = Buffer.alloc(16 * MIB);
  const file = await open(path, 'w');
  try {
    for (let left = mib * MIB; left > 0; left -= buffer.length) {
      const chunk = buffer.subarray(0, Math.min(buffer.length, left));
      randomFillSync(chunk);
      md5.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return md5.digest('hex');
}

async function adminToken(kumo: KumoProcess): Promise<{ token: string; account: string }> {
  const res = await fetch(`${kumo.url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: kumo.adminPassword } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  const body = (await res.json()) as { token: { catalog: Array<{ type: string; endpoints: Array<{ url: string; interface: string }> }> } };
  const url = body.token.catalog.find((c) => c.type === 'object-store')?.endpoints.find((e) => e.interface === 'public')?.url as string;
  return { token: res.headers.get('x-subject-token') as string, account: new URL(url).pathname };
}

interface Answer {
  status: number;
  bytes: number;
  body: string;
}

/** One request; `body` a Buffer or a file to stream; `sink` a file to stream the answer into. */
function call(kumo: KumoProcess, token: string, method: string, path: string, options: { body?: Buffer; file?: { path: string; size: number }; sink?: string } = {}): Promise<Answer> {
  const url = new URL(kumo.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-auth-token': token };
    if (options.body) headers['content-length'] = String(options.body.length);
    if (options.file) headers['content-length'] = String(options.file.size);
    if (method === 'PUT' && !options.body && !options.file) headers['content-length'] = '0';
    const req = request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!options.sink && chunks.length < 1024) chunks.push(chunk);
      });
      const done = () => resolve({ status: res.statusCode ?? 0, bytes, body: Buffer.concat(chunks).toString('utf8') });
      if (options.sink) pipeline(res, createWriteStream(options.sink)).then(done, reject);
      else res.on('end', done);
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.file) pipeline(createReadStream(options.file.path, { highWaterMark: MIB }), req).catch(reject);
    else req.end(options.body);
  });
}

async function inParallel(count: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await work(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'kumo-bench-object-'));
  let kumo: KumoProcess | undefined;
  try {
    kumo = await startKumo();
    const pid = kumo.child.pid as number;
    const { token, account } = await adminToken(kumo);
    for (const c of ['big', 'small', 'listed']) {
      const made = await call(kumo, token, 'PUT', `${account}/${c}`);
      if (made.status !== 201) throw new Error(`PUT container ${c}: HTTP ${made.status}`);
    }

    // One large object.
    const source = join(work, 'source.bin');
    const sourceMd5 = await writeRandomFile(source, BIG_MIB);
    await run('sync', []);
    const rssBefore = rssMiB(pid);
    let sampler = sampleRss(pid);
    let started = performance.now();
    const put = await call(kumo, token, 'PUT', `${account}/big/object`, { file: { path: source, size: BIG_MIB * MIB } });
    const putSeconds = (performance.now() - started) / 1000;
    const putPeak = sampler.stop();
    if (put.status !== 201) throw new Error(`PUT big: HTTP ${put.status} ${put.body}`);
    await run('sync', []);
    const downloaded = join(work, 'downloaded.bin');
    sampler = sampleRss(pid);
    started = performance.now();
    const got = await call(kumo, token, 'GET', `${account}/big/object`, { sink: downloaded });
    const getSeconds = (performance.now() - started) / 1000;
    const getPeak = sampler.stop();
    const md5 = createHash('md5');
    await pipeline(createReadStream(downloaded, { highWaterMark: MIB }), md5);
    const verified = got.status === 200 && md5.digest('hex') === sourceMd5;
    rmSync(downloaded);
    await run('sync', []);
    started = performance.now();
    await run('cp', [source, join(work, 'copy.bin')]);
    await run('sync', []);
    const cpSeconds = (performance.now() - started) / 1000;
    rmSync(join(work, 'copy.bin'));
    rmSync(source);

    console.log(`\n### One object of ${BIG_MIB} MiB (streamed; RSS of kumo before: ${rssBefore.toFixed(0)} MiB)\n`);
    console.log(
      table(
        ['transfer', 'seconds', 'MiB/s', 'kumo RSS peak growth (MiB)'],
        [
          ['PUT (write, md5, fsync, rename)', putSeconds, BIG_MIB / putSeconds, putPeak - rssBefore],
          ['GET to a file', getSeconds, BIG_MIB / getSeconds, getPeak - rssBefore],
          ['cp + sync of the same file', cpSeconds, BIG_MIB / cpSeconds, '-'],
        ],
      ),
    );
    console.log(`\nDownloaded bytes identical to the upload (md5): ${verified ? 'yes' : 'NO'}`);

    // Many small objects.
    const small = randomFillSync(Buffer.alloc(4096));
    let failures = 0;
    const putSmall = await inParallel(SMALL, async (i) => {
      const res = await call(kumo as KumoProcess, token, 'PUT', `${account}/small/o${String(i).padStart(6, '0')}`, { body: small });
      if (res.status !== 201) failures++;
    });
    const getSmall = await inParallel(SMALL, async (i) => {
      const res = await call(kumo as KumoProcess, token, 'GET', `${account}/small/o${String(i).padStart(6, '0')}`);
      if (res.status !== 200 || res.bytes !== 4096) failures++;
    });
    const head = await call(kumo, token, 'HEAD', `${account}/small`);
    const cpDir = join(work, 'cp-small');
    await run('mkdir', [cpDir]);
    await open(join(work, 'small.bin'), 'w').then(async (f) => {
      await f.write(small);
      await f.close();
    });
    started = performance.now();
    // The plain-file floor: the same number of 4 KiB files written with fsync, one by one, in this process.
    for (let i = 0; i < Math.min(SMALL, 2000); i++) {
      const f = await open(join(cpDir, `f${i}`), 'w');
      await f.write(small);
      await f.sync();
      await f.close();
    }
    const fileSeconds = ((performance.now() - started) / 1000) * (SMALL / Math.min(SMALL, 2000));
    console.log(`\n### ${SMALL.toLocaleString('en-US')} objects of 4 KiB, ${CONCURRENCY} at a time\n`);
    console.log(
      table(
        ['operation', 'seconds', 'objects/s', 'MiB/s'],
        [
          ['PUT', putSmall, SMALL / putSmall, (SMALL * 4096) / MIB / putSmall],
          ['GET', getSmall, SMALL / getSmall, (SMALL * 4096) / MIB / getSmall],
          ['plain files: write + fsync, one at a time (extrapolated from 2,000)', fileSeconds, SMALL / fileSeconds, (SMALL * 4096) / MIB / fileSeconds],
        ],
      ),
    );
    console.log(`\nFailures: ${failures}; HEAD of the container afterwards: HTTP ${head.status}`);

    // Listing a big container.
    started = performance.now();
    const empty = Buffer.alloc(0);
    await inParallel(LISTED, async (i) => {
      const name = `dir${String(i % 100).padStart(3, '0')}/obj${String(i).padStart(7, '0')}`;
      const res = await call(kumo as KumoProcess, token, 'PUT', `${account}/listed/${name}`, { body: empty });
      if (res.status !== 201) failures++;
    });
    const fillSeconds = (performance.now() - started) / 1000;
    const cases: Array<[string, string]> = [
      ['HEAD (counts)', ''],
      ['first 1,000 (json)', '?format=json&limit=1000'],
      ['1,000 after a marker in the middle', `?format=json&limit=1000&marker=${encodeURIComponent('dir050/')}`],
      ['prefix=dir077/ (1,000 objects)', `?format=json&prefix=${encodeURIComponent('dir077/')}`],
      ['delimiter=/ (100 subdirs, whole container walked by jumps)', '?format=json&delimiter=/'],
      ['last 1,000 (reverse)', '?format=json&limit=1000&reverse=true'],
      ['10,000 (plain, the maximum page)', '?limit=10000'],
    ];
    const rows: Array<Array<string | number>> = [];
    for (const [label, query] of cases) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < 15; i++) {
        const t = performance.now();
        const res = await call(kumo, token, label.startsWith('HEAD') ? 'HEAD' : 'GET', `${account}/listed${query}`);
        times.push(performance.now() - t);
        count = query.includes('format=json') ? (JSON.parse(res.body || '[]') as unknown[]).length : res.body.split('\n').filter(Boolean).length;
      }
      rows.push([label, count, median(times), Math.max(...times)]);
    }
    console.log(`\n### Listing a container of ${LISTED.toLocaleString('en-US')} objects (filled by PUTs in ${fillSeconds.toFixed(0)} s, ${(LISTED / fillSeconds).toFixed(0)}/s; 15 runs each)\n`);
    console.log(table(['listing', 'entries', 'median ms', 'max ms'], rows));
    console.log(`\nFailures: ${failures}`);
  } finally {
    agent.destroy();
    await kumo?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
