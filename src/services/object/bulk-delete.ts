import { Readable } from 'node:stream';
import { deleteContainer } from './containers.js';
import type { ObjectContext, SwiftRequest, SwiftResponse } from './context.js';
import { badRequest, SwiftError, statusText } from './errors.js';
import { header, LIMITS } from './names.js';
import { deleteObject } from './objects.js';

/**
 * Swift's bulk delete (the bulk middleware): POST ?bulk-delete with a text body of URL-quoted
 * `/container/object` or `/container` paths, one a line, relative to the account. Each is
 * deleted as its own DELETE would be (same caller, same checks); the answer is 200 with a
 * summary (JSON when Accept asks for it, else plain text) whose Response Status says whether
 * every line went.
 */
const MAX_DELETES = 10_000;
/** Swift's limit on one line: a container and an object name, quoted, with the slashes. */
const MAX_LINE = 3 * (LIMITS.maxContainerNameLength + 1024) + 2;

async function readLines(req: SwiftRequest): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DELETES * (MAX_LINE + 1)) throw new SwiftError(413);
    chunks.push(chunk);
  }
  const lines = Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length > MAX_DELETES) throw new SwiftError(413, `Max delete failures exceeded: more than ${MAX_DELETES} paths.`);
  return lines;
}

/** The container and object a line names, or undefined for a line that names nothing. */
function target(line: string): { container: string; object?: string } | undefined {
  if (line.length > MAX_LINE) return undefined;
  let text: string;
  try {
    text = decodeURIComponent(line);
  } catch {
    return undefined;
  }
  if (text.startsWith('/')) text = text.slice(1);
  const slash = text.indexOf('/');
  const container = slash < 0 ? text : text.slice(0, slash);
  const object = slash < 0 ? undefined : text.slice(slash + 1);
  if (!container || object === '' || text.includes('\0')) return undefined;
  return object === undefined ? { container } : { container, object };
}

export async function bulkDelete(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const lines = await readLines(req);
  let deleted = 0;
  let notFound = 0;
  const errors: Array<[string, string]> = [];
  for (const line of lines) {
    const named = target(line);
    if (!named) {
      errors.push([line.slice(0, 256), '400 Bad Request']);
      continue;
    }
    const sub: SwiftRequest = {
      method: 'DELETE',
      path: { ...req.path, ...named },
      rawPath: `${req.rawPath.replace(/\/+$/, '')}/${line.replace(/^\/+/, '')}`,
      query: {},
      headers: {},
      auth: req.auth,
      body: Readable.from([]),
      contentLength: 0,
      chunked: false,
    };
    try {
      await (named.object === undefined ? deleteContainer(ctx, sub) : deleteObject(ctx, sub));
      deleted += 1;
    } catch (error) {
      if (!(error instanceof SwiftError)) throw error;
      if (error.status === 404) notFound += 1;
      else errors.push([line, `${error.status} ${statusText(error.status)}`]);
    }
  }
  const summary = {
    'Number Deleted': deleted,
    'Number Not Found': notFound,
    'Response Body': lines.length === 0 ? 'Invalid bulk delete.' : '',
    'Response Status': errors.length > 0 || lines.length === 0 ? '400 Bad Request' : '200 OK',
    Errors: errors,
  };
  if ((header(req.headers, 'accept') ?? '').includes('application/json')) {
    return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(summary) };
  }
  const text = [
    `Number Deleted: ${summary['Number Deleted']}`,
    `Number Not Found: ${summary['Number Not Found']}`,
    `Response Body: ${summary['Response Body']}`,
    `Response Status: ${summary['Response Status']}`,
    'Errors:',
    ...errors.map((e) => e.join(', ')),
  ].join('\n');
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `${text}\n` };
}
