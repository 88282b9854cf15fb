import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envelope, optInt, queryBool, reqString } from '../../../src/core/http/body.js';
import { ApiError, toApiError } from '../../../src/core/http/errors.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createHttpServer, withoutSecrets } from '../../../src/core/http/server.js';
import { createLogger } from '../../../src/core/log.js';
import { Metrics } from '../../../src/core/metrics.js';

describe('the shared HTTP server', () => {
  const build = () => {
    const app = createHttpServer({ logger: createLogger('silent'), metrics: new Metrics() });
    app.get('/ok', async () => ({ ok: true }));
    app.get('/boom', async () => {
      throw new Error('internal detail that must not leak');
    });
    return app;
  };

  it('gives every response an x-openstack-request-id, errors included', async () => {
    const app = build();
    const ids = new Set<string>();
    for (const url of ['/ok', '/missing', '/boom']) {
      const response = await app.inject({ method: 'GET', url });
      const id = response.headers['x-openstack-request-id'];
      assert.match(String(id), /^req-[0-9a-f-]{36}$/);
      ids.add(String(id));
    }
    assert.equal(ids.size, 3);
    await app.close();
  });

  it('masks query tokens (console URLs carry one) in the access log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = createHttpServer({ logger: pino({ level: 'info' }, sink), metrics: new Metrics() });
    app.get('/ok', async () => ({ ok: true }));
    await app.inject({ method: 'GET', url: '/ok?path=x&token=s3cret-token&Token=other' });
    await app.close();
    const access = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request');
    assert.equal(access?.url, '/ok?path=x&token=***&Token=***');
    assert.doesNotMatch(lines.join(''), /s3cret-token|other/);
    assert.equal(withoutSecrets('/vnc/websockify?token=abc'), '/vnc/websockify?token=***');
    assert.equal(withoutSecrets('/servers?name=token=x'), '/servers?name=token=x', 'only a parameter named token');
  });

  it('counts requests by route template in /metrics', async () => {
    const app = build();
    await app.inject({ method: 'GET', url: '/ok' });
    await app.inject({ method: 'GET', url: '/ok' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /kumo_http_requests_total\{method="GET",route="\/ok",status="200"\} 2/);
    assert.match(metrics.body, /kumo_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /kumo_process_resident_memory_bytes/);
    await app.close();
  });
});

describe('errors', () => {
  it('keeps ApiErrors and turns framework 4xx into ApiErrors', () => {
    const mine = new ApiError(409, 'taken');
    assert.equal(toApiError(mine), mine);
    const parse = toApiError(Object.assign(new Error('Unexpected token'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }));
    assert.equal(parse.status, 400);
    assert.match(parse.message, /could not be parsed as JSON/);
    const media = toApiError(Object.assign(new Error('x'), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }));
    assert.equal(media.status, 415);
  });

  it('hides the detail of unexpected failures behind a generic 500', () => {
    const hidden = toApiError(new Error('password=hunter2'));
    assert.equal(hidden.status, 500);
    assert.doesNotMatch(hidden.message, /hunter2/);
  });

  it('maps a policy refusal to 403', () => {
    const refusal = Object.assign(new Error("Policy doesn't allow x to be performed."), { name: 'PolicyNotAuthorized' });
    assert.equal(toApiError(refusal).status, 403);
  });
});

describe('body readers', () => {
  it('name the field on a wrong type', () => {
    assert.throws(() => envelope([], 'project'), (e: unknown) => e instanceof ApiError && e.status === 400);
    assert.throws(() => envelope({ project: 'x' }, 'project'), /'project'/);
    assert.throws(() => reqString({ name: 3 }, 'name'), /'name': expected a string/);
    assert.throws(() => reqString({}, 'name'), /'name': it is required/);
    assert.throws(() => reqString({ name: 'x'.repeat(300) }, 'name', { max: 255 }), /longer than 255/);
    assert.throws(() => optInt({ n: 1.5 }, 'n'), /expected an integer/);
    assert.throws(() => optInt({ n: 99 }, 'n', { max: 10 }), /out of range/);
    assert.equal(optInt({ n: 5 }, 'n', { max: 10 }), 5);
  });

  it('read booleans from query strings as OpenStack spells them', () => {
    assert.equal(queryBool({ a: 'True' }, 'a'), true);
    assert.equal(queryBool({ a: '0' }, 'a'), false);
    assert.equal(queryBool({}, 'a'), undefined);
    assert.throws(() => queryBool({ a: 'maybe' }, 'a'), /expected a boolean/);
  });
});

describe('route schemas compiled on first use', () => {
  it('checks a body against its schema on the first request and every one after', async () => {
    const app = createHttpServer({ logger: createLogger('silent'), metrics: new Metrics() });
    app.post('/things', { schema: { body: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } }, required: ['size'] } } }, async (request) => request.body);
    await app.ready();
    assert.equal((await app.inject({ method: 'POST', url: '/things', payload: { size: 0 } })).statusCode, 400);
    const ok = await app.inject({ method: 'POST', url: '/things', payload: { size: 2 } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { size: 2 });
    const bad = await app.inject({ method: 'POST', url: '/things', payload: { size: '2' } });
    assert.equal(bad.statusCode, 400, 'no coercion: "2" is not an integer');
    assert.match(bad.body, /size/);
    await app.close();
  });

  it('leaves a schema uncompiled until asked, and compileRouteSchemas throws for a bad one', async () => {
    const app = createHttpServer({ logger: createLogger('silent'), metrics: new Metrics() });
    app.post('/good', { schema: { body: { type: 'object' } } }, async () => ({}));
    app.post('/broken', { schema: { body: { type: 'no-such-type' } } }, async () => ({}));
    await app.ready();
    assert.throws(() => app.compileRouteSchemas(), /type/);
    await app.close();
  });
});
