import { afterEach, after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  BusClosedError,
  BusError,
  BusSerializationError,
  BusTimeoutError,
  RemoteError,
  type Bus,
  type Handler,
  type OpenBusOptions,
} from '../../../src/core/bus/index.js';

/** Buses that all reach the same broker (RabbitMQ namespace or in-process broker). */
export interface BusWorld {
  open(options?: OpenBusOptions): Promise<Bus>;
  /** Deletes what the run declared and checks nothing per-connection was left behind. */
  cleanup(used: { topics: string[]; servers: Array<[topic: string, server: string]> }): Promise<void>;
}

export interface BusFixture {
  name: string;
  /** A reason to skip the whole suite (e.g. no broker reachable). */
  skip?: string | false;
  setup(): Promise<BusWorld>;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves with the promise's value or rejection reason, so either can be asserted. */
function settle(promise: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class NotFound extends Error {
  // No `name` on purpose: the bus must report the class name.
  readonly code = 'E404';
}

/**
 * The one contract both adapters must honour. Every test uses topics of its own and closes
 * every bus it opened, so a failing test cannot leak messages or consumers into the next.
 */
export function busSuite(fixture: BusFixture): void {
  describe(`Bus contract: ${fixture.name}`, { skip: fixture.skip ?? false }, () => {
    let world: BusWorld;
    let opened: Bus[] = [];
    const topics: string[] = [];
    const servers: Array<[string, string]> = [];

    before(async () => {
      world = await fixture.setup();
    });

    afterEach(async () => {
      await Promise.all(opened.map((bus) => bus.close()));
      opened = [];
    });

    after(async () => {
      await world?.cleanup({ topics, servers });
    });

    const open = async (options?: OpenBusOptions): Promise<Bus> => {
      const bus = await world.open(options);
      opened.push(bus);
      return bus;
    };
    const newTopic = (): string => {
      const topic = `t${topics.length + 1}`;
      topics.push(topic);
      return topic;
    };
    // A broken handler must fail its test, not hang the run.
    const test = (name: string, fn: (t: TestContext) => Promise<void>) => it(name, { timeout: 30_000 }, fn);
    const listen = (bus: Bus, topic: string, server: string, handler: Handler) => {
      servers.push([topic, server]);
      return bus.listen(topic, server, handler);
    };

    test('call returns the reply of a server of the topic', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      await listen(server, topic, 'host-a', (method, args) => ({ method, args, from: 'host-a' }));
      const args = { n: 1, s: 'é ✓', flag: true, none: null, nested: { list: [1, 'two', null, { three: 3 }] } };
      const reply = await client.call({ topic }, 'echo', args, { timeoutMs: 5000 });
      assert.deepEqual(reply, { method: 'echo', args, from: 'host-a' });
    });

    test('values cross as JSON, never as shared references, even within one bus', async () => {
      const bus = await open();
      const topic = newTopic();
      const kept: unknown[] = [];
      const stored = { list: [1, 2] };
      await listen(bus, topic, 'host-a', (method, args) => {
        kept.push(args);
        if (isRecord(args) && Array.isArray(args.list)) args.list.push('changed by handler');
        if (method === 'nothing') return undefined;
        return stored;
      });
      const sent = { list: ['a'], gone: undefined };
      const reply = await bus.call({ topic }, 'get', sent);
      assert.deepEqual(sent, { list: ['a'], gone: undefined });
      assert.deepEqual(kept[0], { list: ['a', 'changed by handler'] });
      assert.ok(isRecord(kept[0]) && !('gone' in kept[0]), 'undefined properties vanish, as on the wire');
      assert.notEqual(reply, stored);
      assert.deepEqual(reply, stored);
      if (isRecord(reply) && Array.isArray(reply.list)) reply.list.push(99);
      assert.deepEqual(stored, { list: [1, 2] });

      assert.equal(await bus.call({ topic }, 'nothing'), undefined);
      assert.equal(kept[1], undefined);
    });

    test('call to { topic, server } reaches exactly that server', async () => {
      const [a, b, client] = [await open(), await open(), await open()];
      const topic = newTopic();
      await listen(a, topic, 'host-a', () => 'host-a');
      await listen(b, topic, 'host-b', () => 'host-b');
      for (let i = 0; i < 8; i++) {
        assert.equal(await client.call({ topic, server: 'host-b' }, 'who'), 'host-b');
        assert.equal(await client.call({ topic, server: 'host-a' }, 'who'), 'host-a');
      }
    });

    test('calls without a server are shared round-robin between the topic servers', async () => {
      const [a, b, client] = [await open(), await open(), await open()];
      const topic = newTopic();
      await listen(a, topic, 'host-a', () => 'host-a');
      await listen(b, topic, 'host-b', () => 'host-b');
      const counts = new Map<unknown, number>();
      const total = 20;
      for (let i = 0; i < total; i++) {
        const who = await client.call({ topic }, 'who');
        counts.set(who, (counts.get(who) ?? 0) + 1);
      }
      assert.deepEqual([...counts.keys()].sort(), ['host-a', 'host-b']);
      for (const count of counts.values()) assert.ok(count >= total / 4, `uneven share: ${JSON.stringify([...counts])}`);
    });

    test('cast delivers without waiting for the handler, to the topic or to one server', async () => {
      const [a, b, client] = [await open(), await open(), await open()];
      const topic = newTopic();
      const received: Array<{ host: string; method: string; args: unknown }> = [];
      const gotTwo = deferred();
      const release = deferred();
      const handler = (host: string) => async (method: string, args: unknown) => {
        received.push({ host, method, args });
        if (received.length === 2) gotTwo.resolve();
        await release.promise;
        throw new Error('a cast handler failure has nobody to go to');
      };
      await listen(a, topic, 'host-a', handler('host-a'));
      await listen(b, topic, 'host-b', handler('host-b'));
      await client.cast({ topic, server: 'host-b' }, 'poke', { n: 1 });
      await client.cast({ topic }, 'poke', { n: 2 });
      await gotTwo.promise;
      release.resolve();
      const direct = received.find((r) => isRecord(r.args) && r.args.n === 1);
      assert.equal(direct?.host, 'host-b');
      assert.deepEqual(
        received.map((r) => r.args).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
        [{ n: 1 }, { n: 2 }],
      );
      await sleep(100);
      assert.equal(received.length, 2, 'each cast is handled once');
    });

    test('fanout reaches every listener of the topic, and only them', async () => {
      const [one, two, client] = [await open(), await open(), await open()];
      const topic = newTopic();
      const other = newTopic();
      const got: string[] = [];
      const allThree = deferred();
      const record = (who: string) => (method: string, args: unknown) => {
        got.push(`${who} ${method} ${JSON.stringify(args)}`);
        if (got.length === 3) allThree.resolve();
      };
      await listen(one, topic, 'host-a', record('host-a'));
      await listen(one, topic, 'host-b', record('host-b'));
      await listen(two, topic, 'host-c', record('host-c'));
      await listen(two, other, 'host-a', record('other-topic'));
      await client.fanout(topic, 'refresh', { generation: 7 });
      await allThree.promise;
      await sleep(100);
      assert.deepEqual(got.sort(), ['host-a', 'host-b', 'host-c'].map((h) => `${h} refresh {"generation":7}`));
    });

    test('a handler error rejects the call with RemoteError; the listener keeps serving', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      await listen(server, topic, 'host-a', async (method) => {
        if (method === 'class') throw new NotFound('no such instance');
        if (method === 'async') return Promise.reject(new TypeError('bad flavor'));
        if (method === 'string') throw 'a bare string';
        return 'fine';
      });
      const target = { topic };
      await assert.rejects(client.call(target, 'class'), (error: unknown) => {
        assert.ok(error instanceof RemoteError && error instanceof BusError);
        assert.equal(error.name, 'RemoteError');
        assert.equal(error.remoteName, 'NotFound');
        assert.equal(error.remoteMessage, 'no such instance');
        assert.equal(error.remoteCode, 'E404');
        assert.equal(error.method, 'class');
        assert.deepEqual(error.target, target);
        return true;
      });
      await assert.rejects(client.call(target, 'async'), { name: 'RemoteError', remoteName: 'TypeError', message: 'bad flavor' });
      await assert.rejects(client.call(target, 'string'), { name: 'RemoteError', remoteName: 'Error', remoteMessage: 'a bare string' });
      assert.equal(await client.call(target, 'other'), 'fine');
    });

    test('a call nobody serves rejects with BusTimeoutError after timeoutMs', async () => {
      const client = await open();
      const topic = newTopic();
      const started = Date.now();
      await assert.rejects(client.call({ topic, server: 'nobody' }, 'hello', {}, { timeoutMs: 300 }), (error: unknown) => {
        assert.ok(error instanceof BusTimeoutError);
        assert.equal(error.timeoutMs, 300);
        assert.deepEqual(error.target, { topic, server: 'nobody' });
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 3000, `timed out after ${elapsed} ms`);
      await assert.rejects(client.call({ topic }, 'hello', {}, { timeoutMs: 200 }), BusTimeoutError);
    });

    test('a handler that never answers times the call out; the listener stays usable', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      const release = deferred();
      await listen(server, topic, 'host-a', async (method) => {
        if (method === 'hang') await release.promise;
        return method;
      });
      const started = Date.now();
      await assert.rejects(client.call({ topic }, 'hang', null, { timeoutMs: 300 }), BusTimeoutError);
      assert.ok(Date.now() - started < 3000);
      release.resolve();
      // The late reply to the timed-out call must be ignored, not delivered to the next one.
      assert.equal(await client.call({ topic }, 'ping', null, { timeoutMs: 5000 }), 'ping');
    });

    test('a request that expires while queued is not run late', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      const first = await listen(server, topic, 'host-a', () => 'early');
      await first.close(); // the topic queue stays, with nobody consuming it
      await assert.rejects(client.call({ topic }, 'late', null, { timeoutMs: 200 }), BusTimeoutError);
      // Clear of the boundary: RabbitMQ starts the message's TTL when it arrives, a little after the call did.
      await sleep(50);
      const seen: string[] = [];
      await listen(server, topic, 'host-a', (method) => {
        seen.push(method);
        return method;
      });
      assert.equal(await client.call({ topic }, 'ping', null, { timeoutMs: 5000 }), 'ping');
      await sleep(100);
      assert.deepEqual(seen, ['ping']);
    });

    for (const how of ['its listener is closed', 'its bus is closed'] as const) {
      test(`a server that dies mid-call (${how}): redelivered to another server or timed out, never hung`, async (t) => {
        const [dying, survivor, client] = [await open(), await open(), await open()];
        const topic = newTopic();
        const started = deferred();
        const release = deferred();
        let dyingRuns = 0;
        const handle = await listen(dying, topic, 'host-dying', async () => {
          dyingRuns++;
          started.resolve();
          await release.promise;
          return 'from the dead';
        });
        const call = settle(client.call({ topic }, 'work', { job: 1 }, { timeoutMs: 3000 }));
        await started.promise;
        // Only now, so the request cannot have gone to the survivor first.
        await listen(survivor, topic, 'host-survivor', (method, args) => ({ method, args, from: 'survivor' }));
        if (how === 'its listener is closed') await handle.close();
        else await dying.close();
        const outcome = await call;
        release.resolve();
        if (outcome.ok) {
          assert.deepEqual(outcome.value, { method: 'work', args: { job: 1 }, from: 'survivor' });
          t.diagnostic('redelivered to the surviving server');
        } else {
          assert.ok(outcome.error instanceof BusTimeoutError, `unexpected ${String(outcome.error)}`);
          t.diagnostic('timed out');
        }
        await sleep(50);
        assert.equal(dyingRuns, 1);
        assert.equal(await client.call({ topic }, 'after', null, { timeoutMs: 5000 }).then((r) => isRecord(r) && r.from), 'survivor');
      });
    }

    test('serves hundreds of calls in flight at once', async () => {
      const [a, b, client] = [await open(), await open(), await open()];
      const topic = newTopic();
      const handler = (host: string) => async (_method: string, args: unknown) => {
        await sleep(Math.floor(Math.random() * 5));
        return { host, args };
      };
      await listen(a, topic, 'host-a', handler('host-a'));
      await listen(b, topic, 'host-b', handler('host-b'));
      const total = 600;
      const replies = await Promise.all(
        Array.from({ length: total }, (_, i) =>
          client.call(i % 3 === 0 ? { topic, server: 'host-b' } : { topic }, 'job', { i }, { timeoutMs: 20_000 }),
        ),
      );
      const hosts = new Map<unknown, number>();
      replies.forEach((reply, i) => {
        assert.ok(isRecord(reply));
        assert.deepEqual(reply.args, { i });
        if (i % 3 === 0) assert.equal(reply.host, 'host-b');
        hosts.set(reply.host, (hosts.get(reply.host) ?? 0) + 1);
      });
      assert.ok((hosts.get('host-a') ?? 0) > total / 6, JSON.stringify([...hosts]));
    });

    test('refuses values JSON cannot carry unchanged, before sending anything', async () => {
      const [server, client] = [await open(), await open({ maxMessageBytes: 4096 })];
      const topic = newTopic();
      const seen: unknown[] = [];
      await listen(server, topic, 'host-a', (method, args) => {
        seen.push(args);
        if (method === 'bigint') return { n: 1n };
        if (method === 'date') return new Date(0);
        return 'ok';
      });
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const bad: Array<[string, unknown, RegExp]> = [
        ['bigint', { n: 10n }, /args\.n is a bigint/],
        ['cycle', cyclic, /args\.self is a circular reference/],
        ['function', { f: () => 1 }, /args\.f is a function/],
        ['symbol', [Symbol('s')], /args\[0\] is a symbol/],
        ['NaN', { x: [1, Number.NaN] }, /args\.x\[1\] is NaN/],
        ['Infinity', Number.POSITIVE_INFINITY, /args is Infinity/],
        ['Date', { when: new Date(0) }, /args\.when is a Date/],
        ['Map', new Map([[1, 2]]), /args is a Map/],
        ['Buffer', { data: Buffer.from('x') }, /args\.data is a Buffer/],
        ['hole', [1, undefined], /args\[1\] is undefined/],
        ['too big', { blob: 'x'.repeat(5000) }, /over the bus limit/],
      ];
      for (const [what, args, message] of bad) {
        await assert.rejects(client.call({ topic }, 'm', args), (error: unknown) => {
          assert.ok(error instanceof BusSerializationError, `${what}: ${String(error)}`);
          assert.match(error.message, message, what);
          return true;
        });
        await assert.rejects(client.cast({ topic }, 'm', args), BusSerializationError, what);
        await assert.rejects(client.fanout(topic, 'm', args), BusSerializationError, what);
      }
      await assert.rejects(client.call({ topic }, 'bigint'), { name: 'RemoteError', remoteName: 'BusSerializationError' });
      await assert.rejects(client.call({ topic }, 'date'), { name: 'RemoteError', remoteName: 'BusSerializationError' });
      assert.deepEqual(seen, [undefined, undefined], 'none of the refused requests was sent');

      const badNames: Array<[() => Promise<unknown>, string]> = [
        [() => client.call({ topic: 'a.b' }, 'm'), 'dotted topic'],
        [() => client.call({ topic: '' }, 'm'), 'empty topic'],
        [() => client.cast({ topic, server: 'h#' }, 'm'), 'wildcard in server'],
        [() => client.fanout('*', 'm'), 'wildcard topic'],
        [() => client.call({ topic }, ''), 'empty method'],
        [() => client.listen(topic, '', () => 1), 'empty server'],
      ];
      for (const [attempt, what] of badNames) await assert.rejects(attempt(), TypeError, what);
      for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
        await assert.rejects(client.call({ topic }, 'm', null, { timeoutMs }), RangeError, String(timeoutMs));
      }
    });

    test('close rejects pending calls with BusClosedError and refuses further use', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      const release = deferred();
      const running = deferred();
      await listen(server, topic, 'host-a', async () => {
        running.resolve();
        await release.promise;
        return 'late';
      });
      const pending = client.call({ topic }, 'slow', null, { timeoutMs: 10_000 });
      await running.promise;
      const rejected = assert.rejects(pending, BusClosedError);
      const started = Date.now();
      await client.close();
      await rejected;
      assert.ok(Date.now() - started < 2000);
      release.resolve();
      await assert.rejects(client.call({ topic }, 'm'), BusClosedError);
      await assert.rejects(client.cast({ topic }, 'm'), BusClosedError);
      await assert.rejects(client.fanout(topic, 'm'), BusClosedError);
      await assert.rejects(client.listen(topic, 'host-b', () => 1), BusClosedError);
      await client.close();
    });

    test('a closed listener receives nothing more', async () => {
      const [server, client] = [await open(), await open()];
      const topic = newTopic();
      let runs = 0;
      const handle = await listen(server, topic, 'host-a', () => ++runs);
      assert.equal(await client.call({ topic, server: 'host-a' }, 'count'), 1);
      await handle.close();
      await handle.close();
      await assert.rejects(client.call({ topic, server: 'host-a' }, 'count', null, { timeoutMs: 200 }), BusTimeoutError);
      await client.fanout(topic, 'count');
      await sleep(100);
      assert.equal(runs, 1);
    });

    test('a server name on a topic belongs to one connection at a time', async () => {
      const [first, second] = [await open(), await open()];
      const topic = newTopic();
      await listen(first, topic, 'host-a', () => 'first');
      await assert.rejects(listen(second, topic, 'host-a', () => 'second'), BusError);
      // The same bus may serve it twice; the two then share its requests.
      await listen(first, topic, 'host-a', () => 'first');
      await first.close();
      await listen(second, topic, 'host-a', () => 'second');
      assert.equal(await second.call({ topic, server: 'host-a' }, 'who'), 'second');
    });

    test('a handler can itself call other topics', async () => {
      const [front, back, client] = [await open(), await open(), await open()];
      const [outer, inner] = [newTopic(), newTopic()];
      await listen(back, inner, 'host-b', (_method, args) => (typeof args === 'number' ? args * 2 : null));
      await listen(front, outer, 'host-a', async (_method, args) => {
        const doubled = await front.call({ topic: inner }, 'double', args);
        return { doubled };
      });
      assert.deepEqual(await client.call({ topic: outer }, 'work', 21), { doubled: 42 });
    });
  });
}
