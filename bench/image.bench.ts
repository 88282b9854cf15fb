/**
 * Image data path: one large image (BENCH_IMAGE_MIB, default 2048) uploaded to and downloaded
 * from a real `kumo up` with streaming HTTP clients, against `cp` of the same file on the same
 * disk, while the kumo process's RSS is sampled every 100 ms. Prints a table; asserts nothing.
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { rssMiB, startKumo, type KumoProcess } from './lib/kumo-process.js';
import { table } from './lib/load.js';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_IMAGE_MIB ?? 2048);
const CHUNK = 16 * MIB;
const run = promisify(execFile);

/** Samples the RSS of a process every 100 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    const now = rssMiB(pid);
    if (now > peak) peak = now;
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

/** Writes `mib` MiB of random bytes in 16 MiB chunks; returns their md5. */
async function writeRandomFile(path: string, mib: number): Promise<string> {
  const md5 = createHash('md5');
  const buffer = Buffer.alloc(CHUNK);
  const file = await open(path, 'w');
  try {
    for (let left = mib * MIB; left > 0; left -= CHUNK) {
      const chunk = buffer.subarray(0, Math.min(CHUNK, left));
      randomFillSync(chunk);
      md5.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return md5.digest('hex');
}

/** MiB/s of md5 and sha512 over the same bytes on one thread: what kumo's upload hashing costs at best. */
function hashingRate(): number {
  const buffer = randomFillSync(Buffer.alloc(CHUNK));
  const rounds = 16;
  const started = performance.now();
  const md5 = createHash('md5');
  const sha512 = createHash('sha512');
  for (let i = 0; i < rounds; i++) {
    md5.update(buffer);
    sha512.update(buffer);
  }
  md5.digest();
  sha512.digest();
  return (rounds * (CHUNK / MIB)) / ((performance.now() - started) / 1000);
}

async function md5OfFile(path: string): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(createReadStream(path, { highWaterMark: MIB }), md5);
  return md5.digest('hex');
}

async function json(url: string, method: string, token: string | undefined, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { ...(token ? { 'x-auth-token': token } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function adminToken(kumo: KumoProcess): Promise<string> {
  const res = await json(`${kumo.url}/identity/v3/auth/tokens`, 'POST', undefined, {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: kumo.adminPassword } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    },
  });
  if (res.status !== 201) throw new Error(`token: HTTP ${res.status}`);
  return res.headers.get('x-subject-token') as string;
}

/** PUT /v2/images/{id}/file from a file read stream (never buffered whole); resolves with the answer's status. */
function streamUpload(kumo: KumoProcess, token: string, id: string, path: string, size: number): Promise<number> {
  const url = new URL(kumo.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: `/image/v2/images/${id}/file`,
        agent: false,
        headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(createReadStream(path, { highWaterMark: MIB }), req).catch(reject);
  });
}

/** GET /v2/images/{id}/file into a file, streamed; resolves with the status and the byte count. */
function streamDownload(kumo: KumoProcess, token: string, id: string, path: string): Promise<{ status: number; bytes: number }> {
  const url = new URL(kumo.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: 'GET', path: `/image/v2/images/${id}/file`, agent: false, headers: { 'x-auth-token': token } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        pipeline(res, createWriteStream(path)).then(() => resolve({ status: res.statusCode ?? 0, bytes }), reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Flushes dirty pages so that one phase's writeback is not billed to the next. */
async function sync(): Promise<void> {
  await run('sync', []);
}

async function main(): Promise<void> {
  const size = SIZE_MIB * MIB;
  const work = mkdtempSync(join(tmpdir(), 'kumo-bench-image-'));
  const source = join(work, 'source.img');
  let kumo: KumoProcess | undefined;
  try {
    kumo = await startKumo();
    const pid = kumo.child.pid as number;
    const token = await adminToken(kumo);

    const sourceMd5 = await writeRandomFile(source, SIZE_MIB);
    const created = await json(`${kumo.url}/image/v2/images`, 'POST', token, { name: 'bench', disk_format: 'raw', container_format: 'bare' });
    if (created.status !== 201) throw new Error(`create image: HTTP ${created.status}`);
    const id = created.body.id as string;
    await sync();
    await new Promise((r) => setTimeout(r, 1000));
    const rssBefore = rssMiB(pid);

    let sampler = sampleRss(pid);
    let started = performance.now();
    const uploadStatus = await streamUpload(kumo, token, id, source, size);
    const uploadSeconds = (performance.now() - started) / 1000;
    const uploadPeak = sampler.stop();
    if (uploadStatus !== 204) throw new Error(`upload: HTTP ${uploadStatus}`);
    const image = (await json(`${kumo.url}/image/v2/images/${id}`, 'GET', token)).body as { status: string; size: number; checksum: string };

    await sync();
    const downloaded = join(work, 'downloaded.img');
    sampler = sampleRss(pid);
    started = performance.now();
    const download = await streamDownload(kumo, token, id, downloaded);
    const downloadSeconds = (performance.now() - started) / 1000;
    const downloadPeak = sampler.stop();
    const downloadedMd5 = await md5OfFile(downloaded);
    rmSync(downloaded);
    // The same download with nothing written on the client side: what the server itself delivers.
    sampler = sampleRss(pid);
    started = performance.now();
    const discarded = await streamDownload(kumo, token, id, '/dev/null');
    const discardSeconds = (performance.now() - started) / 1000;
    const discardPeak = sampler.stop();

    await sync();
    const copy = join(work, 'copy.img');
    started = performance.now();
    await run('cp', [source, copy]);
    const cpSeconds = (performance.now() - started) / 1000;
    rmSync(copy);

    const hashRate = hashingRate();
    const uploadRate = SIZE_MIB / uploadSeconds;
    const downloadRate = SIZE_MIB / downloadSeconds;
    const cpRate = SIZE_MIB / cpSeconds;
    const growth = Math.max(uploadPeak, downloadPeak, discardPeak) - rssBefore;
    const verified =
      image.status === 'active' && image.size === size && image.checksum === sourceMd5 && downloadedMd5 === image.checksum && download.bytes === size;

    process.stdout.write(`\n## Image data (kumo up, filesystem store, ${SIZE_MIB} MiB of random data, same disk)\n\n`);
    process.stdout.write(
      table(
        ['figure', 'value', 'target'],
        [
          ['upload: PUT /v2/images/{id}/file, streamed from a file', `${uploadRate.toFixed(0)} MiB/s (${uploadSeconds.toFixed(2)} s)`, ''],
          ['download: GET /v2/images/{id}/file, streamed to a file', `${downloadRate.toFixed(0)} MiB/s (${downloadSeconds.toFixed(2)} s)`, ''],
          ['download to /dev/null (no disk write on the client side)', discarded.status === 200 && discarded.bytes === size ? `${(SIZE_MIB / discardSeconds).toFixed(0)} MiB/s (${discardSeconds.toFixed(2)} s)` : `HTTP ${discarded.status}, ${discarded.bytes} bytes`, ''],
          ['cp of the same file', `${cpRate.toFixed(0)} MiB/s (${cpSeconds.toFixed(2)} s)`, ''],
          ['upload / cp', (uploadRate / cpRate).toFixed(2), ''],
          ['download / cp', (downloadRate / cpRate).toFixed(2), ''],
          ['for reference: md5 + sha512 on one thread (the upload hashes both)', `${hashRate.toFixed(0)} MiB/s`, ''],
          ['image active, size and md5 = source; download md5 = image checksum', verified ? 'yes' : `NO (image ${JSON.stringify(image)}, source ${sourceMd5}, download ${downloadedMd5}, ${download.bytes} bytes)`, 'yes'],
          ['kumo RSS before', `${rssBefore.toFixed(1)} MiB`, ''],
          ['kumo RSS peak during upload', `${uploadPeak.toFixed(1)} MiB`, ''],
          ['kumo RSS peak during download', `${Math.max(downloadPeak, discardPeak).toFixed(1)} MiB`, ''],
          ['kumo RSS growth (peak - before)', `${growth.toFixed(1)} MiB (${((growth * MIB) / 1e6).toFixed(1)} MB)`, '< 100 MB'],
        ],
      ) + '\n',
    );
  } finally {
    await kumo?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
