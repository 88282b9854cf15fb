import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { api, passwordToken, type ApiResponse } from '../../helpers/cloud.js';

/** Where Glance v2 lives on the one port. */
export const IMAGE = '/image';
export const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Glance (webob) error titles by status, as the error body carries them. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
};

/** A JSON call to the image API: `glance(url, 'GET', '/v2/images', token)`. */
export function glance(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  // As openstacksdk does: without it Glance words its errors as HTML (error-body.test.ts).
  return api(base, method, `${IMAGE}${path}`, token, body, { accept: 'application/json', ...headers });
}

/** POST /v2/images, insisting on 201; returns the image. */
export async function createImage(base: string, token: string, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await glance(base, 'POST', '/v2/images', token, body);
  assert.equal(res.status, 201, `create image: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.json;
}

/** PATCH /v2/images/{id} with a JSON-patch body (as a value, or a raw string sent as is). */
export function patchImage(base: string, token: string, id: string, ops: unknown, contentType = PATCH_TYPE): Promise<ApiResponse> {
  return glance(base, 'PATCH', `/v2/images/${id}`, token, typeof ops === 'string' ? ops : JSON.stringify(ops), {
    'content-type': contentType,
  });
}

/** PUT of raw bytes to /v2/images/{id}/file (or /stage). */
export async function putData(
  base: string,
  token: string,
  id: string,
  data: Buffer,
  options: { target?: 'file' | 'stage'; contentType?: string } = {},
): Promise<ApiResponse> {
  const response = await fetch(`${base}${IMAGE}/v2/images/${id}/${options.target ?? 'file'}`, {
    method: 'PUT',
    headers: { 'x-auth-token': token, accept: 'application/json', 'content-type': options.contentType ?? 'application/octet-stream' },
    body: data,
  });
  return toApiResponse(response);
}

/** PUT file, insisting on 204. */
export async function upload(base: string, token: string, id: string, data: Buffer): Promise<void> {
  const res = await putData(base, token, id, data);
  assert.equal(res.status, 204, `upload to ${id}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}

export interface Download {
  status: number;
  headers: Headers;
  data: Buffer;
  json: Record<string, any>;
}

/** GET /v2/images/{id}/file as bytes. */
export async function download(base: string, token: string, id: string, headers: Record<string, string> = {}): Promise<Download> {
  const response = await fetch(`${base}${IMAGE}/v2/images/${id}/file`, { headers: { 'x-auth-token': token, accept: 'application/json', ...headers } });
  const data = Buffer.from(await response.arrayBuffer());
  let json: Record<string, any> = {};
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, any>;
  } catch {
    // image bytes, not an error body
  }
  return { status: response.status, headers: response.headers, data, json };
}

async function toApiResponse(response: Response): Promise<ApiResponse> {
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed,
    json: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, any>,
  };
}

/**
 * Asserts a Glance error: this status, and webob's body `{"message", "code": "<status> <title>", "title"}`.
 */
export function assertGlanceError(res: { status: number; headers?: Headers; json: Record<string, any> }, status: number, message?: RegExp, what = ''): void {
  const label = what ? `${what}: ` : '';
  assert.equal(res.status, status, `${label}expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
  if ('headers' in res && res.headers instanceof Headers) {
    assert.ok(res.headers.get('x-openstack-request-id'), `${label}x-openstack-request-id header`);
  }
  const { message: text, code, title } = res.json;
  assert.equal(typeof text, 'string', `${label}error body has a message: ${JSON.stringify(res.json)}`);
  assert.ok((text as string).length > 0, `${label}message is not empty`);
  const expectedTitle = TITLES[status];
  if (expectedTitle) {
    assert.equal(title, expectedTitle, `${label}title`);
    assert.equal(code, `${status} ${expectedTitle}`, `${label}code`);
  } else {
    assert.equal(code, `${status} ${title as string}`, `${label}code`);
  }
  if (message) assert.match(text as string, message, `${label}message`);
}

/** Polls until `check` returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the image has this status; returns the image. */
export function waitForStatus(base: string, token: string, id: string, status: string, ms = 5000): Promise<Record<string, any>> {
  let last = '';
  return waitFor(
    `image ${id} to become ${status}`,
    async () => {
      const res = await glance(base, 'GET', `/v2/images/${id}`, token);
      last = String(res.json.status);
      return res.status === 200 && res.json.status === status ? res.json : undefined;
    },
    ms,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (last status ${last})`);
  });
}

/** The files of an image store directory (`DATA/images` or `DATA/image-staging`). */
export function storeFiles(dataDir: string, dir = 'images'): string[] {
  const path = join(dataDir, dir);
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** The files a store holds for one image: its data and any partial write. */
export function filesOf(dataDir: string, id: string, dir = 'images'): string[] {
  return storeFiles(dataDir, dir).filter((name) => name.startsWith(id));
}

export const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');
export const sha512 = (data: Buffer): string => createHash('sha512').update(data).digest('hex');

/** Deterministic, incompressible-enough bytes for uploads. */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Id of a project by name (admin token). */
export async function projectId(base: string, adminToken: string, name: string): Promise<string> {
  const res = await api(base, 'GET', `/identity/v3/projects?name=${encodeURIComponent(name)}`, adminToken);
  const id = res.json.projects?.[0]?.id as string | undefined;
  assert.ok(id, `project ${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return id;
}

export interface ProjectUser {
  projectId: string;
  userId: string;
  token: string;
}

/** A new project with a new user holding `member` on it, and that user's project-scoped token. */
export function projectWithMember(base: string, adminToken: string, name: string): Promise<ProjectUser> {
  return projectWithRoles(base, adminToken, name, ['member']);
}

/** A new project with a new user holding these roles on it, and that user's project-scoped token. */
export async function projectWithRoles(base: string, adminToken: string, name: string, roleNames: string[]): Promise<ProjectUser> {
  const project = await api(base, 'POST', '/identity/v3/projects', adminToken, { project: { name, domain_id: 'default' } });
  assert.equal(project.status, 201, `create project ${name}: ${JSON.stringify(project.body)}`);
  const password = `${name}-password`;
  const user = await api(base, 'POST', '/identity/v3/users', adminToken, {
    user: { name: `${name}-user`, password, domain_id: 'default', default_project_id: project.json.project.id },
  });
  assert.equal(user.status, 201, `create user ${name}: ${JSON.stringify(user.body)}`);
  for (const roleName of roleNames) {
    const roles = await api(base, 'GET', `/identity/v3/roles?name=${roleName}`, adminToken);
    const roleId = roles.json.roles?.[0]?.id as string;
    const grant = await api(base, 'PUT', `/identity/v3/projects/${project.json.project.id}/users/${user.json.user.id}/roles/${roleId}`, adminToken);
    assert.equal(grant.status, 204, `grant ${roleName} on ${name}: ${JSON.stringify(grant.body)}`);
  }
  return {
    projectId: project.json.project.id as string,
    userId: user.json.user.id as string,
    token: await passwordToken(base, `${name}-user`, password, name),
  };
}

/** Sets a Keystone unified limit of the image service on a project (admin token). */
export async function setImageLimit(base: string, adminToken: string, project: string, resource: string, limit: number): Promise<void> {
  const services = await api(base, 'GET', '/identity/v3/services?type=image', adminToken);
  const serviceId = services.json.services?.[0]?.id as string | undefined;
  assert.ok(serviceId, `the catalog has an image service: ${JSON.stringify(services.body)}`);
  // A project limit overrides a registered one, so it names the same region.
  const registered = await api(base, 'GET', `/identity/v3/registered_limits?service_id=${serviceId}&resource_name=${resource}`, adminToken);
  const regionId = registered.json.registered_limits?.[0]?.region_id as string | null | undefined;
  assert.ok(regionId !== undefined, `a registered limit for ${resource}: ${JSON.stringify(registered.body)}`);
  const res = await api(base, 'POST', '/identity/v3/limits', adminToken, {
    limits: [{ service_id: serviceId, project_id: project, resource_name: resource, resource_limit: limit, region_id: regionId }],
  });
  assert.equal(res.status, 201, `create limit ${resource}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}

export interface RawUpload {
  req: ClientRequest;
  /** The answer, once the server gives one; rejects when the connection breaks first. */
  response: Promise<{ status: number; body: string }>;
  /** Writes a chunk and resolves once it has been handed to the kernel. */
  write(chunk: Buffer): Promise<void>;
  end(): void;
}

/**
 * A PUT of image data through node:http on a connection of its own, written by the test piece by
 * piece: `length` declares a Content-Length, `'chunked'` sends Transfer-Encoding: chunked.
 */
export function rawUpload(base: string, token: string, id: string, length: number | 'chunked', target: 'file' | 'stage' = 'file'): RawUpload {
  const url = new URL(base);
  const req = request({
    host: url.hostname,
    port: url.port,
    method: 'PUT',
    path: `${IMAGE}/v2/images/${id}/${target}`,
    agent: false,
    headers: {
      'x-auth-token': token,
      accept: 'application/json',
      'content-type': 'application/octet-stream',
      ...(length === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }),
    },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  // A test that cuts the connection does not wait for an answer: no unhandled rejection then.
  response.catch(() => undefined);
  return {
    req,
    response,
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        req.write(chunk, (error) => (error ? reject(error) : resolve()));
      }),
    end: () => req.end(),
  };
}

/** Waits until a store directory (`DATA/images` or `DATA/image-staging`) has a partial file of the image with some bytes in it. */
export function partialFileWritten(dataDir: string, id: string, dir = 'images'): Promise<true> {
  const path = join(dataDir, dir, `${id}.partial`);
  return waitFor(`${path} to hold data`, async () => {
    try {
      return statSync(path).size > 0 ? true : undefined;
    } catch {
      return undefined;
    }
  });
}
