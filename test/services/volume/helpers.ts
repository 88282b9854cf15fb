import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { api, startTestCloud, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';

export const V3 = '/volume/v3';

/** A Cinder request at a microversion (3.0 unless asked). */
export function cinder(base: string, method: string, path: string, token: string, body?: unknown, version = '3.0'): Promise<ApiResponse> {
  return api(base, method, `${V3}${path}`, token, body, { 'OpenStack-API-Version': `volume ${version}` });
}

/** Polls a volume (or snapshot) until its status is one of `wanted`; fails on a timeout. */
export async function waitFor(base: string, token: string, path: string, key: 'volume' | 'snapshot', wanted: string[], timeoutMs = 30_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: Record<string, any> | undefined;
  while (Date.now() < deadline) {
    const r = await cinder(base, 'GET', path, token);
    if (r.status === 404 && wanted.includes('deleted')) return { status: 'deleted' };
    last = r.json[key] as Record<string, any> | undefined;
    if (last && wanted.includes(last.status as string)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} did not reach ${wanted.join('/')}: last ${JSON.stringify(last)}`);
}

/** The guest-visible bytes of a qcow2 file (qemu-img convert to raw), first `length` of them. */
export function rawBytes(file: string, length: number): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-vol-'));
  try {
    const out = join(dir, 'raw');
    execFileSync('qemu-img', ['dd', '-U', '-f', 'qcow2', '-O', 'raw', 'bs=65536', 'count=1', `if=${file}`, `of=${out}`]);
    return readFileSync(out).subarray(0, length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function virtualSize(file: string): number {
  return (JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', file]).toString()) as { 'virtual-size': number })['virtual-size'];
}

/** Uploads a raw image whose first bytes are `marker`; returns its id. */
export async function rawImage(base: string, token: string, marker: string, sizeBytes = 1 << 20): Promise<string> {
  const created = await api(base, 'POST', '/image/v2/images', token, { name: `vol-src-${marker}`, disk_format: 'raw', container_format: 'bare' });
  if (created.status !== 201) throw new Error(`image create: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.json.id as string;
  const data = Buffer.alloc(sizeBytes);
  data.write(marker, 0);
  const response = await fetch(`${base}/image/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: data });
  if (response.status !== 204) throw new Error(`image upload: ${response.status} ${await response.text()}`);
  return id;
}

const PG_URL = process.env.KUMO_TEST_DATABASE_URL;
const BUS_URL = process.env.KUMO_TEST_BUS_URL;

/** SQLite with the in-process bus always; PostgreSQL (and RabbitMQ, when set) as CI runs them. */
export const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: PG_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

/** A cloud on this engine: a fresh PostgreSQL schema (dropped by `stop`) and RabbitMQ when given. */
export async function cloudOn(engine: string): Promise<{ tc: TestCloud; stop(): Promise<void> }> {
  const schema = engine === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
  const tc = await startTestCloud(schema ? { databaseUrl: PG_URL as string, databaseSchema: schema, ...(BUS_URL ? { busUrl: BUS_URL } : {}) } : {});
  return {
    tc,
    async stop() {
      await tc.stop();
      if (schema) await dropSchema(PG_URL as string, schema);
    },
  };
}
