import { randomUUID } from 'node:crypto';
import {
  BusClosedError,
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
 * A tiny broker with RabbitMQ's delivery semantics, so code written against the in-process
 * bus behaves the same on RabbitMQ: a shared queue per topic (round-robin between its
 * consumers), an exclusive auto-delete queue per (topic, server), a queue per listener for
 * fanout, acknowledgement only after the handler finished (an abandoned delivery is
 * requeued for another consumer), and per-message expiry for calls.
 */

export interface InProcessBusOptions extends BusOptions {
  /**
   * Buses opened with the same broker name share one broker, so several "hosts" can live in
   * one process (tests, simulations). Without it the bus gets a broker of its own.
   */
  broker?: string;
}

interface Message {
  readonly body: string;
  readonly replyTo: { readonly queue: string; readonly correlationId: string } | undefined;
  /**
   * Set when the caller gave up: like RabbitMQ's per-message TTL, a request still queued then
   * is dropped rather than run late. Exact here, where the broker shares the caller's clock.
   */
  expired?: boolean;
}

type ReplySink = (correlationId: string, body: string) => void;

class Consumer {
  readonly inFlight = new Set<Message>();
  cancelled = false;
  constructor(
    readonly queue: MemQueue,
    readonly deliver: (consumer: Consumer, message: Message) => void,
  ) {}
}

class MemQueue {
  readonly messages: Message[] = [];
  readonly consumers: Consumer[] = [];
  private next = 0;
  private scheduled = false;

  constructor(
    readonly broker: Broker,
    readonly name: string,
    readonly autoDelete: boolean,
    /** The bus that may consume it, for exclusive queues. */
    readonly owner: InProcessBus | undefined,
  ) {}

  push(message: Message, front = false): void {
    if (front) this.messages.unshift(message);
    else this.messages.push(message);
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Delivery is never synchronous with the publish, as on a real wire.
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.messages.length > 0 && this.consumers.length > 0) {
      const message = this.messages.shift() as Message;
      if (message.expired) continue;
      this.next = this.next % this.consumers.length;
      const consumer = this.consumers[this.next] as Consumer;
      this.next++;
      consumer.inFlight.add(message);
      consumer.deliver(consumer, message);
    }
    // Expired calls must not pile up in a queue nobody consumes.
    let kept = 0;
    for (const message of this.messages) if (!message.expired) this.messages[kept++] = message;
    this.messages.length = kept;
  }

  addConsumer(deliver: Consumer['deliver']): Consumer {
    const consumer = new Consumer(this, deliver);
    this.consumers.push(consumer);
    this.schedule();
    return consumer;
  }

  /** Like a channel closing: unacknowledged messages go back to the head of the queue. */
  cancel(consumer: Consumer): void {
    if (consumer.cancelled) return;
    consumer.cancelled = true;
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
    const unacked = [...consumer.inFlight];
    consumer.inFlight.clear();
    if (this.autoDelete && this.consumers.length === 0) {
      this.broker.deleteQueue(this);
      return;
    }
    for (let i = unacked.length - 1; i >= 0; i--) this.push(unacked[i] as Message, true);
  }
}

class Broker {
  readonly queues = new Map<string, MemQueue>();
  readonly fanoutQueues = new Map<string, Set<MemQueue>>();
  readonly replySinks = new Map<string, ReplySink>();
  buses = 0;

  constructor(readonly name: string | undefined) {}

  queue(name: string, autoDelete: boolean, owner: InProcessBus | undefined): MemQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new MemQueue(this, name, autoDelete, owner);
      this.queues.set(name, queue);
    } else if (queue.owner !== undefined && queue.owner !== owner) {
      throw new BusError(`queue ${name} is exclusive to another bus: that server name is already taken`);
    }
    return queue;
  }

  deleteQueue(queue: MemQueue): void {
    if (this.queues.get(queue.name) === queue) this.queues.delete(queue.name);
    for (const [topic, set] of this.fanoutQueues) {
      if (set.delete(queue) && set.size === 0) this.fanoutQueues.delete(topic);
    }
  }

  /** Unroutable messages are dropped, as with an exchange that has no matching binding. */
  publish(queueName: string, message: Message): MemQueue | undefined {
    const queue = this.queues.get(queueName);
    queue?.push(message);
    return queue;
  }

  publishFanout(topic: string, body: string): void {
    for (const queue of this.fanoutQueues.get(topic) ?? []) {
      queue.push({ body, replyTo: undefined });
    }
  }

  reply(queue: string, correlationId: string, body: string): void {
    const sink = this.replySinks.get(queue);
    if (sink !== undefined) setImmediate(() => sink(correlationId, body));
  }
}

const namedBrokers = new Map<string, Broker>();

function acquireBroker(name: string | undefined): Broker {
  if (name === undefined) {
    const broker = new Broker(undefined);
    broker.buses++;
    return broker;
  }
  let broker = namedBrokers.get(name);
  if (broker === undefined) {
    broker = new Broker(name);
    namedBrokers.set(name, broker);
  }
  broker.buses++;
  return broker;
}

function releaseBroker(broker: Broker): void {
  broker.buses--;
  if (broker.buses === 0 && broker.name !== undefined && namedBrokers.get(broker.name) === broker) {
    namedBrokers.delete(broker.name);
  }
}

const sharedQueueName = (topic: string) => topic;
const serverQueueName = (topic: string, server: string) => `${topic}.${server}`;

interface PendingCall {
  readonly target: Target;
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

class InProcessListener implements ListenHandle {
  private readonly consumers: Consumer[] = [];
  private closed = false;

  constructor(
    private readonly bus: InProcessBus,
    readonly topic: string,
    readonly server: string,
    private readonly handler: Handler,
  ) {}

  attach(broker: Broker): void {
    const deliver = (consumer: Consumer, message: Message) => this.handle(consumer, message);
    // Take the exclusive queue first: if the server name is taken, nothing else is left behind.
    const serverQueue = broker.queue(serverQueueName(this.topic, this.server), true, this.bus);
    this.consumers.push(serverQueue.addConsumer(deliver));
    this.consumers.push(broker.queue(sharedQueueName(this.topic), false, undefined).addConsumer(deliver));
    const fanoutQueue = new MemQueue(broker, `${this.topic}_fanout.${randomUUID()}`, true, this.bus);
    let fanouts = broker.fanoutQueues.get(this.topic);
    if (fanouts === undefined) broker.fanoutQueues.set(this.topic, (fanouts = new Set()));
    fanouts.add(fanoutQueue);
    this.consumers.push(fanoutQueue.addConsumer(deliver));
  }

  private handle(consumer: Consumer, message: Message): void {
    void (async () => {
      let reply: string;
      let failure: unknown;
      try {
        const request = decodeRequest(message.body);
        reply = encodeReply(await this.handler(request.method, request.args), this.bus.maxMessageBytes);
      } catch (error) {
        failure = error;
        reply = encodeErrorReply(error);
      }
      // Cancelled meanwhile: the message went back to the queue, so this outcome is void.
      if (consumer.cancelled || !consumer.inFlight.delete(message)) return;
      if (message.replyTo !== undefined) {
        consumer.queue.broker.reply(message.replyTo.queue, message.replyTo.correlationId, reply);
      } else if (failure !== undefined) {
        this.bus.logger.warn({ topic: this.topic, server: this.server, ...errorFields(failure) }, 'bus handler failed on a cast');
      }
    })();
  }

  async close(): Promise<void> {
    this.abandon();
    this.bus.forget(this);
  }

  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers) consumer.queue.cancel(consumer);
    this.consumers.length = 0;
  }
}

export class InProcessBus implements Bus {
  readonly kind = 'memory' as const;
  readonly maxMessageBytes: number;
  readonly logger: BusLogger;
  private readonly defaultTimeoutMs: number;
  private readonly broker: Broker;
  private readonly replyQueue = `reply.${randomUUID()}`;
  private readonly pending = new Map<string, PendingCall>();
  private readonly listeners = new Set<InProcessListener>();
  private closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.defaultTimeoutMs = checkTimeout(options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS, 'defaultTimeoutMs');
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.logger = options.logger ?? silentLogger;
    this.broker = acquireBroker(options.broker);
    this.broker.replySinks.set(this.replyQueue, (correlationId, body) => this.onReply(correlationId, body));
  }

  async call(target: Target, method: string, args?: unknown, options: CallOptions = {}): Promise<unknown> {
    const to = checkTarget(target);
    checkMethod(method);
    const timeoutMs = checkTimeout(options.timeoutMs ?? this.defaultTimeoutMs);
    const body = encodeRequest(method, args, this.maxMessageBytes);
    this.assertOpen();
    const correlationId = randomUUID();
    return new Promise<unknown>((resolve, reject) => {
      const message: Message = { body, replyTo: { queue: this.replyQueue, correlationId } };
      let queue: MemQueue | undefined;
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        message.expired = true;
        queue?.schedule();
        reject(new BusTimeoutError(to, method, timeoutMs));
      }, timeoutMs);
      this.pending.set(correlationId, { target: to, method, resolve, reject, timer });
      queue = this.broker.publish(routingQueue(to), message);
    });
  }

  async cast(target: Target, method: string, args?: unknown, options: CallOptions = {}): Promise<void> {
    const to = checkTarget(target);
    checkMethod(method);
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    const body = encodeRequest(method, args, this.maxMessageBytes);
    this.assertOpen();
    this.broker.publish(routingQueue(to), { body, replyTo: undefined });
  }

  async fanout(topic: string, method: string, args?: unknown, options: CallOptions = {}): Promise<void> {
    checkTopic(topic);
    checkMethod(method);
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    const body = encodeRequest(method, args, this.maxMessageBytes);
    this.assertOpen();
    this.broker.publishFanout(topic, body);
  }

  async listen(topic: string, server: string, handler: Handler): Promise<ListenHandle> {
    checkTopic(topic);
    checkServer(server);
    if (typeof handler !== 'function') throw new TypeError('bus handler must be a function');
    this.assertOpen();
    const listener = new InProcessListener(this, topic, server, handler);
    listener.attach(this.broker);
    this.listeners.add(listener);
    return listener;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.listeners) listener.abandon();
    this.listeners.clear();
    this.broker.replySinks.delete(this.replyQueue);
    for (const call of this.pending.values()) {
      clearTimeout(call.timer);
      call.reject(new BusClosedError(`the bus was closed while ${call.method} was pending`));
    }
    this.pending.clear();
    releaseBroker(this.broker);
  }

  /** @internal */
  forget(listener: InProcessListener): void {
    this.listeners.delete(listener);
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }

  private onReply(correlationId: string, body: string): void {
    const call = this.pending.get(correlationId);
    if (call === undefined) return; // timed out already, or a redelivered request answered twice
    this.pending.delete(correlationId);
    clearTimeout(call.timer);
    try {
      const reply = decodeReply(body);
      if (reply.ok) call.resolve(reply.result);
      else call.reject(new RemoteError(reply.error, call.target, call.method));
    } catch (error) {
      call.reject(error instanceof Error ? error : new BusError(String(error)));
    }
  }
}

function routingQueue(target: Target): string {
  return target.server === undefined ? sharedQueueName(target.topic) : serverQueueName(target.topic, target.server);
}

export function openInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  return new InProcessBus(options);
}
