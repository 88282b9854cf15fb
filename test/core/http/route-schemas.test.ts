// Route schemas declared to Fastify (src/core/http/route-schemas.ts): a body that breaks the
// declared shape is a 400 naming the field, in the service's own error shape, and nothing is
// coerced, defaulted or dropped on the way to the handler.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyError, FastifyInstance } from 'fastify';
import { statusTitle, toApiError } from '../../../src/core/http/errors.js';
import { boolean, envelope, integer, nullableString, string, stringArray } from '../../../src/core/http/route-schemas.js';
import { createHttpServer } from '../../../src/core/http/server.js';
import { createLogger } from '../../../src/core/log.js';
import { Metrics } from '../../../src/core/metrics.js';

const PROJECT = envelope(
  'project',
  { name: string({ min: 1, max: 64 }), description: nullableString({ max: 20 }), enabled: boolean(), tags: stringArray({ maxItems: 2 }), size: integer({ minimum: 0 }) },
  { required: ['name'] },
);

async function build(): Promise<{ app: FastifyInstance; seen: unknown[] }> {
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Metrics() });
  const seen: unknown[] = [];
  await app.register(
    async (scope) => {
      // A Keystone-shaped service: its error handler is the only one that sees the failure.
      scope.setErrorHandler((error: FastifyError, _request, reply) => {
        const apiError = toApiError(error);
        reply.code(apiError.status).send({ error: { code: apiError.status, title: statusTitle(apiError.status), message: apiError.message } });
      });
      scope.post('/v3/projects', { schema: { body: PROJECT } }, async (request) => {
        seen.push(request.body);
        return { ok: true };
      });
    },
    { prefix: '/identity' },
  );
  return { app, seen };
}

describe('route schemas', () => {
  it('a body of the declared shape reaches the handler as sent, unknown members kept', async () => {
    const { app, seen } = await build();
    const body = { project: { name: 'p', description: null, enabled: false, tags: ['a'], email: 'x@example.org' } };
    const res = await app.inject({ method: 'POST', url: '/identity/v3/projects', payload: body });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(seen, [body]);
    await app.close();
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['no envelope', {}, /^Invalid input for field 'project': it is required\.$/],
    ['an envelope that is not an object', { project: 'x' }, /^Invalid input for field 'project': expected an object\.$/],
    ['a missing required member', { project: { description: 'd' } }, /^Invalid input for field 'project\.name': it is required\.$/],
    ['an empty required string', { project: { name: '' } }, /'project\.name': it must not be empty/],
    ['a string too long', { project: { name: 'x'.repeat(65) } }, /'project\.name': longer than 64 characters/],
    ['a string-looking boolean (never coerced)', { project: { name: 'p', enabled: 'true' } }, /'project\.enabled': expected a boolean/],
    ['a number for a string', { project: { name: 7 } }, /'project\.name': expected a string\./],
    ['a number for a nullable string', { project: { name: 'p', description: 3 } }, /'project\.description': expected a string or null/],
    ['a list too long', { project: { name: 'p', tags: ['a', 'b', 'c'] } }, /'project\.tags': more than 2 items/],
    ['a list of numbers', { project: { name: 'p', tags: [1] } }, /'project\.tags\.0': expected a string/],
    ['a float for an integer', { project: { name: 'p', size: 1.5 } }, /'project\.size': expected an integer/],
    ['an integer out of range', { project: { name: 'p', size: -1 } }, /'project\.size': out of range/],
    ['a list for the body', [], /'body': expected an object/],
  ];
  for (const [what, payload, message] of refused) {
    it(`${what} is a 400 in the service's error shape, naming the field`, async () => {
      const { app, seen } = await build();
      const res = await app.inject({ method: 'POST', url: '/identity/v3/projects', payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
      assert.equal(res.statusCode, 400, res.body);
      const error = res.json().error as { code: number; title: string; message: string };
      assert.equal(error.code, 400);
      assert.equal(error.title, 'Bad Request');
      assert.match(error.message, message);
      assert.deepEqual(seen, [], 'the handler never ran');
      await app.close();
    });
  }
});
