import { createHash } from 'node:crypto';

export interface SwiftReply {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
}

/** One Swift request through real HTTP; `path` is after /object-store (e.g. `/v1/AUTH_x/c/o`). */
export async function swift(
  url: string,
  method: string,
  path: string,
  token?: string,
  options: { headers?: Record<string, string>; body?: string | Buffer | ReadableStream<Uint8Array>; duplex?: boolean } = {},
): Promise<SwiftReply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (token) headers['x-auth-token'] = token;
  const init: RequestInit & { duplex?: string } = { method, headers };
  // A string goes as bytes: fetch would label it text/plain, and Swift would keep that type.
  if (options.body !== undefined) init.body = (typeof options.body === 'string' ? Buffer.from(options.body) : options.body) as NonNullable<RequestInit['body']>;
  if (options.body instanceof ReadableStream) init.duplex = 'half';
  const response = await fetch(`${url}/object-store${path}`, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, text: bytes.toString('utf8'), bytes };
}

export const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

/** The project id of a named project, through Keystone. */
export async function projectIdOf(url: string, adminToken: string, name: string): Promise<string> {
  const response = await fetch(`${url}/identity/v3/projects?name=${encodeURIComponent(name)}`, { headers: { 'x-auth-token': adminToken } });
  const body = (await response.json()) as { projects: Array<{ id: string }> };
  const id = body.projects[0]?.id;
  if (!id) throw new Error(`no project ${name}`);
  return id;
}
