/**
 * Boots with the fake driver against a real `kumo up` on loopback: BENCH_BOOTS servers
 * (default 2,000), BENCH_BOOT_CONCURRENCY requests at a time (default 32), over ten fake
 * hosts with room for all of them. Prints boots per second from the first request to the
 * last instance ACTIVE, and the time from request to ACTIVE (the instance's launched_at,
 * read from the database afterwards, so polling does not disturb the run). Asserts nothing.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { adminToken } from './lib/auth.js';
import { table } from './lib/load.js';
import { startKumo } from './lib/kumo-process.js';

const BOOTS = Number(process.env.BENCH_BOOTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_BOOT_CONCURRENCY ?? 32);

async function call(url: string, token: string, method: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(url, {
    method,
    headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function main(): Promise<void> {
  const kumo = await startKumo({
    KUMO_COMPUTE_DRIVER: 'fake',
    KUMO_FAKE_HOSTS: '10',
    KUMO_FAKE_HOST_VCPUS: '100000',
    KUMO_FAKE_HOST_RAM_MB: '100000000',
    KUMO_FAKE_HOST_DISK_GB: '1000000',
  });
  try {
    const { token: admin, projectId } = await adminToken(kumo.url, kumo.adminPassword);
    const nova = `${kumo.url}/compute/v2.1`;
    await call(`${nova}/os-quota-sets/${projectId}`, admin, 'PUT', { quota_set: { instances: -1, cores: -1, ram: -1 } });
    const image = await call(`${kumo.url}/image/v2/images`, admin, 'POST', { name: 'bench', disk_format: 'qcow2', container_format: 'bare' });
    await fetch(`${kumo.url}/image/v2/images/${image.json.id}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': admin, 'content-type': 'application/octet-stream' },
      body: Buffer.from('bench disk'),
    });

    const requestMs: number[] = [];
    let failed = 0;
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < BOOTS) {
        const i = next++;
        const t0 = performance.now();
        const res = await call(`${nova}/servers`, admin, 'POST', { server: { name: `bench-${i}`, imageRef: image.json.id, flavorRef: '42', networks: 'none' } });
        requestMs.push(performance.now() - t0);
        if (res.status !== 202) failed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // Wait until every instance settled, reading the database the service writes.
    const db = new SQLite(join(kumo.dataDir, 'kumo.sqlite'), { readonly: true });
    const deadline = Date.now() + 300_000;
    for (;;) {
      const row = db.prepare("SELECT count(*) AS n FROM compute_instance WHERE vm_state = 'building'").get() as { n: number };
      if (row.n === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = db.prepare('SELECT vm_state, created_at, launched_at FROM compute_instance').all() as Array<{ vm_state: string; created_at: string; launched_at: string | null }>;
    db.close();
    const active = rows.filter((r) => r.vm_state === 'active' && r.launched_at);
    const toActive = active.map((r) => Date.parse(r.launched_at as string) - Date.parse(r.created_at)).sort((a, b) => a - b);
    const lastActive = Math.max(...active.map((r) => Date.parse(r.launched_at as string)));
    const wallSeconds = (lastActive - started) / 1000;
    const sortedRequests = [...requestMs].sort((a, b) => a - b);

    process.stdout.write(`\n## Compute: boots with the fake driver (kumo up, SQLite, in-process bus, 10 fake hosts, m1.nano, ${CONCURRENCY} requests at a time)\n\n`);
    process.stdout.write(
      table(
        ['boots', 'accepted', 'ACTIVE', 'ERROR', 'wall s', 'boots/s', 'POST p50 ms', 'POST p99 ms', 'to ACTIVE p50 ms', 'to ACTIVE p99 ms'],
        [[
          BOOTS,
          BOOTS - failed,
          active.length,
          rows.filter((r) => r.vm_state === 'error').length,
          wallSeconds,
          active.length / wallSeconds,
          percentile(sortedRequests, 50),
          percentile(sortedRequests, 99),
          percentile(toActive, 50),
          percentile(toActive, 99),
        ]],
      ) + '\n',
    );
  } finally {
    await kumo.stop();
  }
}

await main();
