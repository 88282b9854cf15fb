/**
 * Block storage over the real HTTP API of a cloud in this process, on both backends in one run
 * (file, and nbd: qcow2 files exported by qemu-storage-daemon; a volume type per backend):
 *  1. BENCH_VOLUMES (100) blank 1 GiB volumes created BENCH_VOLUME_CONCURRENCY (16) at a time,
 *     each timed from POST to `available` (volumes/s, p50, p99), then deleted the same way;
 *  2. a volume made from an image (kumo-tiny from the cache when present, else an empty qcow2)
 *     beside `qemu-img convert` of the same file to qcow2, in the same run;
 *  3. nbd: attachment create with a connector (export added over QMP) and delete (export removed).
 * Attach and detach latency on a real guest belong to Nova's side (volume-attach.bench.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, startTestCloud } from '../test/helpers/cloud.js';
import { table } from './lib/load.js';

const BACKENDS = ['file', 'nbd'] as const;
const COUNT = Number(process.env.BENCH_VOLUMES ?? 100);
const CONCURRENCY = Number(process.env.BENCH_VOLUME_CONCURRENCY ?? 16);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

async function main(): Promise<void> {
  const tc = await startTestCloud({ env: { KUMO_VOLUME_BACKENDS: 'file,nbd' } });
  try {
    const token = await tc.token('admin');
    const projectId = (await api(tc.url, 'GET', '/identity/v3/auth/projects', token)).json.projects.find((p: { name: string }) => p.name === 'admin').id as string;
    await api(tc.url, 'PUT', `/volume/v3/os-quota-sets/${projectId}`, token, { quota_set: { volumes: COUNT + 10, gigabytes: COUNT * 2 + 100 } });
    for (const backend of BACKENDS) await api(tc.url, 'POST', '/volume/v3/types', token, { volume_type: { name: backend, extra_specs: { volume_backend_name: backend } } });
    const waitGone = async (id: string) => {
      for (;;) {
        const r = await api(tc.url, 'GET', `/volume/v3/volumes/${id}`, token);
        if (r.status === 404) return;
        if (r.json.volume?.status === 'error_deleting') throw new Error(`volume ${id} failed to delete`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const waitStatus = async (id: string) => {
      for (;;) {
        const r = await api(tc.url, 'GET', `/volume/v3/volumes/${id}`, token);
        const status = r.json.volume?.status as string;
        if (status === 'available') return;
        if (status === 'error') throw new Error(`volume ${id} went to error`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    for (const backend of BACKENDS) {
      // 1. Many blank volumes, CONCURRENCY at a time.
      const ids: string[] = [];
      const createTimes: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < COUNT) {
            next++;
            const t0 = performance.now();
            const r = await api(tc.url, 'POST', '/volume/v3/volumes', token, { volume: { size: 1, volume_type: backend } });
            if (r.status !== 202) throw new Error(`create: ${r.status} ${JSON.stringify(r.body)}`);
            await waitStatus(r.json.volume.id as string);
            createTimes.push(performance.now() - t0);
            ids.push(r.json.volume.id as string);
          }
        }),
      );
      const createSeconds = (performance.now() - started) / 1000;
      const dir = join(tc.dataDir, 'volumes', backend);
      const onDisk = readdirSync(dir).filter((n) => n.endsWith('.qcow2')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
      const deleteTimes: number[] = [];
      const delStarted = performance.now();
      let di = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (di < ids.length) {
            const id = ids[di++] as string;
            const t0 = performance.now();
            await api(tc.url, 'DELETE', `/volume/v3/volumes/${id}`, token);
            await waitGone(id);
            deleteTimes.push(performance.now() - t0);
          }
        }),
      );
      const deleteSeconds = (performance.now() - delStarted) / 1000;
      createTimes.sort((a, b) => a - b);
      deleteTimes.sort((a, b) => a - b);
      console.log(`## ${COUNT} ${backend} volumes of 1 GiB, ${CONCURRENCY} at a time (HTTP, POST to available)\n`);
      console.log(
        table(
          ['step', 'volumes/s', 'p50 ms', 'p99 ms', 'max ms', 'total s'],
          [
            ['create', COUNT / createSeconds, pct(createTimes, 50), pct(createTimes, 99), createTimes.at(-1) ?? 0, createSeconds],
            ['delete', COUNT / deleteSeconds, pct(deleteTimes, 50), pct(deleteTimes, 99), deleteTimes.at(-1) ?? 0, deleteSeconds],
          ],
        ),
      );
      console.log(`\nDisk used by the ${COUNT} thin qcow2 files: ${(onDisk / 1024 / 1024).toFixed(1)} MiB.\n`);
    }

    // 2. From an image, beside qemu-img convert of the same file.
    const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kumo');
    const tiny = existsSync(cache) ? readdirSync(cache).find((n) => /^kumo-tiny-.*\.qcow2$/.test(n)) : undefined;
    const scratch = mkdtempSync(join(tmpdir(), 'kumo-vol-bench-'));
    try {
      const source = tiny ? join(cache, tiny) : join(scratch, 'empty.qcow2');
      if (!tiny) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', source, '64M']);
      const data = readFileSync(source);
      const created = await api(tc.url, 'POST', '/image/v2/images', token, { name: 'bench-src', disk_format: 'qcow2', container_format: 'bare' });
      const imageId = created.json.id as string;
      await fetch(`${tc.url}/image/v2/images/${imageId}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: data });
      const runs = 5;
      const fromImage: Record<string, number[]> = Object.fromEntries(BACKENDS.map((b) => [b, []]));
      const convert: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'qcow2', source, join(scratch, `c${i}.qcow2`)]);
        convert.push(performance.now() - t0);
        for (const backend of BACKENDS) {
          const t1 = performance.now();
          const r = await api(tc.url, 'POST', '/volume/v3/volumes', token, { volume: { size: 1, imageRef: imageId, volume_type: backend } });
          await waitStatus(r.json.volume.id as string);
          (fromImage[backend] as number[]).push(performance.now() - t1);
          await api(tc.url, 'DELETE', `/volume/v3/volumes/${r.json.volume.id as string}`, token);
        }
      }
      for (const times of Object.values(fromImage)) times.sort((a, b) => a - b);
      convert.sort((a, b) => a - b);
      console.log(`## Volume from an image (${tiny ? 'kumo-tiny' : 'an empty 64 MiB qcow2'}, ${(data.length / 1024 / 1024).toFixed(1)} MiB), ${runs} runs\n`);
      console.log(
        table(
          ['what', 'median ms', 'max ms'],
          [
            ...BACKENDS.map((b) => [`${b}: POST /volumes imageRef -> available (download over the Image API, checks, convert, resize)`, pct(fromImage[b] as number[], 50), fromImage[b]?.at(-1) ?? 0]),
            ['qemu-img convert of the same file (local, nothing else)', pct(convert, 50), convert.at(-1) ?? 0],
          ],
        ),
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }

    // 3. nbd exports: an attachment with a connector adds one over QMP, its delete removes it.
    const volume = await api(tc.url, 'POST', '/volume/v3/volumes', token, { volume: { size: 1, volume_type: 'nbd' } });
    const volumeId = volume.json.volume.id as string;
    await waitStatus(volumeId);
    const exportTimes: number[] = [];
    const unexportTimes: number[] = [];
    const headers = { 'OpenStack-API-Version': 'volume 3.44' };
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const att = await api(tc.url, 'POST', '/volume/v3/attachments', token, { attachment: { volume_uuid: volumeId, instance_uuid: randomUUID(), connector: { host: tc.cloud.config.hostName } } }, headers);
      if (att.status !== 200) throw new Error(`attachment: ${att.status} ${JSON.stringify(att.body)}`);
      exportTimes.push(performance.now() - t0);
      const t1 = performance.now();
      await api(tc.url, 'DELETE', `/volume/v3/attachments/${att.json.attachment.id as string}`, token, undefined, headers);
      await waitStatus(volumeId);
      unexportTimes.push(performance.now() - t1);
    }
    exportTimes.sort((a, b) => a - b);
    unexportTimes.sort((a, b) => a - b);
    console.log(`\n## nbd exports (qemu-storage-daemon over QMP), 20 attachments one after another\n`);
    console.log(
      table(
        ['what', 'median ms', 'p99 ms'],
        [
          ['attachment create with a connector (export added, connection info back)', pct(exportTimes, 50), pct(exportTimes, 99)],
          ['attachment delete -> available (export removed)', pct(unexportTimes, 50), pct(unexportTimes, 99)],
        ],
      ),
    );
  } finally {
    await tc.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
