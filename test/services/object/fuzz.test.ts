// Random Swift requests (methods, names, query parameters, headers and bodies Swift reads) at
// the object store, as the account's owner, as another project and with no token: none may get
// a 5xx or go unanswered, and the counts must stay exact afterwards. Deterministic: KUMO_FUZZ_SEED
// picks another seed, KUMO_FUZZ_SCALE multiplies the number of requests.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectId } from '../image/helpers.js';
import { swift } from './helpers.js';

const SEED = Number(process.env.KUMO_FUZZ_SEED ?? 0x73776674);
const REQUESTS = Math.max(1, Math.round(1500 * Number(process.env.KUMO_FUZZ_SCALE ?? 1)));

const name = fc.oneof(
  fc.constantFrom('c', 'd', 'o', 'a/b', 'a/b/c', '%00', '%zz', '%2F', '..', '.', '', 'x'.repeat(257), 'y'.repeat(1100), '%FF%FE', '☃', '%E2%98%83', '*'),
  fc.stringMatching(/^[a-z0-9/]{1,12}$/),
);
const headerValue = fc.oneof(
  fc.constantFrom('', '*', '-1', '0', '1', 'abc', 'bytes=0-1', 'bytes=5-2', 'bytes=-0', 'bytes=0-0,2-3', 'true', '.r:*', '.r:', '.rlistings', 'c/o', '/c/o', 'c', '99999999999999999999', 'Thu, 01 Jan 1970 00:00:00 GMT', '"etag"', 'x'.repeat(300)),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
);
const headerName = fc.constantFrom(
  'range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'x-copy-from', 'destination', 'x-object-manifest',
  'x-delete-at', 'x-delete-after', 'x-container-read', 'x-container-write', 'x-container-meta-quota-bytes', 'x-container-meta-quota-count',
  'x-account-meta-quota-bytes', 'x-account-meta-temp-url-key', 'x-object-meta-k', 'x-container-meta-k', 'x-remove-container-read', 'etag',
  'content-type', 'x-detect-content-type', 'x-fresh-metadata', 'x-versions-location', 'x-history-location', 'accept', 'x-remove-delete-at',
);
const queryPart = fc.oneof(
  fc.constantFrom('format=json', 'format=xml', 'format=plain', 'limit=0', 'limit=-1', 'limit=x', 'limit=99999', 'marker=b', 'end_marker=c', 'prefix=a/', 'delimiter=/', 'delimiter=ab', 'path=a', 'reverse=1', 'multipart-manifest=put', 'multipart-manifest=get', 'multipart-manifest=delete', 'format=raw', 'temp_url_sig=00&temp_url_expires=1', 'temp_url_sig=sha1:x&temp_url_expires=99999999999', 'temp_url_expires=abc', 'marker=%00', 'filename=x', 'inline'),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('', 'hello', '[]', '{}', '[{"path":"/c/o"}]', '[{"path":"/c/o","etag":null,"size_bytes":5}]', '[{"path":"c"}]', '[{"path":"/c/o","range":"9-1"}]', '[1,2]', 'null', '{nope'),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a).toString('latin1')),
);

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  caller: number;
}

function send(url: string, req: Req, token: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (token) headers['x-auth-token'] = token;
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body, 'latin1'));
    const r = httpRequest(`${url}/object-store${req.path}`, { method: req.method, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    r.on('timeout', () => r.destroy(new Error('timed out')));
    r.on('error', reject);
    r.end(req.body === undefined ? undefined : Buffer.from(req.body, 'latin1'));
  });
}

describe('object storage under random requests', { timeout: 300_000 }, () => {
  let tc: TestCloud;
  let account: string;
  const tokens: Array<string | undefined> = [];

  before(async () => {
    tc = await startTestCloud();
    const demo = await tc.token('demo');
    tokens.push(demo, await tc.token('admin'), undefined);
    account = `/v1/AUTH_${await projectId(tc.url, await tc.token('admin'), 'demo')}`;
    for (const c of ['c', 'd']) await swift(tc.url, 'PUT', `${account}/${c}`, demo);
    for (const o of ['o', 'a/b', 'a/b/c']) await swift(tc.url, 'PUT', `${account}/c/${o}`, demo, { body: 'hello' });
  });

  after(async () => {
    await tc?.stop();
  });

  it('answers every request with less than a 5xx', async () => {
    const statuses = new Map<number, number>();
    const requests = fc.record({
      method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY'),
      depth: fc.integer({ min: 0, max: 2 }),
      container: name,
      object: name,
      query: fc.array(queryPart, { maxLength: 3 }),
      headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
      body,
      caller: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        const path = `${account}${r.depth >= 1 ? `/${r.container}` : ''}${r.depth >= 2 ? `/${r.object}` : ''}${r.query.length ? `?${r.query.join('&')}` : ''}`;
        const req: Req = { method: r.method, path, headers: r.headers, body: r.body, caller: r.caller };
        const answer = await send(tc.url, req, tokens[r.caller]);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        assert.ok(answer.status > 0 && answer.status < 500, `${r.method} ${path} ${JSON.stringify(r.headers)} -> ${answer.status} ${answer.body.slice(0, 200)}`);
      }),
      { seed: SEED, numRuns: REQUESTS, endOnFailure: true },
    );
    process.stdout.write(`# object fuzz: ${REQUESTS} requests, seed ${SEED}, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    // Still serving, and the counts still agree with the listings.
    const demo = tokens[0] as string;
    for (const c of ['c', 'd']) {
      const head = await swift(tc.url, 'HEAD', `${account}/${c}`, demo);
      if (head.status === 404) continue;
      const listing = JSON.parse((await swift(tc.url, 'GET', `${account}/${c}?format=json`, demo)).text || '[]') as Array<{ bytes: number }>;
      assert.equal(Number(head.headers.get('x-container-object-count')), listing.length);
    }
  });
});
