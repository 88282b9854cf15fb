import assert from 'node:assert/strict';
import { api, type ApiResponse } from '../../helpers/cloud.js';

/** A call to /compute/v2.1, optionally at a microversion. */
export function nova(base: string, method: string, path: string, token: string, body?: unknown, version?: string): Promise<ApiResponse> {
  return api(base, method, `/compute/v2.1${path}`, token, body, version ? { 'OpenStack-API-Version': `compute ${version}` } : {});
}

/** An active image with a few bytes of data, owned by the token's project. */
export async function activeImage(base: string, token: string, properties: Record<string, unknown> = {}): Promise<string> {
  const created = await api(base, 'POST', '/image/v2/images', token, { name: 'tiny', disk_format: 'qcow2', container_format: 'bare', visibility: 'public', ...properties });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.json.id as string;
  const put = await fetch(`${base}/image/v2/images/${id}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
    body: Buffer.from('not really a disk'),
  });
  assert.equal(put.status, 204);
  return id;
}

/** Polls GET /servers/{id} until its status is one of `wanted` (or the server is gone, for DELETED). */
export async function waitForServer(base: string, token: string, id: string, wanted: string[], timeoutMs = 20_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last: ApiResponse | undefined;
  while (Date.now() < deadline) {
    last = await nova(base, 'GET', `/servers/${id}`, token, undefined, '2.15');
    if (last.status === 404 && wanted.includes('DELETED')) return { status: 'DELETED' };
    if (last.status === 200 && wanted.includes(last.json.server.status)) return last.json.server;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`server ${id} did not reach ${wanted.join('/')}: last ${JSON.stringify(last?.body)}`);
}

export async function boot(base: string, token: string, body: Record<string, unknown>, hints?: Record<string, unknown>): Promise<ApiResponse> {
  return nova(base, 'POST', '/servers', token, { server: body, ...(hints ? { 'os:scheduler_hints': hints } : {}) });
}
