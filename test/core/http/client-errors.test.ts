// Requests the HTTP parser refuses before any route sees them (headers too large, garbage
// request lines): the answer must arrive whole, say `Connection: close`, and the connection
// must end cleanly, so that a keep-alive client opens a new one instead of failing its next
// request with ECONNRESET.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../../../src/core/http/server.js';
import { createLogger } from '../../../src/core/log.js';
import { Metrics } from '../../../src/core/metrics.js';

/** Node's default limit on the request head is 16 KiB: this is well past it. */
const HUGE_HEADER = 'x'.repeat(40 * 1024);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, agent: Agent, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/ok', agent, headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes raw bytes on a fresh connection and reads until the server ends it; rejects on a reset. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('end', () => {
      socket.end();
      resolve(received);
    });
    socket.on('error', (error) => reject(Object.assign(error, { received })));
    socket.write(text);
  });
}

describe('requests the HTTP parser refuses', () => {
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = createHttpServer({ logger: createLogger('silent'), metrics: new Metrics() });
    app.get('/ok', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  after(async () => {
    await app.close();
  });

  it('answers 431 with Connection: close, and the next request on a keep-alive agent succeeds', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await get(port, agent)).status, 200);
      for (let round = 0; round < 5; round++) {
        const refused = await get(port, agent, { 'x-padding': HUGE_HEADER });
        assert.equal(refused.status, 431, `round ${round}`);
        assert.equal(refused.headers.connection, 'close', `round ${round}: the 431 says the connection ends`);
        assert.match(String(refused.headers['x-openstack-request-id']), /^req-[0-9a-f-]{36}$/);
        assert.equal(JSON.parse(refused.body).error?.code, 431);
        const next = await get(port, agent);
        assert.equal(next.status, 200, `round ${round}: the request after the 431`);
        assert.deepEqual(JSON.parse(next.body), { ok: true });
      }
    } finally {
      agent.destroy();
    }
  });

  it('answers a HEAD with too large headers with a 431 without a body, which a client can parse', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let round = 0; round < 3; round++) {
        const refused = await get(port, agent, { 'x-padding': HUGE_HEADER }, 'HEAD');
        assert.equal(refused.status, 431);
        assert.equal(refused.headers.connection, 'close');
        assert.equal(refused.body, '');
        assert.equal((await get(port, agent, {}, 'HEAD')).status, 200);
      }
    } finally {
      agent.destroy();
    }
  });

  it('delivers the whole 431 and ends the connection without a reset, even with unread bytes behind the head', async () => {
    // The rest of a pipelined request (and a body) is still unread when the parser gives up.
    const text = `GET /ok HTTP/1.1\r\nHost: x\r\nX-Padding: ${HUGE_HEADER}\r\n\r\n` + `POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n${'y'.repeat(65536)}`;
    const received = await raw(port, text);
    assert.match(received, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(received, /\r\nConnection: close\r\n/i);
    const body = received.slice(received.indexOf('\r\n\r\n') + 4);
    assert.equal(JSON.parse(body).error.code, 431);
  });

  it('answers a malformed request line with a 400 and Connection: close (no body: the method is unknown)', async () => {
    const received = await raw(port, 'GARBAGE\x01 / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(received, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(received, /\r\nConnection: close\r\n/i);
    assert.match(received, /\r\nContent-Length: 0\r\n/i);
    assert.equal(received.slice(received.indexOf('\r\n\r\n') + 4), '');
  });
});
