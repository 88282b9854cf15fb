// Swift v1 over real HTTP against the whole cloud in this process: accounts, containers and
// objects, listings, metadata, ranges, conditions, copies, large objects, ACLs, temp URLs,
// quotas, expiry, and the 4xx Swift gives bad input.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, TEST_DATABASE_URL, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { projectId, projectWithMember, projectWithRoles, type ProjectUser } from '../image/helpers.js';
import { md5, swift } from './helpers.js';

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

for (const engine of ENGINES) describe(`object storage API (Swift v1) on ${engine.name}`, { skip: engine.skip, timeout: 240_000 }, () => {
  const schema = engine.name === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
  let tc: TestCloud;
  let url: string;
  let admin: string;
  let demo: string;
  let demoAccount: string;
  let other: ProjectUser;
  let reader: ProjectUser;

  before(async () => {
    tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    demoAccount = `/v1/AUTH_${await projectId(url, admin, 'demo')}`;
    other = await projectWithMember(url, admin, 'swift-other');
    reader = await projectWithRoles(url, admin, 'swift-reader', ['reader']);
  });

  after(async () => {
    await tc?.stop();
    if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
  });

  it('is in the catalog as object-store, at AUTH_<project>, with /info and /healthcheck', async () => {
    const res = await fetch(`${url}/identity/v3/auth/catalog`, { headers: { 'x-auth-token': demo } });
    const body = (await res.json()) as { catalog: Array<{ type: string; endpoints: Array<{ url: string; interface: string }> }> };
    const entry = body.catalog.find((c) => c.type === 'object-store');
    assert.ok(entry);
    assert.equal(entry.endpoints.find((e) => e.interface === 'public')?.url, `${url}/object-store${demoAccount}`);
    const info = await swift(url, 'GET', '/info');
    assert.equal(info.status, 200);
    const doc = JSON.parse(info.text) as Record<string, Record<string, unknown>>;
    assert.deepEqual(doc.tempurl?.allowed_digests, ['sha1', 'sha256', 'sha512']);
    assert.ok(doc.slo);
    const health = await swift(url, 'GET', '/healthcheck');
    assert.equal(health.status, 200);
    assert.equal(health.text, 'OK');
  });

  it('spells metadata header names as Swift does (openstacksdk matches X-Object-Meta- case-sensitively)', async () => {
    const c = `${demoAccount}/spelling`;
    await swift(url, 'PUT', c, demo, { headers: { 'x-container-meta-color': 'blue' } });
    await swift(url, 'PUT', `${c}/o`, demo, { body: 'x', headers: { 'x-object-meta-who_am_i': 'tom' } });
    await swift(url, 'POST', demoAccount, demo, { headers: { 'x-account-meta-k1': 'v1' } });
    const rawNames = (path: string) =>
      new Promise<string[]>((resolveNames, reject) => {
        const request = httpRequest(`${url}/object-store${path}`, { method: 'HEAD', headers: { 'x-auth-token': demo } }, (response) => {
          response.resume();
          resolveNames(response.rawHeaders.filter((_v, i) => i % 2 === 0));
        });
        request.once('error', reject);
        request.end();
      });
    assert.ok((await rawNames(`${c}/o`)).includes('X-Object-Meta-Who_Am_I'));
    assert.ok((await rawNames(c)).includes('X-Container-Meta-Color'));
    assert.ok((await rawNames(demoAccount)).includes('X-Account-Meta-K1'));
    await swift(url, 'POST', demoAccount, demo, { headers: { 'x-remove-account-meta-k1': 'x' } });
    await swift(url, 'DELETE', `${c}/o`, demo);
    await swift(url, 'DELETE', c, demo);
  });

  it('creates, reads, lists and deletes, with Swift status codes and headers', async () => {
    const c = `${demoAccount}/photos`;
    const made = await swift(url, 'PUT', c, demo, { headers: { 'x-container-meta-color': 'blue' } });
    assert.equal(made.status, 201);
    assert.match(made.headers.get('x-trans-id') ?? '', /^tx[0-9a-f]{21}-[0-9a-f]{10}$/);
    assert.equal((await swift(url, 'PUT', c, demo)).status, 202);
    const put = await swift(url, 'PUT', `${c}/cat.png`, demo, { body: 'meow', headers: { 'x-object-meta-who': 'tom' } });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('etag'), md5('meow'));
    const head = await swift(url, 'HEAD', `${c}/cat.png`, demo);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '4');
    assert.equal(head.headers.get('content-type'), 'image/png');
    assert.equal(head.headers.get('x-object-meta-who'), 'tom');
    assert.match(head.headers.get('x-timestamp') ?? '', /^\d{10}\.\d{5}$/);
    assert.ok(head.headers.get('last-modified'));
    const get = await swift(url, 'GET', `${c}/cat.png`, demo);
    assert.equal(get.text, 'meow');
    const ch = await swift(url, 'HEAD', c, demo);
    assert.equal(ch.status, 204);
    assert.equal(ch.headers.get('x-container-object-count'), '1');
    assert.equal(ch.headers.get('x-container-bytes-used'), '4');
    assert.equal(ch.headers.get('x-container-meta-color'), 'blue');
    const ah = await swift(url, 'HEAD', demoAccount, demo);
    assert.equal(ah.status, 204);
    assert.equal(ah.headers.get('x-account-container-count'), '1');
    assert.equal(ah.headers.get('x-account-object-count'), '1');
    assert.equal(ah.headers.get('x-account-bytes-used'), '4');
    assert.equal((await swift(url, 'GET', demoAccount, demo)).text, 'photos\n');
    assert.equal((await swift(url, 'DELETE', c, demo)).status, 409);
    assert.equal((await swift(url, 'DELETE', `${c}/cat.png`, demo)).status, 204);
    assert.equal((await swift(url, 'DELETE', `${c}/cat.png`, demo)).status, 404);
    assert.equal((await swift(url, 'GET', `${c}/cat.png`, demo)).status, 404);
    assert.equal((await swift(url, 'DELETE', c, demo)).status, 204);
    assert.equal((await swift(url, 'HEAD', c, demo)).status, 404);
  });

  it('lists json, xml and plain, with limit, marker, end_marker, prefix, delimiter, path and reverse', async () => {
    const c = `${demoAccount}/listing`;
    await swift(url, 'PUT', c, demo);
    for (const name of ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'd.txt']) await swift(url, 'PUT', `${c}/${name}`, demo, { body: name });
    const names = async (query: string) => (await swift(url, 'GET', `${c}?${query}`, demo)).text.split('\n').filter(Boolean);
    assert.deepEqual(await names(''), ['a', 'b/1', 'b/2', 'b/c/3', 'c', 'd.txt']);
    assert.deepEqual(await names('limit=2'), ['a', 'b/1']);
    assert.deepEqual(await names('marker=b/1&limit=2'), ['b/2', 'b/c/3']);
    assert.deepEqual(await names('end_marker=b/2'), ['a', 'b/1']);
    assert.deepEqual(await names('prefix=b/'), ['b/1', 'b/2', 'b/c/3']);
    assert.deepEqual(await names('delimiter=/'), ['a', 'b/', 'c', 'd.txt']);
    assert.deepEqual(await names('prefix=b/&delimiter=/'), ['b/1', 'b/2', 'b/c/']);
    assert.deepEqual(await names('path=b'), ['b/1', 'b/2']);
    assert.deepEqual(await names('reverse=true'), ['d.txt', 'c', 'b/c/3', 'b/2', 'b/1', 'a']);
    assert.deepEqual(await names('reverse=true&delimiter=/'), ['d.txt', 'c', 'b/', 'a']);
    assert.deepEqual(await names('reverse=true&marker=c&limit=2'), ['b/c/3', 'b/2']);
    const json = JSON.parse((await swift(url, 'GET', `${c}?format=json&limit=1`, demo)).text) as Array<Record<string, unknown>>;
    assert.deepEqual(Object.keys(json[0] ?? {}).sort(), ['bytes', 'content_type', 'hash', 'last_modified', 'name']);
    assert.equal(json[0]?.hash, md5('a'));
    assert.match(String(json[0]?.last_modified), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const xml = await swift(url, 'GET', `${c}?delimiter=/`, demo, { headers: { accept: 'application/xml' } });
    assert.match(xml.headers.get('content-type') ?? '', /application\/xml/);
    assert.match(xml.text, /<container name="listing"><object><name>a<\/name>/);
    assert.match(xml.text, /<subdir name="b\/"><name>b\/<\/name><\/subdir>/);
    assert.equal((await swift(url, 'GET', `${c}?limit=10001`, demo)).status, 412);
    assert.equal((await swift(url, 'GET', `${c}?limit=x`, demo)).status, 412);
    const empty = await swift(url, 'GET', `${c}?prefix=zzz`, demo);
    assert.equal(empty.status, 204);
    assert.equal((await swift(url, 'GET', `${c}?prefix=zzz&format=json`, demo)).text, '[]');
    const accountJson = JSON.parse((await swift(url, 'GET', `${demoAccount}?format=json`, demo)).text) as Array<Record<string, unknown>>;
    assert.deepEqual(accountJson.find((x) => x.name === 'listing'), { name: 'listing', count: 6, bytes: 18, last_modified: accountJson.find((x) => x.name === 'listing')?.last_modified });
  });

  it('sets and removes metadata; an object POST replaces it', async () => {
    const c = `${demoAccount}/meta`;
    await swift(url, 'PUT', c, demo);
    assert.equal((await swift(url, 'POST', c, demo, { headers: { 'x-container-meta-a': '1', 'x-container-meta-b': '2' } })).status, 204);
    await swift(url, 'POST', c, demo, { headers: { 'x-remove-container-meta-a': 'x' } });
    const ch = await swift(url, 'HEAD', c, demo);
    assert.equal(ch.headers.get('x-container-meta-a'), null);
    assert.equal(ch.headers.get('x-container-meta-b'), '2');
    assert.equal((await swift(url, 'POST', demoAccount, demo, { headers: { 'x-account-meta-team': 'kumo' } })).status, 204);
    assert.equal((await swift(url, 'HEAD', demoAccount, demo)).headers.get('x-account-meta-team'), 'kumo');
    await swift(url, 'PUT', `${c}/o`, demo, { body: 'x', headers: { 'x-object-meta-one': '1', 'content-type': 'text/plain' } });
    assert.equal((await swift(url, 'POST', `${c}/o`, demo, { headers: { 'x-object-meta-two': '2' } })).status, 202);
    const oh = await swift(url, 'HEAD', `${c}/o`, demo);
    assert.equal(oh.headers.get('x-object-meta-one'), null);
    assert.equal(oh.headers.get('x-object-meta-two'), '2');
    assert.equal(oh.headers.get('content-type'), 'text/plain');
    assert.equal((await swift(url, 'POST', `${c}/missing`, demo, { headers: {} })).status, 404);
    // Any Content-Type is kept as given, media type or not (Swift stores the string).
    assert.equal((await swift(url, 'PUT', `${c}/odd`, demo, { body: 'x', headers: { 'content-type': 'not a media type' } })).status, 201);
    assert.equal((await swift(url, 'HEAD', `${c}/odd`, demo)).headers.get('content-type'), 'not a media type');
    assert.equal((await swift(url, 'PUT', `${c}/odd`, demo, { body: 'x', headers: { 'content-type': 't'.repeat(257) } })).status, 400);
    assert.equal((await swift(url, 'POST', c, demo, { headers: { [`x-container-meta-${'n'.repeat(129)}`]: 'v' } })).status, 400);
    assert.equal((await swift(url, 'POST', c, demo, { headers: { 'x-container-meta-long': 'v'.repeat(257) } })).status, 400);
  });

  it('serves single and multiple ranges, and 416 for none', async () => {
    const c = `${demoAccount}/ranges`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${c}/digits`, demo, { body: '0123456789' });
    const one = await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=2-4' } });
    assert.equal(one.status, 206);
    assert.equal(one.text, '234');
    assert.equal(one.headers.get('content-range'), 'bytes 2-4/10');
    assert.equal((await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=-3' } })).text, '789');
    assert.equal((await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=8-' } })).text, '89');
    const multi = await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=0-1,5-6' } });
    assert.equal(multi.status, 206);
    const boundary = /boundary=(\w+)/.exec(multi.headers.get('content-type') ?? '')?.[1];
    assert.ok(boundary);
    assert.equal(Number(multi.headers.get('content-length')), multi.bytes.length);
    assert.match(multi.text, new RegExp(`--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/10\r\n\r\n01\r\n--${boundary}\r\n.*Content-Range: bytes 5-6/10\r\n\r\n56\r\n--${boundary}--$`, 's'));
    const none = await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=20-30' } });
    assert.equal(none.status, 416);
    assert.equal(none.headers.get('content-range'), 'bytes */10');
    assert.equal((await swift(url, 'GET', `${c}/digits`, demo, { headers: { range: 'bytes=x' } })).status, 200);
  });

  it('answers conditional requests: 304 and 412', async () => {
    const c = `${demoAccount}/cond`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${c}/o`, demo, { body: 'hello' });
    const etag = md5('hello');
    assert.equal((await swift(url, 'GET', `${c}/o`, demo, { headers: { 'if-match': etag } })).status, 200);
    assert.equal((await swift(url, 'GET', `${c}/o`, demo, { headers: { 'if-match': 'nope' } })).status, 412);
    assert.equal((await swift(url, 'GET', `${c}/o`, demo, { headers: { 'if-none-match': `"${etag}"` } })).status, 304);
    const lastModified = (await swift(url, 'HEAD', `${c}/o`, demo)).headers.get('last-modified') as string;
    assert.equal((await swift(url, 'GET', `${c}/o`, demo, { headers: { 'if-modified-since': lastModified } })).status, 304);
    assert.equal((await swift(url, 'GET', `${c}/o`, demo, { headers: { 'if-unmodified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' } })).status, 412);
    assert.equal((await swift(url, 'PUT', `${c}/o`, demo, { body: 'again', headers: { 'if-none-match': '*' } })).status, 412);
    assert.equal((await swift(url, 'PUT', `${c}/new`, demo, { body: 'new', headers: { 'if-none-match': '*' } })).status, 201);
  });

  it('uploads chunked bodies, checks ETag (422), and copies with X-Copy-From and COPY', async () => {
    const c = `${demoAccount}/copies`;
    await swift(url, 'PUT', c, demo);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(Buffer.from('chunk-one,'));
        controller.enqueue(Buffer.from('chunk-two'));
        controller.close();
      },
    });
    const chunked = await swift(url, 'PUT', `${c}/chunked`, demo, { body: stream });
    assert.equal(chunked.status, 201);
    assert.equal((await swift(url, 'GET', `${c}/chunked`, demo)).text, 'chunk-one,chunk-two');
    assert.equal((await swift(url, 'PUT', `${c}/bad`, demo, { body: 'abc', headers: { etag: md5('abd') } })).status, 422);
    assert.equal((await swift(url, 'GET', `${c}/bad`, demo)).status, 404);
    await swift(url, 'PUT', `${c}/src`, demo, { body: 'source', headers: { 'x-object-meta-k': 'v', 'content-type': 'text/x-src' } });
    const copied = await swift(url, 'PUT', `${c}/dst1`, demo, { headers: { 'x-copy-from': 'copies/src', 'content-length': '0' } });
    assert.equal(copied.status, 201);
    assert.equal(copied.headers.get('x-copied-from'), 'copies/src');
    const d1 = await swift(url, 'GET', `${c}/dst1`, demo);
    assert.equal(d1.text, 'source');
    assert.equal(d1.headers.get('x-object-meta-k'), 'v');
    assert.equal(d1.headers.get('content-type'), 'text/x-src');
    const verb = await swift(url, 'COPY', `${c}/src`, demo, { headers: { destination: 'copies/dst2', 'x-object-meta-extra': 'e' } });
    assert.equal(verb.status, 201);
    const d2 = await swift(url, 'HEAD', `${c}/dst2`, demo);
    assert.equal(d2.headers.get('x-object-meta-k'), 'v');
    assert.equal(d2.headers.get('x-object-meta-extra'), 'e');
    assert.equal((await swift(url, 'COPY', `${c}/src`, demo)).status, 412);
    assert.equal((await swift(url, 'PUT', `${c}/dst3`, demo, { headers: { 'x-copy-from': 'copies/none', 'content-length': '0' } })).status, 404);
    const ch = await swift(url, 'HEAD', c, demo);
    assert.equal(ch.headers.get('x-container-object-count'), '4');
    assert.equal(ch.headers.get('x-container-bytes-used'), String(19 + 6 * 3));
  });

  it('refuses bad input with Swift 4xx, never a 500', async () => {
    const c = `${demoAccount}/bad-input`;
    await swift(url, 'PUT', c, demo);
    assert.equal((await swift(url, 'PUT', `${demoAccount}/${'c'.repeat(257)}`, demo)).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/${'o'.repeat(1025)}`, demo, { body: 'x' })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/nul%00name`, demo, { body: 'x' })).status, 412);
    // A broken %-escape is refused by the router, in Swift's shape.
    assert.equal((await swift(url, 'PUT', `${c}/bad%ZZ`, demo, { body: 'x' })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/late`, demo, { body: 'x', headers: { 'x-delete-at': '1000' } })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/late`, demo, { body: 'x', headers: { 'x-delete-after': 'soon' } })).status, 400);
    assert.equal((await swift(url, 'PUT', `${demoAccount}/nocontainer/o`, demo, { body: 'x' })).status, 404);
    assert.equal((await swift(url, 'PUT', c, demo, { headers: { 'x-container-read': '.r:' } })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/copy`, demo, { headers: { 'x-copy-from': 'nocontainerslash', 'content-length': '0' } })).status, 412);
    assert.equal((await swift(url, 'DELETE', demoAccount, demo)).status, 405);
    assert.equal((await swift(url, 'GET', '/v1/NOTANACCOUNT', demo)).status, 404);
    // No length and not chunked: 411 (sent raw, as fetch always frames its bodies).
    const raw = await rawRequest(url, `PUT /object-store${c}/nolength HTTP/1.1\r\nHost: x\r\nX-Auth-Token: ${demo}\r\nConnection: close\r\n\r\n`);
    assert.match(raw, /^HTTP\/1.1 411/);
  });

  it('lets owners in, keeps others out, and follows container ACLs', async () => {
    const c = `${demoAccount}/shared`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${c}/doc`, demo, { body: 'shared doc' });
    assert.equal((await swift(url, 'GET', `${c}/doc`)).status, 401);
    assert.equal((await swift(url, 'GET', `${c}/doc`, other.token)).status, 403);
    assert.equal((await swift(url, 'GET', `${c}/doc`, reader.token)).status, 403);
    assert.equal((await swift(url, 'GET', demoAccount, other.token)).status, 403);
    assert.equal((await swift(url, 'GET', `${c}/doc`, admin)).status, 200, 'a reseller admin reads any account');
    assert.equal((await swift(url, 'GET', `${c}/doc`, 'garbage-token')).status, 401);
    // Public read, no listing.
    assert.equal((await swift(url, 'POST', c, demo, { headers: { 'x-container-read': '.r:*' } })).status, 204);
    assert.equal((await swift(url, 'GET', `${c}/doc`)).text, 'shared doc');
    assert.equal((await swift(url, 'GET', c)).status, 401);
    await swift(url, 'POST', c, demo, { headers: { 'x-container-read': '.r:*,.rlistings' } });
    assert.equal((await swift(url, 'GET', c)).text, 'doc\n');
    assert.equal((await swift(url, 'HEAD', c)).headers.get('x-container-read'), null, 'ACLs are shown to owners only');
    assert.equal((await swift(url, 'PUT', `${c}/anon`, undefined, { body: 'x' })).status, 401);
    // project:user write grants.
    assert.equal((await swift(url, 'PUT', `${c}/from-other`, other.token, { body: 'x' })).status, 403);
    await swift(url, 'POST', c, demo, { headers: { 'x-container-write': `${other.projectId}:${other.userId}` } });
    assert.equal((await swift(url, 'PUT', `${c}/from-other`, other.token, { body: 'x' })).status, 201);
    assert.equal((await swift(url, 'DELETE', c, other.token)).status, 403, 'a write ACL does not give the container');
    await swift(url, 'POST', c, demo, { headers: { 'x-remove-container-read': 'x' } });
    assert.equal((await swift(url, 'GET', `${c}/doc`)).status, 401);
    assert.equal((await swift(url, 'GET', `${c}/doc`, other.token)).status, 403);
    await swift(url, 'POST', c, demo, { headers: { 'x-container-read': `${other.projectId}:*` } });
    assert.equal((await swift(url, 'GET', `${c}/doc`, other.token)).status, 200);
    assert.equal((await swift(url, 'GET', c, other.token)).status, 200);
    // A manifest shows its reader only segments it could read directly.
    await swift(url, 'PUT', `${demoAccount}/private`, demo);
    await swift(url, 'PUT', `${demoAccount}/private/secret`, demo, { body: 'top secret' });
    assert.equal((await swift(url, 'PUT', `${c}/sneaky`, other.token, { body: '', headers: { 'x-object-manifest': 'private/' } })).status, 201);
    assert.equal((await swift(url, 'GET', `${c}/sneaky`, other.token)).status, 403);
    assert.equal((await swift(url, 'GET', `${c}/sneaky`, demo)).text, 'top secret');
    const slo = await swift(url, 'PUT', `${c}/sneaky-slo?multipart-manifest=put`, other.token, { body: JSON.stringify([{ path: '/private/secret' }]) });
    assert.equal(slo.status, 400);
    assert.match(slo.text, /403 Forbidden/);
    assert.equal((await swift(url, 'PUT', `${c}/copied`, other.token, { headers: { 'x-copy-from': `shared/sneaky`, 'content-length': '0' } })).status, 403);
  });

  it('honours temp URLs (sha1, sha256, sha512) keyed by account and container, and refuses bad ones', async () => {
    const c = `${demoAccount}/temp`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${c}/file`, demo, { body: 'temporary' });
    await swift(url, 'POST', demoAccount, demo, { headers: { 'x-account-meta-temp-url-key': 'acct-key' } });
    await swift(url, 'POST', c, demo, { headers: { 'x-container-meta-temp-url-key': 'cont-key' } });
    const expires = Math.floor(Date.now() / 1000) + 300;
    const path = `${c}/file`;
    const sign = (digest: string, key: string, method = 'GET', exp = expires, p = path) => createHmac(digest, key).update(`${method}\n${exp}\n${p}`).digest('hex');
    for (const [digest, key] of [['sha1', 'acct-key'], ['sha256', 'cont-key'], ['sha512', 'acct-key']] as const) {
      const res = await swift(url, 'GET', `${path}?temp_url_sig=${sign(digest, key)}&temp_url_expires=${expires}`);
      assert.equal(res.status, 200, digest);
      assert.equal(res.text, 'temporary');
    }
    const b64 = createHmac('sha512', 'acct-key').update(`GET\n${expires}\n${path}`).digest('base64url');
    assert.equal((await swift(url, 'GET', `${path}?temp_url_sig=sha512:${b64}&temp_url_expires=${expires}`)).status, 200);
    assert.equal((await swift(url, 'HEAD', `${path}?temp_url_sig=${sign('sha256', 'acct-key')}&temp_url_expires=${expires}`)).status, 200);
    assert.equal((await swift(url, 'GET', `${path}?temp_url_sig=${sign('sha256', 'wrong')}&temp_url_expires=${expires}`)).status, 401);
    assert.equal((await swift(url, 'PUT', `${path}?temp_url_sig=${sign('sha256', 'acct-key')}&temp_url_expires=${expires}`, undefined, { body: 'x' })).status, 401);
    const past = Math.floor(Date.now() / 1000) - 5;
    assert.equal((await swift(url, 'GET', `${path}?temp_url_sig=${sign('sha256', 'acct-key', 'GET', past)}&temp_url_expires=${past}`)).status, 401);
    assert.equal((await swift(url, 'GET', `${path}?temp_url_sig=zz&temp_url_expires=${expires}`)).status, 401);
    const putSig = sign('sha256', 'acct-key', 'PUT', expires, `${c}/uploaded`);
    assert.equal((await swift(url, 'PUT', `${c}/uploaded?temp_url_sig=${putSig}&temp_url_expires=${expires}`, undefined, { body: 'via temp url' })).status, 201);
    assert.equal((await swift(url, 'GET', `${c}/uploaded`, demo)).text, 'via temp url');
  });

  it('enforces container and account quotas with 413', async () => {
    const c = `${demoAccount}/quota`;
    await swift(url, 'PUT', c, demo, { headers: { 'x-container-meta-quota-bytes': '10', 'x-container-meta-quota-count': '2' } });
    assert.equal((await swift(url, 'PUT', `${c}/a`, demo, { body: '12345678' })).status, 201);
    assert.equal((await swift(url, 'PUT', `${c}/b`, demo, { body: '12345' })).status, 413);
    assert.equal((await swift(url, 'PUT', `${c}/b`, demo, { body: '12' })).status, 201);
    assert.equal((await swift(url, 'PUT', `${c}/c`, demo, { body: '' })).status, 413);
    assert.equal((await swift(url, 'POST', `/v1/AUTH_${other.projectId}`, other.token, { headers: { 'x-account-meta-quota-bytes': '5' } })).status, 403);
    assert.equal((await swift(url, 'POST', `/v1/AUTH_${other.projectId}`, admin, { headers: { 'x-account-meta-quota-bytes': '5' } })).status, 204);
    await swift(url, 'PUT', `/v1/AUTH_${other.projectId}/q`, other.token);
    assert.equal((await swift(url, 'PUT', `/v1/AUTH_${other.projectId}/q/big`, other.token, { body: '123456' })).status, 413);
    assert.equal((await swift(url, 'PUT', `/v1/AUTH_${other.projectId}/q/small`, other.token, { body: '12345' })).status, 201);
  });

  it('expires objects at X-Delete-At / X-Delete-After, and the expirer removes them', async () => {
    const c = `${demoAccount}/expiring`;
    await swift(url, 'PUT', c, demo);
    const at = Math.floor(Date.now() / 1000) + 1;
    await swift(url, 'PUT', `${c}/soon`, demo, { body: 'bye', headers: { 'x-delete-at': String(at) } });
    assert.equal((await swift(url, 'HEAD', `${c}/soon`, demo)).headers.get('x-delete-at'), String(at));
    await swift(url, 'PUT', `${c}/later`, demo, { body: 'bye', headers: { 'x-delete-after': '3600' } });
    await new Promise((r) => setTimeout(r, 2100));
    assert.equal((await swift(url, 'GET', `${c}/soon`, demo)).status, 404);
    const { expireObjects } = await import('../../../src/services/object/objects.js');
    // The background expirer may have been first: either way, the expired row is gone after a pass.
    assert.ok((await expireObjects(tc.cloud.object)) <= 1);
    const ch = await swift(url, 'HEAD', c, demo);
    assert.equal(ch.headers.get('x-container-object-count'), '1');
  });

  it('serves DLO and SLO manifests, checking SLO segments\' etags and sizes', async () => {
    const c = `${demoAccount}/large`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${demoAccount}/segs`, demo);
    const parts = ['alpha-', 'beta-', 'gamma'];
    for (const [i, p] of parts.entries()) await swift(url, 'PUT', `${demoAccount}/segs/big/${i}`, demo, { body: p });
    assert.equal((await swift(url, 'PUT', `${c}/dlo`, demo, { body: '', headers: { 'x-object-manifest': 'segs/big/' } })).status, 201);
    const dlo = await swift(url, 'GET', `${c}/dlo`, demo);
    assert.equal(dlo.text, 'alpha-beta-gamma');
    assert.equal(dlo.headers.get('etag'), `"${md5(parts.map(md5).join(''))}"`);
    assert.equal((await swift(url, 'GET', `${c}/dlo`, demo, { headers: { range: 'bytes=4-8' } })).text, 'a-bet');
    const manifest = parts.map((p, i) => ({ path: `/segs/big/${i}`, etag: md5(p), size_bytes: p.length }));
    const slo = await swift(url, 'PUT', `${c}/slo?multipart-manifest=put`, demo, { body: JSON.stringify(manifest) });
    assert.equal(slo.status, 201, slo.text);
    assert.equal(slo.headers.get('etag'), `"${md5(parts.map(md5).join(''))}"`);
    const got = await swift(url, 'GET', `${c}/slo`, demo);
    assert.equal(got.text, 'alpha-beta-gamma');
    assert.equal(got.headers.get('x-static-large-object'), 'True');
    assert.equal((await swift(url, 'GET', `${c}/slo`, demo, { headers: { range: 'bytes=11-' } })).text, 'gamma');
    const raw = JSON.parse((await swift(url, 'GET', `${c}/slo?multipart-manifest=get`, demo)).text) as Array<Record<string, unknown>>;
    assert.equal(raw.length, 3);
    assert.equal(raw[0]?.name, '/segs/big/0');
    const listing = JSON.parse((await swift(url, 'GET', `${c}?format=json`, demo)).text) as Array<Record<string, unknown>>;
    assert.equal(listing.find((o) => o.name === 'slo')?.bytes, 16);
    const badEtag = await swift(url, 'PUT', `${c}/bad?multipart-manifest=put`, demo, { body: JSON.stringify([{ path: '/segs/big/0', etag: md5('nope'), size_bytes: 6 }]) });
    assert.equal(badEtag.status, 400);
    assert.match(badEtag.text, /Etag Mismatch/);
    const badSize = await swift(url, 'PUT', `${c}/bad?multipart-manifest=put`, demo, { body: JSON.stringify([{ path: '/segs/big/0', size_bytes: 7 }]) });
    assert.match(badSize.text, /Size Mismatch/);
    assert.equal((await swift(url, 'PUT', `${c}/bad?multipart-manifest=put`, demo, { body: '{nope' })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/bad?multipart-manifest=put`, demo, { body: JSON.stringify([{ path: '/segs/missing' }]) })).status, 400);
    assert.equal((await swift(url, 'PUT', `${c}/bad?multipart-manifest=put`, demo, { body: JSON.stringify(manifest), headers: { etag: 'abc' } })).status, 422);
    const del = await swift(url, 'DELETE', `${c}/slo?multipart-manifest=delete`, demo, { headers: { accept: 'application/json' } });
    assert.equal(del.status, 200);
    assert.equal((JSON.parse(del.text) as Record<string, unknown>)['Number Deleted'], 4);
    assert.equal((await swift(url, 'HEAD', `${demoAccount}/segs`, demo)).headers.get('x-container-object-count'), '0');
  });

  it('keeps old versions with X-Versions-Location (stack) and X-History-Location', async () => {
    await swift(url, 'PUT', `${demoAccount}/archive`, demo);
    await swift(url, 'PUT', `${demoAccount}/versioned`, demo, { headers: { 'x-versions-location': 'archive' } });
    for (const v of ['v1', 'v2', 'v3']) assert.equal((await swift(url, 'PUT', `${demoAccount}/versioned/doc`, demo, { body: v })).status, 201);
    assert.equal((await swift(url, 'GET', `${demoAccount}/versioned/doc`, demo)).text, 'v3');
    const archived = (await swift(url, 'GET', `${demoAccount}/archive`, demo)).text.split('\n').filter(Boolean);
    assert.equal(archived.length, 2);
    assert.ok(archived.every((n) => n.startsWith('003doc/')), archived.join(','));
    assert.equal((await swift(url, 'DELETE', `${demoAccount}/versioned/doc`, demo)).status, 204);
    assert.equal((await swift(url, 'GET', `${demoAccount}/versioned/doc`, demo)).text, 'v2', 'a DELETE brings the previous version back');
    assert.equal((await swift(url, 'HEAD', `${demoAccount}/archive`, demo)).headers.get('x-container-object-count'), '1');
    assert.equal((await swift(url, 'PUT', `${demoAccount}/both`, demo, { headers: { 'x-versions-location': 'a', 'x-history-location': 'b' } })).status, 400);
    await swift(url, 'PUT', `${demoAccount}/history`, demo);
    await swift(url, 'PUT', `${demoAccount}/kept`, demo, { headers: { 'x-history-location': 'history' } });
    for (const v of ['h1', 'h2']) await swift(url, 'PUT', `${demoAccount}/kept/doc`, demo, { body: v });
    assert.equal((await swift(url, 'DELETE', `${demoAccount}/kept/doc`, demo)).status, 204);
    assert.equal((await swift(url, 'GET', `${demoAccount}/kept/doc`, demo)).status, 404);
    assert.equal((await swift(url, 'HEAD', `${demoAccount}/history`, demo)).headers.get('x-container-object-count'), '2');
  });

  it('treats a ResellerAdmin as a reseller admin (it may set account quotas)', async () => {
    const reseller = await projectWithRoles(url, admin, 'swift-reseller', ['member', 'ResellerAdmin']);
    assert.equal((await swift(url, 'POST', demoAccount, reseller.token, { headers: { 'x-account-meta-quota-bytes': '100000000' } })).status, 204);
    assert.equal((await swift(url, 'HEAD', demoAccount, demo)).headers.get('x-account-meta-quota-bytes'), '100000000');
  });

  it('audits stored bytes against their md5 and quarantines a damaged object', async () => {
    const c = `${demoAccount}/audited`;
    await swift(url, 'PUT', c, demo);
    await swift(url, 'PUT', `${c}/healthy`, demo, { body: 'fine' });
    await swift(url, 'PUT', `${c}/damaged`, demo, { body: 'original bytes' });
    const account = demoAccount.slice('/v1/'.length);
    const row = await tc.cloud.object.records.object(account, 'audited', 'damaged');
    assert.ok(row);
    const path = join(tc.dataDir, 'objects', 'data', row.file.slice(0, 2), row.file);
    writeFileSync(path, 'bit-rotted byte');
    const { auditObjects } = await import('../../../src/services/object/auditor.js');
    const result = await auditObjects(tc.cloud.object);
    assert.equal(result.quarantined, 1);
    assert.ok(result.checked >= 2);
    assert.equal((await swift(url, 'GET', `${c}/damaged`, demo)).status, 404);
    assert.equal((await swift(url, 'GET', `${c}/healthy`, demo)).text, 'fine');
    assert.equal((await swift(url, 'HEAD', c, demo)).headers.get('x-container-object-count'), '1');
    assert.ok(existsSync(join(tc.dataDir, 'objects', 'quarantined', row.file)));
  });

  it('keeps counts exact under concurrent PUTs of one name, and never serves a mix', async () => {
    const c = `${demoAccount}/race`;
    await swift(url, 'PUT', c, demo);
    const bodies = Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000 + i, String.fromCharCode(65 + (i % 26))));
    const results = await Promise.all(bodies.map((b) => swift(url, 'PUT', `${c}/same`, demo, { body: b })));
    assert.ok(results.every((r) => r.status === 201));
    const got = await swift(url, 'GET', `${c}/same`, demo);
    assert.ok(bodies.some((b) => b.equals(got.bytes)), 'the object is exactly one of the bodies');
    const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => swift(url, 'PUT', `${c}/n${i}`, demo, { body: 'abcd' })));
    assert.ok(many.every((r) => r.status === 201));
    const ch = await swift(url, 'HEAD', c, demo);
    assert.equal(ch.headers.get('x-container-object-count'), '1001');
    assert.equal(ch.headers.get('x-container-bytes-used'), String(got.bytes.length + 1000 * 4));
    // One file per live object, none left behind by the replaced versions or in tmp/.
    const dataDir = join(tc.dataDir, 'objects', 'data');
    const files = readdirSync(dataDir).flatMap((d) => readdirSync(join(dataDir, d)));
    let live = 0;
    for (const account of [demoAccount, `/v1/AUTH_${other.projectId}`]) {
      live += Number((await swift(url, 'HEAD', account, admin)).headers.get('x-account-object-count'));
    }
    assert.equal(files.length, live);
    assert.deepEqual(readdirSync(join(tc.dataDir, 'objects', 'tmp')), []);
  });
});

async function rawRequest(base: string, text: string): Promise<string> {
  const { connect } = await import('node:net');
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}
