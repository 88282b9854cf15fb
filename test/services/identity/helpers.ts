import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { api, type ApiResponse } from '../../helpers/cloud.js';

/** Where Keystone v3 lives on the one port. */
export const V3 = '/identity/v3';

/**
 * What is wrong with a response that should be a Keystone error, or undefined when nothing is:
 * `{"error": {"code": <status>, "title": <string>, "message": <string>}}` and nothing else,
 * an x-openstack-request-id, and WWW-Authenticate on a 401. HEAD answers carry no body.
 */
export function keystoneErrorProblem(res: ApiResponse, method = 'GET'): string | undefined {
  if (res.status < 400) return `expected an error, got HTTP ${res.status}`;
  if (!res.headers.get('x-openstack-request-id')) return 'no x-openstack-request-id header';
  if (res.status === 401 && !/^Keystone uri="[^"]+"$/.test(res.headers.get('www-authenticate') ?? '')) {
    return `401 without a Keystone WWW-Authenticate header (got ${res.headers.get('www-authenticate')})`;
  }
  if (method === 'HEAD') return undefined;
  const body = res.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `body is not a JSON object: ${String(body).slice(0, 200)}`;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return `body has members ${JSON.stringify(keys)}, expected only "error"`;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return '"error" is not an object';
  const { code, title, message, ...rest } = error as Record<string, unknown>;
  if (code !== res.status) return `error.code ${JSON.stringify(code)} differs from the HTTP status ${res.status}`;
  if (typeof title !== 'string' || title.length === 0) return 'error.title is not a non-empty string';
  if (typeof message !== 'string' || message.length === 0) return 'error.message is not a non-empty string';
  if (Object.keys(rest).length > 0) return `error has extra members ${JSON.stringify(Object.keys(rest))}`;
  return undefined;
}

/** Asserts a Keystone error with this status (and message, when given). */
export function assertKeystoneError(
  res: ApiResponse,
  status: number,
  message?: string | RegExp,
  what = '',
  method = 'GET',
): void {
  const label = what ? `${what}: ` : '';
  assert.equal(res.status, status, `${label}expected HTTP ${status}, got ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`);
  const problem = keystoneErrorProblem(res, method);
  assert.equal(problem, undefined, `${label}${problem}`);
  if (message !== undefined) {
    const text = res.json.error?.message as string;
    if (typeof message === 'string') assert.equal(text, message, `${label}message`);
    else assert.match(text, message, `${label}message`);
  }
}

export interface RawRequest {
  method: string;
  /** Sent as is: no encoding, so bad %-escapes and odd characters reach the server. */
  path: string;
  /** Sent as given; no Content-Type is added. Values may use any Latin-1 character. */
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * One request through node:http rather than fetch, for what fetch refuses or adds by itself:
 * a body without Content-Type, Latin-1 header values, unencoded paths. Same shape as `api()`.
 */
export function rawRequest(base: string, req: RawRequest, agent?: Agent): Promise<ApiResponse> {
  const url = new URL(base);
  const headers = { ...req.headers };
  // node:http frames a DELETE or OPTIONS body with neither Content-Length nor chunked encoding.
  const framed = Object.keys(headers).some((h) => ['content-length', 'transfer-encoding'].includes(h.toLowerCase()));
  if (req.body !== undefined && !framed) headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
          }
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body,
            json: (typeof body === 'object' && body !== null ? body : {}) as Record<string, any>,
          });
        });
      },
    );
    outgoing.on('error', reject);
    if (req.body !== undefined) outgoing.end(req.body);
    else outgoing.end();
  });
}

export type UserRef = { id: string } | { name: string; domain: { id: string } | { name: string } };

/** The body of a password authentication, with an optional scope. */
export function passwordAuth(user: UserRef, password: string, scope?: unknown): Record<string, unknown> {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { ...user, password } } },
      ...(scope !== undefined ? { scope } : {}),
    },
  };
}

/** POST /v3/auth/tokens; the token is the X-Subject-Token of a 201, or '' otherwise. */
export async function issue(base: string, body: unknown, query = ''): Promise<ApiResponse & { token: string }> {
  const res = await api(base, 'POST', `${V3}/auth/tokens${query}`, undefined, body);
  return { ...res, token: res.status === 201 ? (res.headers.get('x-subject-token') ?? '') : '' };
}

/** Like `issue`, but insists on success and returns the token with its body. */
export async function mustIssue(base: string, body: unknown, query = ''): Promise<{ token: string; body: Record<string, any> }> {
  const res = await issue(base, body, query);
  assert.equal(res.status, 201, `token issue failed: ${res.status} ${JSON.stringify(res.body)}`);
  assert.ok(res.token, 'no X-Subject-Token');
  return { token: res.token, body: res.json.token as Record<string, any> };
}

/** GET /v3/auth/tokens for `subject`, authenticated with `caller`. */
export function validate(base: string, caller: string, subject: string, query = ''): Promise<ApiResponse> {
  return api(base, 'GET', `${V3}/auth/tokens${query}`, caller, undefined, { 'x-subject-token': subject });
}

/** True when the token is accepted as X-Auth-Token (GET /v3/auth/projects needs only a valid token). */
export async function tokenWorks(base: string, token: string): Promise<boolean> {
  const res = await api(base, 'GET', `${V3}/auth/projects`, token);
  if (res.status === 200) return true;
  assertKeystoneError(res, 401);
  return false;
}

/** Small typed helpers over the admin API, each insisting on success. */
export class IdentityAdmin {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown, expected?: number): Promise<ApiResponse> {
    const res = await api(this.base, method, `${V3}${path}`, this.token, body);
    const ok = expected !== undefined ? res.status === expected : res.status >= 200 && res.status < 300;
    assert.ok(ok, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`);
    return res;
  }

  private async create(collection: string, key: string, attrs: Record<string, unknown>): Promise<Record<string, any>> {
    const res = await this.call('POST', `/${collection}`, { [key]: attrs }, 201);
    return res.json[key] as Record<string, any>;
  }

  domain(name: string, attrs: Record<string, unknown> = {}) {
    return this.create('domains', 'domain', { name, ...attrs });
  }

  project(name: string, attrs: Record<string, unknown> = {}) {
    return this.create('projects', 'project', { name, domain_id: 'default', ...attrs });
  }

  user(name: string, password: string | undefined, attrs: Record<string, unknown> = {}) {
    return this.create('users', 'user', { name, domain_id: 'default', ...(password !== undefined ? { password } : {}), ...attrs });
  }

  group(name: string, attrs: Record<string, unknown> = {}) {
    return this.create('groups', 'group', { name, domain_id: 'default', ...attrs });
  }

  role(name: string, attrs: Record<string, unknown> = {}) {
    return this.create('roles', 'role', { name, ...attrs });
  }

  async roleId(name: string): Promise<string> {
    const res = await this.call('GET', `/roles?name=${encodeURIComponent(name)}`);
    const role = (res.json.roles as Array<{ id: string; name: string }>).find((r) => r.name === name);
    assert.ok(role, `no role named ${name}`);
    return role.id;
  }

  async userId(name: string, domainId = 'default'): Promise<string> {
    const res = await this.call('GET', `/users?name=${encodeURIComponent(name)}&domain_id=${domainId}`);
    const user = (res.json.users as Array<{ id: string }>)[0];
    assert.ok(user, `no user named ${name}`);
    return user.id;
  }

  async projectId(name: string, domainId = 'default'): Promise<string> {
    const res = await this.call('GET', `/projects?name=${encodeURIComponent(name)}&domain_id=${domainId}`);
    const project = (res.json.projects as Array<{ id: string }>)[0];
    assert.ok(project, `no project named ${name}`);
    return project.id;
  }

  /** PUT a grant, e.g. `grant('projects', p, 'users', u, r)`. */
  async grant(targets: 'projects' | 'domains', targetId: string, actors: 'users' | 'groups', actorId: string, roleId: string) {
    await this.call('PUT', `/${targets}/${targetId}/${actors}/${actorId}/roles/${roleId}`, undefined, 204);
  }

  async revoke(targets: 'projects' | 'domains', targetId: string, actors: 'users' | 'groups', actorId: string, roleId: string) {
    await this.call('DELETE', `/${targets}/${targetId}/${actors}/${actorId}/roles/${roleId}`, undefined, 204);
  }
}

let counter = 0;
/** A name no other test of this process uses. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
