// Long work in turns (src/core/cooperative.ts and its users): results are exactly what the
// one-go versions give, and other work gets the event loop while a long piece is under way.
// What is asserted is the interleaving, never a duration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Fastify from 'fastify';
import { sql } from 'kysely';
import { filterInTurns, mapInTurns, pace, SLICE_MS } from '../../src/core/cooperative.js';
import { openDatabase } from '../../src/core/db/database.js';
import { BIG_ARRAY, serializeBigRepliesInTurns, stringifyInTurns } from '../../src/core/http/json-replies.js';

/** Holds the event loop for `ms`, as a slow piece of synchronous work would. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Runs `work` and says whether a callback queued just before it got a turn before it finished. */
async function othersGetATurn(work: () => Promise<unknown>): Promise<boolean> {
  let ran = false;
  setImmediate(() => (ran = true));
  await work();
  return ran;
}

describe('work in turns', () => {
  it('pace() lets the turn run for its slice, then asks to yield', async () => {
    await new Promise((r) => setImmediate(r));
    assert.equal(pace(), undefined, 'a fresh turn');
    let other = false;
    setImmediate(() => (other = true));
    busy(SLICE_MS + 2);
    const pause = pace();
    assert.ok(pause, 'the slice is spent');
    await pause;
    assert.ok(other, 'I/O and immediates queued before ran while we waited');
    assert.equal(pace(), undefined, 'a new turn after the yield');
  });

  it('maps and filters as map and filter do, handing the loop over along the way', async () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    const slow = (i: number) => {
      busy(0.5);
      return i * 2;
    };
    let mapped: number[] = [];
    assert.ok(await othersGetATurn(async () => (mapped = await mapInTurns(items, slow))));
    assert.deepEqual(mapped, items.map((i) => i * 2));
    let kept: number[] = [];
    assert.ok(await othersGetATurn(async () => (kept = await filterInTurns(items, (i) => slow(i) % 3 === 0))));
    assert.deepEqual(kept, items.filter((i) => (i * 2) % 3 === 0));
    assert.deepEqual(await mapInTurns([], slow), []);
  });
});

describe('JSON replies with big lists', () => {
  it('serialize to exactly what JSON.stringify gives', async () => {
    const bigList = fc.array(fc.jsonValue(), { minLength: BIG_ARRAY, maxLength: BIG_ARRAY + 20 });
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.oneof(bigList, fc.jsonValue())), bigList, async (object, list) => {
        assert.equal(await stringifyInTurns(object), JSON.stringify(object));
        assert.equal(await stringifyInTurns(list), JSON.stringify(list));
        const withBig = { ...object, items: list };
        assert.equal(await stringifyInTurns(withBig), JSON.stringify(withBig));
      }),
      { numRuns: 30 },
    );
    const odd = { a: undefined, f: () => 1, when: new Date(0), items: Array.from({ length: BIG_ARRAY }, (_, i) => (i % 2 ? undefined : { i })) };
    assert.equal(await stringifyInTurns(odd), JSON.stringify(odd));
  });

  it('go out whole, as JSON, with the loop handed over while they are written', async () => {
    const ports = Array.from({ length: 3000 }, (_, i) => ({ id: `port-${i}`, name: 'x'.repeat(50), fixed_ips: [{ ip_address: `10.0.${i >> 8}.${i & 255}` }] }));
    const app = Fastify();
    serializeBigRepliesInTurns(app);
    app.get('/ports', async () => ({ ports, ports_links: [{ rel: 'next', href: 'http://x/?marker=1' }] }));
    app.get('/few', async () => ({ ports: ports.slice(0, 3) }));
    app.get('/error', async (_request, reply) => reply.code(409).send({ NeutronError: { message: 'no' } }));
    // Slow items: each takes a while to serialize, as a big rendered port does.
    app.get('/slow', async () => ({ items: Array.from({ length: BIG_ARRAY }, (_, i) => ({ toJSON: () => (busy(0.1), i) })) }));
    for (const url of ['/ports', '/few', '/error']) {
      const response = await app.inject({ method: 'GET', url });
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const expected = url === '/ports' ? { ports, ports_links: [{ rel: 'next', href: 'http://x/?marker=1' }] } : url === '/few' ? { ports: ports.slice(0, 3) } : { NeutronError: { message: 'no' } };
      assert.equal(response.body, JSON.stringify(expected), url);
      assert.equal(response.headers['content-length'], String(Buffer.byteLength(response.body)));
    }
    let body = '';
    assert.ok(await othersGetATurn(async () => (body = (await app.inject({ method: 'GET', url: '/slow' })).body)));
    assert.deepEqual(JSON.parse(body).items, Array.from({ length: BIG_ARRAY }, (_, i) => i));
    await app.close();
  });
});

describe('SQLite in turns', () => {
  it('reads big results whole and in order, handing the loop over between rows', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      const db = database.tables<Record<string, never>>();
      const count = 200_000;
      let rows: Array<{ x: number }> = [];
      assert.ok(
        await othersGetATurn(async () => {
          rows = (await sql<{ x: number }>`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${count}) SELECT x FROM c`.execute(db)).rows;
        }),
      );
      assert.equal(rows.length, count);
      assert.ok(rows.every((row, i) => row.x === i + 1));
    } finally {
      await database.close();
    }
  });

  it('keeps concurrent statements and transactions apart while reads are paused', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      const db = database.tables<{ t: { id: number; v: string } }>();
      await db.schema.createTable('t').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('v', 'text').execute();
      const values = Array.from({ length: 20_000 }, (_, i) => ({ id: i, v: `v${i}` }));
      for (let i = 0; i < values.length; i += 500) await db.insertInto('t').values(values.slice(i, i + 500)).execute();
      // Reads that pause mid-way, a transaction and single writes, all at once: better-sqlite3
      // refuses any statement while another is being iterated, so the mutex must hold.
      const reads = Array.from({ length: 4 }, () => db.selectFrom('t').selectAll().orderBy('id').execute());
      const transaction = db.transaction().execute(async (tx) => {
        await tx.insertInto('t').values({ id: -1, v: 'in a transaction' }).execute();
        busy(SLICE_MS + 1);
        await tx.updateTable('t').set({ v: 'changed' }).where('id', '=', 0).execute();
      });
      const writes = Array.from({ length: 20 }, (_, i) => db.insertInto('t').values({ id: 100_000 + i, v: 'w' }).execute());
      const [listed] = await Promise.all([Promise.all(reads), transaction, Promise.all(writes)]);
      for (const rows of listed) assert.ok(rows.length >= values.length && rows.length <= values.length + 21);
      const after = await db.selectFrom('t').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), values.length + 21);
      assert.equal((await db.selectFrom('t').select('v').where('id', '=', 0).executeTakeFirstOrThrow()).v, 'changed');
    } finally {
      await database.close();
    }
  });

  it('hands the loop over between the statements of a long chain', async () => {
    const database = await openDatabase('sqlite::memory:');
    try {
      const db = database.tables<Record<string, never>>();
      assert.ok(
        await othersGetATurn(async () => {
          for (let i = 0; i < 3; i++) {
            busy(SLICE_MS + 1);
            await sql`SELECT 1`.execute(db);
          }
        }),
      );
    } finally {
      await database.close();
    }
  });
});
