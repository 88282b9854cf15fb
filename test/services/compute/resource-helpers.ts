import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import type { Caller } from '../../../src/services/compute/context.js';

export type Body = Record<string, any>;

/** SQLite always; PostgreSQL when KUMO_TEST_DATABASE_URL names one. */
export const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

/** A cloud on this engine (a fresh PostgreSQL schema, dropped by `stop`). */
export async function cloudOn(engine: string): Promise<{ tc: TestCloud; stop(): Promise<void> }> {
  const schema = engine === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
  const tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
  return {
    tc,
    async stop() {
      await tc.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    },
  };
}

/** Calls /compute/v2.1 at a microversion; whatever the answer, it is never a server error. */
export async function nova(tc: TestCloud, method: string, path: string, token: string, body?: unknown, version = '2.1'): Promise<ApiResponse> {
  const res = await api(tc.url, method, `/compute/v2.1${path}`, token, body, { 'OpenStack-API-Version': `compute ${version}` });
  assert.ok(res.status < 500, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

export async function ok(tc: TestCloud, method: string, path: string, token: string, body: unknown, status: number, version = '2.1'): Promise<Body> {
  const res = await nova(tc, method, path, token, body, version);
  assert.equal(res.status, status, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.json;
}

const KEYS: Record<number, string> = { 400: 'badRequest', 403: 'forbidden', 404: 'itemNotFound', 409: 'conflictingRequest' };

/** Insists on Nova's error body (`{"itemNotFound": {"code": 404, "message": ...}}`); returns the message. */
export async function refused(tc: TestCloud, method: string, path: string, token: string, body: unknown, status: number, version = '2.1'): Promise<string> {
  const res = await nova(tc, method, path, token, body, version);
  const label = `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`;
  assert.equal(res.status, status, label);
  const error = res.json[KEYS[status] as string] as Body | undefined;
  assert.ok(error, label);
  assert.equal(error.code, status, label);
  assert.equal(typeof error.message, 'string', label);
  return error.message as string;
}

/** A project member as compute's logic sees one (with the reader role member implies), for calling it directly. */
export function memberCaller(projectId: string, userId: string): Caller {
  return { projectId, userId, isAdmin: false, credentials: { user_id: userId, project_id: projectId, roles: ['member', 'reader'] }, requestId: 'req-test' };
}
