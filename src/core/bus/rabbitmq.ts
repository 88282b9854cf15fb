import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  connect,
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type RecoveringChannelModel,
} from 'amqplib';
import {
  BusClosedError,
  BusConnectionError,
  BusError,
  BusTimeoutError,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_TIMEOUT_MS,
  RemoteError,
  checkMethod,
  checkServer,
  checkTarget,
  checkTimeout,
  checkTopic,
  decodeReply,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  encodeRequest,
  errorFields,
  silentLogger,
  type Bus,
  type BusLogger,
  type BusOptions,
  type CallOptions,
  type Handler,
  type ListenHandle,
  type Target,
} from './bus.js';

/*
 * Layout, after oslo.messaging's rabbit driver:
 *   exchange <ns>                  topic exchange for call/cast
 *   queue    <ns>.<topic>          shared by every server of the topic (round-robin), bound by key <topic>
 *   queue    <ns>.<topic>.<server> exclusive to one connection, bound by key <topic>.<server>
 *   exchange <ns>.<topic>_fanout   fanout exchange, one exclusive auto-delete queue per listener
 *   queue    <ns>.reply.<uuid>     per-connection reply queue; replies carry the correlation id
 * Everything is non-durable: desired state lives in the database and agents reconcile from it,
 * so the bus carries nothing worth surviving a broker restart.
 */

export interface RabbitBusOptions extends BusOptions {
  /** Prefix of every exchange and queue name, so several clouds (or test runs) can share a vhost. */
  namespace?: string;
  /** Requests a listener runs at once; more wait, unacknowledged, in the broker. */
  prefetch?: number;
  /** Shown in RabbitMQ's connection list. */
  connectionName?: string;
  /** Attempts after a failed first connection before openBus gives up (default 0: fail fast). */
  connectRetries?: number;
  /** Backoff bounds for reconnecting after a lost connection. */
  reconnectDelayMs?: { initial?: number; max?: number };
}

const NAMESPACE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_PREFETCH = 64;
const RELISTEN_DELAY_MS = { initial: 1000, max: 30_000 };

/** Broker object names, exported so tooling and tests can find (and delete) what the bus declares. */
export const rabbitNames = {
  exchange: (ns: string) => ns,
  sharedQueue: (ns: string, topic: string) => `${ns}.${topic}`,
  serverQueue: (ns: string, topic: string, server: string) => `${ns}.${topic}.${server}`,
  fanoutExchange: (ns: string, topic: string) => `${ns}.${topic}_fanout`,
  fanoutQueue: (ns: string, topic: string) => `${ns}.${topic}_fanout.${randomUUID()}`,
  replyQueue: (ns: string) => `${ns}.reply.${randomUUID()}`,
};

/** One live AMQP connection and the channels hanging off it; replaced wholesale on reconnect. */
interface Link {
  readonly generation: number;
  readonly model: ChannelModel;
  readonly publisher: ConfirmChannel;
  readonly replyQueue: string;
  readonly fanoutExchanges: Set<string>;
  alive: boolean;
}

interface PendingCall {
  readonly target: Target;
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Link the request went out on; its replies die with it. */
  generation: number;
}

interface LinkWaiter {
  readonly resolve: (link: Link) => void;
  readonly reject: (error: Error) => void;
}

const noop = (): void => {};

export async function openRabbitBus(url: string, options: RabbitBusOptions = {}): Promise<RabbitBus> {
  const bus = new RabbitBus(url, options);
  await bus.start();
  return bus;
}

export class RabbitBus implements Bus {
  readonly kind = 'rabbitmq' as const;
  readonly namespace: string;
  readonly maxMessageBytes: number;
  readonly logger: BusLogger;
  readonly prefetch: number;
  private readonly defaultTimeoutMs: number;
  private connection: RecoveringChannelModel | undefined;
  private link: Link | undefined;
  private generation = 0;
  private readonly waiters = new Set<LinkWaiter>();
  private readonly pending = new Map<string, PendingCall>();
  private readonly listeners = new Set<RabbitListener>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly url: string,
    private readonly options: RabbitBusOptions = {},
  ) {
    this.namespace = options.namespace ?? 'kumo';
    if (!NAMESPACE_RE.test(this.namespace)) {
      throw new TypeError(`bad bus namespace ${JSON.stringify(this.namespace)}: use 1-64 of [A-Za-z0-9_-]`);
    }
    this.defaultTimeoutMs = checkTimeout(options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS, 'defaultTimeoutMs');
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.logger = options.logger ?? silentLogger;
    this.prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1 || this.prefetch > 65535) {
      throw new RangeError(`prefetch must be an integer in [1, 65535], got ${this.prefetch}`);
    }
  }

  /** @internal Connects; openRabbitBus calls it. */
  async start(): Promise<void> {
    const connection = await connect(this.url, {
      // RPC is small request/reply messages: Nagle's algorithm would add tens of ms to each.
      noDelay: true,
      clientProperties: { connection_name: this.options.connectionName ?? `kumo ${hostname()} pid ${process.pid}` },
      recovery: {
        waitForConnect: false,
        initialMaxRetries: this.options.connectRetries ?? 0,
        initialDelay: this.options.reconnectDelayMs?.initial ?? 100,
        maxDelay: this.options.reconnectDelayMs?.max ?? 10_000,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.connection = connection;
    // An EventEmitter 'error' without a listener would crash the process.
    connection.on('error', (error: Error) => this.logger.warn(errorFields(error), 'RabbitMQ connection error'));
    connection.on('disconnect', (error: Error) =>
      this.logger.warn(errorFields(error), 'lost the RabbitMQ connection; reconnecting'),
    );
    connection.on('connect-failed', (error: Error) =>
      this.logger.warn(errorFields(error), 'could not connect to RabbitMQ'),
    );
    connection.on('reconnect-failed', (error: Error) => this.giveUp(error));
    try {
      await connection.waitForConnect();
    } catch (error) {
      await connection.close().catch(noop);
      this.closed = true;
      throw new BusConnectionError(`cannot connect to RabbitMQ at ${redact(this.url)}: ${describeError(error)}`, { cause: error });
    }
  }

  /** Runs on every (re)connection, before the library reports it connected; a throw makes it retry. */
  private async setup(model: ChannelModel): Promise<void> {
    const generation = ++this.generation;
    model.on('error', noop);
    const publisher = await model.createConfirmChannel();
    const replies = await model.createChannel();
    const link: Link = {
      generation,
      model,
      publisher,
      replyQueue: rabbitNames.replyQueue(this.namespace),
      fanoutExchanges: new Set(),
      alive: true,
    };
    model.on('close', () => this.linkLost(link));
    // A failed publish or a deleted reply queue leaves the link half-working: start afresh.
    const restart = (what: string) => (error?: Error) => {
      // Channels report their end before the connection does; only a lone channel failure needs this.
      setImmediate(() => {
        if (!link.alive || this.closed) return;
        this.logger.warn({ channel: what, ...(error ? errorFields(error) : {}) }, 'RabbitMQ channel failed; reconnecting');
        model.close().catch(noop);
      });
    };
    publisher.on('error', restart('publish'));
    publisher.on('close', restart('publish'));
    replies.on('error', restart('reply'));
    replies.on('close', restart('reply'));

    await publisher.assertExchange(rabbitNames.exchange(this.namespace), 'topic', { durable: false });
    await replies.assertQueue(link.replyQueue, { exclusive: true, autoDelete: true, durable: false });
    await replies.consume(link.replyQueue, (msg) => this.onReply(msg, link, restart('reply')), { noAck: true });
    for (const listener of [...this.listeners]) {
      try {
        await listener.attach(link);
      } catch (error) {
        if (!link.alive) throw error;
        // One listener's trouble (its server name taken meanwhile) must not keep the whole bus down.
        this.logger.warn({ topic: listener.topic, server: listener.server, ...errorFields(error) }, 'bus listener could not resume');
        listener.retryLater();
      }
    }
    if (this.closed) throw new BusClosedError();
    this.link = link;
    for (const waiter of this.waiters) waiter.resolve(link);
    this.waiters.clear();
  }

  private linkLost(link: Link): void {
    link.alive = false;
    if (this.link === link) this.link = undefined;
    for (const [id, call] of this.pending) {
      if (call.generation !== link.generation) continue;
      this.pending.delete(id);
      clearTimeout(call.timer);
      call.reject(new BusConnectionError(`lost the RabbitMQ connection while ${call.method} was pending; it may or may not have run`));
    }
  }

  private giveUp(error: Error): void {
    this.failure = new BusConnectionError(`gave up reconnecting to RabbitMQ: ${error.message}`, { cause: error });
    this.logger.error(errorFields(error), 'gave up reconnecting to RabbitMQ');
    for (const waiter of this.waiters) waiter.reject(this.failure);
    this.waiters.clear();
  }

  /** The live link, waiting for a reconnection up to `deadline`. */
  private waitForLink(deadline: number, onTimeout: () => Error): Promise<Link> {
    if (this.closed) return Promise.reject(new BusClosedError());
    if (this.failure) return Promise.reject(this.failure);
    if (this.link?.alive) return Promise.resolve(this.link);
    return new Promise<Link>((resolve, reject) => {
      const waiter: LinkWaiter = {
        resolve: (link) => {
          clearTimeout(timer);
          resolve(link);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(onTimeout());
      }, Math.max(0, deadline - Date.now()));
      this.waiters.add(waiter);
    });
  }

  async call(target: Target, method: string, args?: unknown, options: CallOptions = {}): Promise<unknown> {
    const to = checkTarget(target);
    checkMethod(method);
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.defaultTimeoutMs);
    const body = Buffer.from(encodeRequest(method, args, this.maxMessageBytes), 'utf8');
    if (this.closed) throw new BusClosedError();
    const deadline = Date.now() + timeoutMs;
    const correlationId = randomUUID();

    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(correlationId)) reject(new BusTimeoutError(to, method, timeoutMs));
      }, timeoutMs);
      const call: PendingCall = { target: to, method, resolve, reject, timer, generation: -1 };
      this.pending.set(correlationId, call);
      const fail = (error: Error) => {
        if (!this.pending.delete(correlationId)) return;
        clearTimeout(timer);
        reject(error);
      };

      this.waitForLink(deadline, () => new BusTimeoutError(to, method, timeoutMs)).then((link) => {
        if (!this.pending.has(correlationId)) return;
        call.generation = link.generation;
        try {
          link.publisher.publish(
            rabbitNames.exchange(this.namespace),
            routingKey(to),
            body,
            {
              correlationId,
              replyTo: link.replyQueue,
              // A request nobody picked up before the caller gave up is dropped, not run late.
              expiration: String(Math.max(1, deadline - Date.now())),
              contentType: 'application/json',
              type: method,
              deliveryMode: 1,
            },
            (error: unknown) => {
              if (error) fail(new BusConnectionError(`RabbitMQ did not accept ${method}: ${describeError(error)}`));
            },
          );
        } catch (error) {
          fail(new BusConnectionError(`cannot publish ${method}: ${describeError(error)}`, { cause: error }));
        }
      }, fail);
    });
  }

  async cast(target: Target, method: string, args?: unknown, options: CallOptions = {}): Promise<void> {
    const to = checkTarget(target);
    checkMethod(method);
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.defaultTimeoutMs);
    const body = Buffer.from(encodeRequest(method, args, this.maxMessageBytes), 'utf8');
    if (this.closed) throw new BusClosedError();
    await this.publishConfirmed(rabbitNames.exchange(this.namespace), routingKey(to), body, method, timeoutMs);
  }

  async fanout(topic: string, method: string, args?: unknown, options: CallOptions = {}): Promise<void> {
    checkTopic(topic);
    checkMethod(method);
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.defaultTimeoutMs);
    const body = Buffer.from(encodeRequest(method, args, this.maxMessageBytes), 'utf8');
    if (this.closed) throw new BusClosedError();
    const exchange = rabbitNames.fanoutExchange(this.namespace, topic);
    await this.publishConfirmed(exchange, '', body, method, timeoutMs, async (link) => {
      // Publishing to a missing exchange would close the channel, so declare it first.
      if (link.fanoutExchanges.has(exchange)) return;
      await link.publisher.assertExchange(exchange, 'fanout', { durable: false });
      link.fanoutExchanges.add(exchange);
    });
  }

  private async publishConfirmed(
    exchange: string,
    key: string,
    body: Buffer,
    method: string,
    timeoutMs: number,
    prepare?: (link: Link) => Promise<void>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const notAccepted = () => new BusConnectionError(`RabbitMQ did not accept ${method} within ${timeoutMs} ms`);
    const link = await this.waitForLink(deadline, notAccepted);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          if (prepare) await prepare(link);
          await new Promise<void>((resolve, reject) => {
            link.publisher.publish(
              exchange,
              key,
              body,
              { contentType: 'application/json', type: method, deliveryMode: 1 },
              (error: unknown) => (error ? reject(new BusConnectionError(`RabbitMQ did not accept ${method}: ${describeError(error)}`)) : resolve()),
            );
          });
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(notAccepted()), Math.max(0, deadline - Date.now()));
        }),
      ]);
    } catch (error) {
      if (error instanceof BusError) throw error;
      if (this.closed) throw new BusClosedError();
      throw new BusConnectionError(`cannot publish ${method}: ${describeError(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async listen(topic: string, server: string, handler: Handler): Promise<ListenHandle> {
    checkTopic(topic);
    checkServer(server);
    if (typeof handler !== 'function') throw new TypeError('bus handler must be a function');
    if (this.closed) throw new BusClosedError();
    const listener = new RabbitListener(this, topic, server, handler);
    this.listeners.add(listener);
    const deadline = Date.now() + this.defaultTimeoutMs;
    try {
      for (;;) {
        const link = await this.waitForLink(deadline, () => new BusConnectionError('not connected to RabbitMQ'));
        try {
          await listener.attach(link);
          return listener;
        } catch (error) {
          // The connection dropped mid-way: the next setup attaches every listener anyway.
          if (link.alive || this.closed) throw error;
        }
      }
    } catch (error) {
      this.listeners.delete(listener);
      await listener.close();
      if (error instanceof BusError || error instanceof TypeError) throw error;
      throw new BusError(`cannot listen on ${topic} as ${server}: ${describeError(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closing = (async () => {
      for (const call of this.pending.values()) {
        clearTimeout(call.timer);
        call.reject(new BusClosedError(`the bus was closed while ${call.method} was pending`));
      }
      this.pending.clear();
      for (const waiter of this.waiters) waiter.reject(new BusClosedError());
      this.waiters.clear();
      for (const listener of this.listeners) listener.abandon();
      this.listeners.clear();
      this.link = undefined;
      // Closing the connection requeues every unacknowledged request for the topic's other servers.
      await this.connection?.close().catch(noop);
    })();
    return this.closing;
  }

  /** @internal */
  forget(listener: RabbitListener): void {
    this.listeners.delete(listener);
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  currentLink(): Link | undefined {
    return this.link?.alive ? this.link : undefined;
  }

  private onReply(msg: ConsumeMessage | null, link: Link, restart: () => void): void {
    if (msg === null) {
      restart();
      return;
    }
    const correlationId: unknown = msg.properties.correlationId;
    if (typeof correlationId !== 'string') return;
    const call = this.pending.get(correlationId);
    // Unknown: timed out already, or a redelivered request answered a second time.
    if (call === undefined || call.generation !== link.generation) return;
    this.pending.delete(correlationId);
    clearTimeout(call.timer);
    try {
      const reply = decodeReply(msg.content.toString('utf8'));
      if (reply.ok) call.resolve(reply.result);
      else call.reject(new RemoteError(reply.error, call.target, call.method));
    } catch (error) {
      call.reject(error instanceof Error ? error : new BusError(String(error)));
    }
  }
}

class RabbitListener implements ListenHandle {
  private channel: Channel | undefined;
  private generation = -1;
  private attaching: { generation: number; promise: Promise<void> } | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private relistenDelayMs = RELISTEN_DELAY_MS.initial;
  private closed = false;

  constructor(
    private readonly bus: RabbitBus,
    readonly topic: string,
    readonly server: string,
    private readonly handler: Handler,
  ) {}

  /** Declares this listener's queues on `link` and starts consuming; shared by concurrent callers. */
  attach(link: Link): Promise<void> {
    if (this.closed || this.generation >= link.generation) return Promise.resolve();
    if (this.attaching?.generation === link.generation) return this.attaching.promise;
    const promise = this.doAttach(link).finally(() => {
      if (this.attaching?.promise === promise) this.attaching = undefined;
    });
    this.attaching = { generation: link.generation, promise };
    return promise;
  }

  private async doAttach(link: Link): Promise<void> {
    const ns = this.bus.namespace;
    const channel = await link.model.createChannel();
    channel.on('error', (error: Error) =>
      this.bus.logger.warn({ topic: this.topic, server: this.server, ...errorFields(error) }, 'bus listener channel error'),
    );
    channel.on('close', () => this.channelClosed(channel, link));
    try {
      // Per channel (global), so one listener runs at most `prefetch` requests at once.
      await channel.prefetch(this.bus.prefetch, true);
      const exchange = rabbitNames.exchange(ns);
      await channel.assertExchange(exchange, 'topic', { durable: false });
      // The exclusive queue first: if another connection holds this server name, fail before consuming anything.
      const serverQueue = rabbitNames.serverQueue(ns, this.topic, this.server);
      await channel.assertQueue(serverQueue, { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(serverQueue, exchange, `${this.topic}.${this.server}`);
      const sharedQueue = rabbitNames.sharedQueue(ns, this.topic);
      await channel.assertQueue(sharedQueue, { durable: false, autoDelete: false });
      await channel.bindQueue(sharedQueue, exchange, this.topic);
      const fanoutExchange = rabbitNames.fanoutExchange(ns, this.topic);
      await channel.assertExchange(fanoutExchange, 'fanout', { durable: false });
      const fanoutQueue = rabbitNames.fanoutQueue(ns, this.topic);
      await channel.assertQueue(fanoutQueue, { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(fanoutQueue, fanoutExchange, '');
      if (this.closed || !link.alive) {
        await channel.close().catch(noop);
        return;
      }
      // Adopt the channel before consuming: a reply is only sent on the listener's current channel.
      const previous = this.channel;
      this.channel = channel;
      this.generation = link.generation;
      if (previous && previous !== channel) previous.close().catch(noop);
      for (const queue of [serverQueue, sharedQueue, fanoutQueue]) {
        await channel.consume(queue, (msg) => this.onMessage(channel, msg), { noAck: false });
      }
    } catch (error) {
      if (this.channel === channel) {
        this.channel = undefined;
        this.generation = -1;
      }
      await channel.close().catch(noop);
      if (isResourceLocked(error)) {
        throw new BusError(`server name '${this.server}' on topic '${this.topic}' is already served by another connection`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  private channelClosed(channel: Channel, link: Link): void {
    if (this.channel !== channel) return;
    this.channel = undefined;
    this.generation = -1;
    // The connection's loss is handled by reconnection; a lone channel lost (queue deleted
    // under us, a broker-side error) is re-established here.
    if (this.closed || !link.alive || this.bus.isClosed) return;
    this.retryLater();
  }

  /** @internal Attaches again after a pause, backing off while it keeps failing. */
  retryLater(): void {
    if (this.relistenTimer || this.closed) return;
    const delay = this.relistenDelayMs;
    this.relistenDelayMs = Math.min(delay * 2, RELISTEN_DELAY_MS.max);
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = undefined;
      const link = this.bus.currentLink();
      // No link: the reconnection's setup attaches every listener.
      if (this.closed || !link) return;
      this.attach(link).then(
        () => (this.relistenDelayMs = RELISTEN_DELAY_MS.initial),
        (error: unknown) => {
          this.bus.logger.warn({ topic: this.topic, server: this.server, ...errorFields(error) }, 'bus listener could not resume');
          this.retryLater();
        },
      );
    }, delay);
  }

  private onMessage(channel: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a fresh channel.
      if (this.channel === channel) channel.close().catch(noop);
      return;
    }
    void this.handle(channel, msg);
  }

  private async handle(channel: Channel, msg: ConsumeMessage): Promise<void> {
    let reply: string;
    let failure: unknown;
    try {
      const request = decodeRequest(msg.content.toString('utf8'));
      reply = encodeReply(await this.handler(request.method, request.args), this.bus.maxMessageBytes);
    } catch (error) {
      failure = error;
      reply = encodeErrorReply(error);
    }
    // Our channel is gone or going: the broker requeues the request for another server, so stay silent.
    if (this.closed || this.channel !== channel) return;
    const replyTo: unknown = msg.properties.replyTo;
    const correlationId: unknown = msg.properties.correlationId;
    try {
      if (typeof replyTo === 'string' && typeof correlationId === 'string') {
        channel.publish('', replyTo, Buffer.from(reply, 'utf8'), { correlationId, contentType: 'application/json', deliveryMode: 1 });
      } else if (failure !== undefined) {
        this.bus.logger.warn({ topic: this.topic, server: this.server, ...errorFields(failure) }, 'bus handler failed on a cast');
      }
      // Acknowledged only now, so a consumer dying mid-request leaves it to be redelivered.
      channel.ack(msg);
    } catch {
      // The channel closed between the check and the publish; the request is requeued.
    }
  }

  async close(): Promise<void> {
    this.abandon();
    this.bus.forget(this);
    const channel = this.channel;
    this.channel = undefined;
    // Closing the channel cancels the consumers and requeues what they had not acknowledged.
    if (channel) await channel.close().catch(noop);
  }

  /** Stops everything without waiting on the broker, for when the whole connection is going away. */
  abandon(): void {
    this.closed = true;
    clearTimeout(this.relistenTimer);
    this.relistenTimer = undefined;
  }
}

function routingKey(target: Target): string {
  return target.server === undefined ? target.topic : `${target.topic}.${target.server}`;
}

function isResourceLocked(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 405;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL without its password, fit for logs and error messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}
