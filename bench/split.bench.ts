/**
 * Boots per second with the fake driver, all-in-one beside split over processes (issue 15):
 * `kumo up` with 4 fake hosts (SQLite, in-process bus), then `kumo api` + `kumo conductor` +
 * 4 `kumo agent` processes on PostgreSQL and RabbitMQ, the agents with no database (state over
 * the bus, through the conductor's compute-host calls). BENCH_SPLIT_BOOTS servers (default
 * 400), BENCH_SPLIT_CONCURRENCY requests at a time (32). Boots/s counts from the first request
 * to the last instance ACTIVE (launched_at, read from the database afterwards). Needs
 * BENCH_DATABASE_URL and BENCH_BUS_URL (default: the local test PostgreSQL and RabbitMQ).
 * Asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { adminToken } from './lib/auth.js';
import { freePort, KUMO_MAIN, startKumo } from './lib/kumo-process.js';
import { table } from './lib/load.js';

const BOOTS = Number(process.env.BENCH_SPLIT_BOOTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_SPLIT_CONCURRENCY ?? 32);
const AGENTS = 4;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BUS_URL = process.env.BENCH_BUS_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const FAKE_ROOM = { KUMO_FAKE_HOST_VCPUS: '100000', KUMO_FAKE_HOST_RAM_MB: '100000000', KUMO_FAKE_HOST_DISK_GB: '1000000' };

interface Row {
  vm_state: string;
  created_at: string;
  launched_at: string | null;
}

async function call(url: string, token: string, method: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(url, {
    method,
    headers: { 'x-auth-token': token, ...(body !== undefined ? { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json' } : {}) },
    ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text && text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** Boots BOOTS servers and waits until none is building; returns the rows and when it started. */
async function bootAll(url: string, password: string, rows: () => Promise<Row[]>): Promise<{ rows: Row[]; started: number; failed: number }> {
  const { token, projectId } = await adminToken(url, password);
  const nova = `${url}/compute/v2.1`;
  await call(`${nova}/os-quota-sets/${projectId}`, token, 'PUT', { quota_set: { instances: -1, cores: -1, ram: -1 } });
  const image = await call(`${url}/image/v2/images`, token, 'POST', { name: 'bench', disk_format: 'qcow2', container_format: 'bare' });
  await call(`${url}/image/v2/images/${image.json.id}/file`, token, 'PUT', Buffer.from('bench disk'));
  let next = 0;
  let failed = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < BOOTS) {
        const i = next++;
        const res = await call(`${nova}/servers`, token, 'POST', { server: { name: `bench-${i}`, imageRef: image.json.id, flavorRef: '42', networks: 'none' } });
        if (res.status !== 202) {
          if (failed++ === 0) process.stderr.write(`a boot was refused: ${res.status} ${JSON.stringify(res.json)}\n`);
        }
      }
    }),
  );
  const deadline = Date.now() + 600_000;
  for (;;) {
    const now = await rows();
    if (now.length >= BOOTS - failed && now.every((r) => r.vm_state !== 'building')) return { rows: now, started, failed };
    if (Date.now() > deadline) return { rows: now, started, failed };
    await new Promise((r) => setTimeout(r, 200));
  }
}

function summary(label: string, result: { rows: Row[]; started: number; failed: number }): Array<string | number> {
  const active = result.rows.filter((r) => r.vm_state === 'active' && r.launched_at);
  const last = Math.max(...active.map((r) => Date.parse(r.launched_at as string)));
  const wall = (last - result.started) / 1000;
  const toActive = active.map((r) => Date.parse(r.launched_at as string) - Date.parse(r.created_at)).sort((a, b) => a - b);
  const p = (q: number) => toActive[Math.min(toActive.length - 1, Math.ceil((q / 100) * toActive.length) - 1)] ?? NaN;
  return [label, BOOTS, BOOTS - result.failed, active.length, result.rows.filter((r) => r.vm_state === 'error').length, wall, active.length / wall, p(50), p(99)];
}

async function allInOne(): Promise<Array<string | number>> {
  const kumo = await startKumo({ KUMO_FAKE_HOSTS: String(AGENTS), ...FAKE_ROOM });
  try {
    const db = new SQLite(join(kumo.dataDir, 'kumo.sqlite'), { readonly: true });
    const result = await bootAll(kumo.url, kumo.adminPassword, async () => db.prepare('SELECT vm_state, created_at, launched_at FROM compute_instance').all() as Row[]);
    db.close();
    return summary(`all-in-one (SQLite, in-process bus, ${AGENTS} fake hosts)`, result);
  } finally {
    await kumo.stop();
  }
}

async function waitFor(file: string, text: string, child: ChildProcess): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const log = readFileSync(file, 'utf8');
    if (log.includes(text)) return log;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${text} never came:\n${log.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function split(): Promise<Array<string | number>> {
  const root = mkdtempSync(join(tmpdir(), 'kumo-bench-split-'));
  const dataDir = join(root, 'controller');
  const suffix = randomBytes(4).toString('hex');
  const schema = `kumo_bench_${suffix}`;
  const bus = { KUMO_BUS_URL: BUS_URL, KUMO_BUS_NAMESPACE: `kumo-bench-${suffix}` };
  const base = { ...process.env, KUMO_DATAPLANE: 'noop', KUMO_COMPUTE_DRIVER: 'fake', KUMO_METADATA_PORT: '0', ...bus };
  const children: ChildProcess[] = [];
  const start = async (name: string, args: string[], env: NodeJS.ProcessEnv, ready: string) => {
    const logFile = join(root, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [KUMO_MAIN, ...args, '--log-level', 'warn'], { env, stdio: ['ignore', fd, fd] });
    children.push(child);
    return waitFor(logFile, ready, child);
  };
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  try {
    const control = { ...base, KUMO_DATABASE_URL: DATABASE_URL, KUMO_DATABASE_SCHEMA: schema };
    const port = await freePort();
    await start('api', ['api', '--data-dir', dataDir, '--port', String(port)], control, 'Kumo API is up at');
    await start('conductor', ['conductor', '--data-dir', dataDir], control, 'Kumo conductor is up');
    for (let i = 1; i <= AGENTS; i++) {
      const home = join(root, `host-${i}`);
      mkdirSync(home, { recursive: true });
      copyFileSync(join(dataDir, 'clouds.yaml'), join(home, 'clouds.yaml'));
      const env: NodeJS.ProcessEnv = { ...base, ...FAKE_ROOM, OS_CLIENT_CONFIG_FILE: join(home, 'clouds.yaml') };
      delete env.KUMO_DATABASE_URL;
      await start(`agent-${i}`, ['agent', '--host', `bench-${i}`, '--state-dir', join(home, 'state'), '--os-cloud', 'kumo-service'], env, 'is up');
    }
    const password = (JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { adminPassword: string }).adminPassword;
    const result = await bootAll(`http://127.0.0.1:${port}`, password, async () => (await pool.query<Row>(`SELECT vm_state, created_at, launched_at FROM "${schema}".compute_instance`)).rows);
    return summary(`split (PostgreSQL, RabbitMQ: api, conductor, ${AGENTS} agent processes)`, result);
  } finally {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
    rmSync(root, { recursive: true, force: true });
  }
}

const rows = [await allInOne(), await split()];
process.stdout.write(`\n## Compute: boots with the fake driver, all-in-one and split over processes (m1.nano, ${CONCURRENCY} requests at a time)\n\n`);
process.stdout.write(table(['deployment', 'boots', 'accepted', 'ACTIVE', 'ERROR', 'wall s', 'boots/s', 'to ACTIVE p50 ms', 'to ACTIVE p99 ms'], rows) + '\n');
