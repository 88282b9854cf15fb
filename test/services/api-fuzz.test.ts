// Random requests at every API on the one port (identity, compute, image, networking), built
// from the server's own route table, as admin, as a project member and with no token: none may
// get a 5xx or go unanswered, and the process must still serve afterwards. On SQLite, and on
// PostgreSQL when KUMO_TEST_DATABASE_URL is set. Deterministic: KUMO_FUZZ_SEED picks another
// seed, KUMO_FUZZ_SCALE multiplies the number of requests. bench/api-fuzz.bench.ts runs the same
// fuzzer for 100,000 requests and more; test/services/fuzz-findings.test.ts keeps what it found.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestCloud, TEST_DATABASE_URL, type TestCloud } from '../helpers/cloud.js';
import { dropSchema } from '../helpers/databases.js';
import { describe as describeRequest, FuzzTally, fuzzRequests, learnFrom, prepareWorld, routeTable, send, stillServing, type FuzzWorld, type Route } from '../helpers/api-fuzz.js';

const SEED = Number(process.env.KUMO_FUZZ_SEED ?? 0x61706973);
const SCALE = Number(process.env.KUMO_FUZZ_SCALE ?? 1);
const REQUESTS = Math.max(1, Math.round(3000 * SCALE));

const ENGINES = [
  { name: 'SQLite', skip: false as const },
  { name: 'PostgreSQL', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

for (const engine of ENGINES) {
  describe(`every API under random requests, on ${engine.name}`, { skip: engine.skip, timeout: 300_000 }, () => {
    let tc: TestCloud;
    let schema: string | undefined;
    let world: FuzzWorld;
    let routes: Route[];
    let agent: Agent;
    const tally = new FuzzTally();

    before(async () => {
      schema = engine.name === 'PostgreSQL' ? `kumo_fuzz_${randomBytes(6).toString('hex')}` : undefined;
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      world = await prepareWorld(tc.url, await tc.token('admin'));
      routes = routeTable(tc.cloud.http);
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
    });

    after(async () => {
      agent?.destroy();
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
      if (tally.requests > 0) process.stdout.write(`# api fuzz on ${engine.name}: ${tally.requests} requests, seed ${SEED}, statuses ${tally.summary()}\n`);
    });

    it('has routes of all four APIs to aim at', () => {
      for (const prefix of ['/identity/v3/', '/compute/v2.1/', '/image/v2/', '/networking/v2.0/']) {
        assert.ok(routes.filter((r) => r.template.startsWith(prefix)).length >= 10, `routes under ${prefix}: ${routes.length} in all`);
      }
    });

    it('answers every request, with less than a 5xx and a request id', async () => {
      const details = await fc.check(
        fc.asyncProperty(fuzzRequests(routes, world), async (req) => {
          let answer;
          try {
            answer = await send(tc.url, req, agent);
          } catch (error) {
            answer = error instanceof Error ? error : new Error(String(error));
          }
          const failures = tally.failureCount;
          tally.record(req, answer);
          if (!(answer instanceof Error)) learnFrom(world, req, answer);
          if (tally.failureCount > failures) throw new Error(`${tally.failures.at(-1)?.outcome}\n  for ${describeRequest(req)}`);
        }),
        { seed: SEED, numRuns: REQUESTS, endOnFailure: true },
      );
      if (details.failed) {
        const cause = 'errorInstance' in details ? details.errorInstance : undefined;
        assert.fail(`after ${details.numRuns} requests (KUMO_FUZZ_SEED=${SEED}): ${cause instanceof Error ? cause.message : String(cause)}`);
      }
      assert.equal(tally.requests, REQUESTS);
    });

    it('still serves every API, and the callers are still who they were', async () => {
      assert.deepEqual(await stillServing(world), []);
    });
  });
}
