import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { BusConnectionError, BusTimeoutError, openBus, rabbitNames, type Bus } from '../../../src/core/bus/index.js';
import { busSuite } from './suite.js';

const RABBITMQ_URL = process.env.KUMO_TEST_BUS_URL ?? process.env.KUMO_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** Unique per run, so parallel or aborted runs never share exchanges or queues. */
const RUN = `kumotest_${process.pid}_${randomBytes(4).toString('hex')}`;

busSuite({
  name: 'in-process',
  async setup() {
    const url = `memory:${RUN}`;
    return {
      open: (options) => openBus(url, options),
      async cleanup() {
        // Nothing to delete: the named broker goes away with its last bus.
      },
    };
  },
});

// CI must run these; a laptop without a broker skips them rather than failing.
const rabbitSkip = (await reachable(RABBITMQ_URL)) || process.env.CI ? false : `no RabbitMQ at ${RABBITMQ_URL}`;

busSuite({
  name: 'RabbitMQ',
  skip: rabbitSkip,
  async setup() {
    return {
      open: (options) => openBus(RABBITMQ_URL, { namespace: RUN, connectionName: `kumo bus test ${RUN}`, ...options }),
      async cleanup({ topics, servers }) {
        const connection = await amqp.connect(RABBITMQ_URL);
        try {
          // Per-connection queues must already be gone with the buses that declared them.
          const leftovers: string[] = [];
          for (const [topic, server] of servers) {
            const queue = rabbitNames.serverQueue(RUN, topic, server);
            if (await queueExists(connection, queue)) leftovers.push(queue);
          }
          const channel = await connection.createChannel();
          for (const topic of topics) {
            await channel.deleteQueue(rabbitNames.sharedQueue(RUN, topic));
            await channel.deleteExchange(rabbitNames.fanoutExchange(RUN, topic));
          }
          await channel.deleteExchange(rabbitNames.exchange(RUN));
          await channel.close();
          assert.deepEqual(leftovers, [], 'exclusive server queues outlived their connections');
        } finally {
          await connection.close();
        }
      },
    };
  },
});

describe('openBus', () => {
  it('refuses an unknown URL scheme without echoing credentials', async () => {
    await assert.rejects(openBus('redis://user:secret@localhost'), (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, /unsupported bus URL/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });

  it('gives each plain memory: bus a broker of its own', async () => {
    const [a, b] = [await openBus('memory:'), await openBus('memory:')];
    try {
      assert.equal(a.kind, 'memory');
      await a.listen('isolated', 'host-a', () => 'a');
      await assert.rejects(b.call({ topic: 'isolated' }, 'who', null, { timeoutMs: 100 }), { name: 'BusTimeoutError' });
      assert.equal(await a.call({ topic: 'isolated' }, 'who'), 'a');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails fast with BusConnectionError when RabbitMQ is unreachable', async () => {
    const started = Date.now();
    await assert.rejects(openBus('amqp://guest:secret@127.0.0.1:1'), (error: unknown) => {
      assert.ok(error instanceof BusConnectionError);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });
});

describe('RabbitMQ adapter beyond the contract', { skip: rabbitSkip }, () => {
  const ns = `${RUN}_x`;
  const open = (url: string) =>
    openBus(url, { namespace: ns, reconnectDelayMs: { initial: 50, max: 300 }, defaultTimeoutMs: 5000 });

  it('survives losing its connection: fails what it must, reconnects, and listens again', { timeout: 30_000 }, async () => {
    const proxy = await startProxy(RABBITMQ_URL);
    const buses: Bus[] = [];
    try {
      const server = await open(proxy.url);
      const caller = await open(proxy.url);
      const direct = await open(RABBITMQ_URL);
      buses.push(server, caller, direct);
      await server.listen('svc', 'h1', async (method) => {
        if (method === 'slow') await new Promise((r) => setTimeout(r, 300));
        return method;
      });
      assert.equal(await direct.call({ topic: 'svc' }, 'ping'), 'ping');

      // One call served through the cut connection, one sent through it.
      const served = settle(direct.call({ topic: 'svc' }, 'slow', null, { timeoutMs: 5000 }));
      const sent = settle(caller.call({ topic: 'svc' }, 'slow', null, { timeoutMs: 5000 }));
      await new Promise((r) => setTimeout(r, 100));
      proxy.cut();
      const lost = await sent;
      assert.ok(!lost.ok && lost.error instanceof BusConnectionError, String(lost.ok || lost.error));

      // Sent during the outage: waits for the reconnection within its timeout.
      const during = caller.call({ topic: 'svc' }, 'ping', null, { timeoutMs: 5000 });
      await new Promise((r) => setTimeout(r, 300));
      proxy.resume();
      assert.equal(await during, 'ping');
      const redelivered = await served;
      assert.ok(redelivered.ok ? redelivered.value === 'slow' : redelivered.error instanceof BusTimeoutError);
      assert.equal(await direct.call({ topic: 'svc', server: 'h1' }, 'ping'), 'ping');
    } finally {
      await Promise.all(buses.map((bus) => bus.close()));
      await proxy.close();
    }
  });

  it('listens again when the broker deletes its queue under it', { timeout: 30_000 }, async () => {
    const [server, client] = [await open(RABBITMQ_URL), await open(RABBITMQ_URL)];
    const admin = await amqp.connect(RABBITMQ_URL);
    try {
      await server.listen('fragile', 'h1', (method) => method);
      assert.equal(await client.call({ topic: 'fragile' }, 'ping'), 'ping');
      const channel = await admin.createChannel();
      await channel.deleteQueue(rabbitNames.sharedQueue(ns, 'fragile'));
      await channel.close();
      // The listener re-declares its queues after a short pause; until then calls time out.
      const deadline = Date.now() + 10_000;
      let answer: unknown;
      while (answer === undefined && Date.now() < deadline) {
        answer = await client.call({ topic: 'fragile' }, 'ping', null, { timeoutMs: 500 }).catch(() => undefined);
      }
      assert.equal(answer, 'ping');
    } finally {
      await Promise.all([server.close(), client.close()]);
      await admin.close();
    }
  });

  after(async () => {
    const admin = await amqp.connect(RABBITMQ_URL);
    const channel = await admin.createChannel();
    for (const topic of ['svc', 'fragile']) {
      await channel.deleteQueue(rabbitNames.sharedQueue(ns, topic));
      await channel.deleteExchange(rabbitNames.fanoutExchange(ns, topic));
    }
    await channel.deleteExchange(rabbitNames.exchange(ns));
    await admin.close();
  });
});

/** A TCP relay to the broker whose connections can be cut, to simulate a network failure. */
async function startProxy(brokerUrl: string) {
  const broker = new URL(brokerUrl);
  const sockets = new Set<Socket>();
  let accepting = true;
  const server = createServer((client) => {
    if (!accepting) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect({ host: broker.hostname, port: Number(broker.port || 5672) });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = new URL(brokerUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut() {
      accepting = false;
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      accepting = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function settle(promise: Promise<unknown>): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function queueExists(connection: amqp.ChannelModel, queue: string): Promise<boolean> {
  // A missing queue closes the channel it was checked on, hence a channel per check.
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  try {
    await channel.checkQueue(queue);
    await channel.close();
    return true;
  } catch {
    return false;
  }
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: hostname, port: Number(port || 5672) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
