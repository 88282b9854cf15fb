/**
 * The long fuzz run: BENCH_FUZZ_REQUESTS (default 100,000) random requests at every API of a
 * real `kumo up` (the fuzzer of test/helpers/api-fuzz.ts, which CI runs briefly), as admin,
 * project member and no token, BENCH_FUZZ_CONCURRENCY (4) at a time. Prints the requests, the
 * 5xx answers and other failures (with the first examples), the distinct status codes, the
 * duration, and whether the process still serves. BENCH_FUZZ_SEED picks another seed;
 * BENCH_FUZZ_DATABASE_URL (postgres://...) runs the cloud on PostgreSQL, in a schema of its own.
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import fc from 'fast-check';
import { startTestCloud } from '../test/helpers/cloud.js';
import { dropSchema } from '../test/helpers/databases.js';
import { FuzzTally, fuzzRequests, learnFrom, prepareWorld, routeTable, send, stillServing, type FuzzRequest } from '../test/helpers/api-fuzz.js';
import { adminToken } from './lib/auth.js';
import { startKumo } from './lib/kumo-process.js';
import { table } from './lib/load.js';

const REQUESTS = Number(process.env.BENCH_FUZZ_REQUESTS ?? 100_000);
const CONCURRENCY = Number(process.env.BENCH_FUZZ_CONCURRENCY ?? 4);
const SEED = Number(process.env.BENCH_FUZZ_SEED ?? 0x61706973);
/** Requests drawn at a time (each batch from its own seed, so memory stays flat). */
const BATCH = 500;
const DATABASE_URL = process.env.BENCH_FUZZ_DATABASE_URL;

async function main(): Promise<void> {
  // The route table of this build, from a cloud started in this process for the purpose.
  const probe = await startTestCloud();
  const routes = routeTable(probe.cloud.http);
  await probe.stop();

  const schema = DATABASE_URL ? `kumo_fuzz_${randomBytes(6).toString('hex')}` : undefined;
  const kumo = await startKumo(DATABASE_URL ? { KUMO_DATABASE_URL: DATABASE_URL, KUMO_DATABASE_SCHEMA: schema } : {});
  try {
    const { token } = await adminToken(kumo.url, kumo.adminPassword);
    const world = await prepareWorld(kumo.url, token);
    const tally = new FuzzTally();
    const agents = Array.from({ length: CONCURRENCY }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    const arbitrary = fuzzRequests(routes, world);
    const started = performance.now();
    let nextReport = started + 30_000;
    for (let done = 0, batch = 0; done < REQUESTS; batch++) {
      const requests: FuzzRequest[] = fc.sample(arbitrary, { seed: SEED + batch, numRuns: Math.min(BATCH, REQUESTS - done) });
      let next = 0;
      await Promise.all(
        agents.map(async (agent) => {
          while (next < requests.length) {
            const req = requests[next++] as FuzzRequest;
            try {
              const answer = await send(kumo.url, req, agent);
              tally.record(req, answer);
              learnFrom(world, req, answer);
            } catch (error) {
              tally.record(req, error instanceof Error ? error : new Error(String(error)));
            }
          }
        }),
      );
      done += requests.length;
      if (performance.now() > nextReport) {
        process.stderr.write(`api fuzz: ${done.toLocaleString('en-US')} requests, ${tally.failureCount} failures\n`);
        nextReport += 30_000;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    for (const agent of agents) agent.destroy();
    const serving = await stillServing(world);
    const alive = kumo.child.exitCode === null && kumo.child.signalCode === null;

    process.stdout.write(`\n## Fuzzing every API (kumo up, ${DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, fake compute driver; seed ${SEED}, ${CONCURRENCY} requests at a time, ${routes.length} routes)\n\n`);
    const fiveHundreds = [...tally.statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    process.stdout.write(
      table(
        ['requests', '5xx answers', 'other failures (no answer, no request id)', 'distinct status codes', 'duration s', 'requests/s', 'process alive and serving after'],
        [[tally.requests, fiveHundreds, tally.failureCount - fiveHundreds, tally.statuses.size, seconds, tally.requests / seconds, alive && serving.length === 0 ? 'yes' : `no: ${serving.join('; ')}`]],
      ) + '\n\n',
    );
    process.stdout.write(`Status codes: ${tally.summary()}\n`);
    if (tally.failures.length > 0) {
      process.stdout.write(`\nThe first ${tally.failures.length} failures:\n\n`);
      for (const f of tally.failures) process.stdout.write(`- ${f.outcome.replace(/\s+/g, ' ')}\n  for ${f.request}\n`);
    }
    if (tally.failureCount > 0 || !alive || serving.length > 0) process.exitCode = 1;
  } finally {
    await kumo.stop();
    if (DATABASE_URL && schema) await dropSchema(DATABASE_URL, schema);
  }
}

await main();
