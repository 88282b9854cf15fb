/**
 * The message bus between the control plane and the agents, modelled on oslo.messaging:
 * RPC `call` with a reply, fire-and-forget `cast`, and `fanout` to every server of a topic.
 * Two adapters implement it (in-process for `kumo up`, RabbitMQ for split deployments);
 * both behave like the wire: every value crosses as JSON, so nothing relies on shared
 * object references.
 */

/** Where a message goes: any one server of `topic`, or exactly the one named `server`. */
export interface Target {
  topic: string;
  server?: string;
}

/** Serves requests on a topic. Its return value is the reply to a `call`; a throw becomes a RemoteError. */
export type Handler = (method: string, args: unknown) => Promise<unknown> | unknown;

export interface CallOptions {
  /** How long to wait for the reply (for `call`) or for the broker to accept the message (`cast`, `fanout`). */
  timeoutMs?: number;
}

export interface ListenHandle {
  readonly topic: string;
  readonly server: string;
  /**
   * Stops taking requests. Requests whose handler is still running are abandoned, as if the
   * consumer died: the broker hands them to another server of the topic, or their callers
   * time out. A handler cannot be interrupted, so it runs on, but its reply is dropped.
   */
  close(): Promise<void>;
}

export interface Bus {
  readonly kind: 'memory' | 'rabbitmq';
  /** RPC: resolves with the handler's return value, rejects with RemoteError, BusTimeoutError, ... */
  call(target: Target, method: string, args?: unknown, options?: CallOptions): Promise<unknown>;
  /** Fire and forget: resolves once the message is accepted, not when (or whether) it is handled. */
  cast(target: Target, method: string, args?: unknown, options?: CallOptions): Promise<void>;
  /** Delivers to every server currently listening on `topic`. */
  fanout(topic: string, method: string, args?: unknown, options?: CallOptions): Promise<void>;
  /**
   * Serves `topic` as host `server`: requests to the topic (shared with its other servers),
   * to `{ topic, server }`, and fanouts. Resolves once requests can arrive.
   */
  listen(topic: string, server: string, handler: Handler): Promise<ListenHandle>;
  /** Stops every listener of this bus and rejects its pending calls with BusClosedError. Idempotent. */
  close(): Promise<void>;
}

/** Structural subset of a pino logger, so the bus needs no logging library of its own. */
export interface BusLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BusOptions {
  /** Default for `CallOptions.timeoutMs`: 60 s, as oslo.messaging's rpc_response_timeout. */
  defaultTimeoutMs?: number;
  /** Largest encoded message accepted; kept well under RabbitMQ 4's 16 MiB default limit. */
  maxMessageBytes?: number;
  /** Where failures with nobody to report to go (a cast handler that throws, a lost connection). */
  logger?: BusLogger;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
/** setTimeout's ceiling; longer delays fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

// ---------------------------------------------------------------------------------------
// Errors

export class BusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusError';
  }
}

/** The remote handler threw; carries what it threw, by name and message, never its stack. */
export class RemoteError extends BusError {
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteCode: string | number | undefined;
  constructor(
    remote: RemoteErrorInfo,
    readonly target: Target,
    readonly method: string,
  ) {
    super(remote.message);
    this.name = 'RemoteError';
    this.remoteName = remote.name;
    this.remoteMessage = remote.message;
    this.remoteCode = remote.code;
  }
}

/** No reply in time: nobody serves the target, or its handler is slow or gone. It may still have run. */
export class BusTimeoutError extends BusError {
  constructor(
    readonly target: Target,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to ${method} on ${describeTarget(target)} within ${timeoutMs} ms`);
    this.name = 'BusTimeoutError';
  }
}

/** The bus was closed, before or while the operation was pending. */
export class BusClosedError extends BusError {
  constructor(message = 'the bus is closed') {
    super(message);
    this.name = 'BusClosedError';
  }
}

/** The broker connection failed or was lost; for a call, whether the request ran is unknown. */
export class BusConnectionError extends BusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusConnectionError';
  }
}

/** A value that cannot cross the wire as JSON unchanged (bigint, cycle, Date, NaN, ...), or too large. */
export class BusSerializationError extends BusError {
  constructor(message: string) {
    super(message);
    this.name = 'BusSerializationError';
  }
}

export function describeTarget(target: Target): string {
  return target.server === undefined
    ? `topic '${target.topic}'`
    : `topic '${target.topic}' server '${target.server}'`;
}

// ---------------------------------------------------------------------------------------
// Validation shared by the adapters, so both refuse exactly the same input.

// Topics carry no dots so `<topic>.<server>` names cannot collide; servers are host names.
const TOPIC_RE = /^[A-Za-z0-9_-]{1,64}$/;
const SERVER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

export function checkTopic(topic: unknown): string {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) {
    throw new TypeError(`bad bus topic ${JSON.stringify(topic)}: use 1-64 of [A-Za-z0-9_-]`);
  }
  return topic;
}

export function checkServer(server: unknown): string {
  if (typeof server !== 'string' || !SERVER_RE.test(server)) {
    throw new TypeError(`bad bus server name ${JSON.stringify(server)}: use 1-128 of [A-Za-z0-9_.:-]`);
  }
  return server;
}

export function checkTarget(target: unknown): Target {
  if (typeof target !== 'object' || target === null) throw new TypeError('bus target must be { topic, server? }');
  const { topic, server } = target as { topic?: unknown; server?: unknown };
  checkTopic(topic);
  if (server !== undefined) checkServer(server);
  return server === undefined ? { topic: topic as string } : { topic: topic as string, server: server as string };
}

export function checkMethod(method: unknown): string {
  if (typeof method !== 'string' || method.length === 0 || method.length > 200) {
    throw new TypeError(`bad bus method name ${JSON.stringify(method)}`);
  }
  return method;
}

export function checkTimeout(timeoutMs: unknown, what = 'timeoutMs'): number {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`${what} must be a number of milliseconds in (0, ${MAX_TIMEOUT_MS}], got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

// ---------------------------------------------------------------------------------------
// Wire format shared by the adapters. A request is `{"method":..,"args":..}`; a reply is
// `{"ok":true,"result":..}` or `{"ok":false,"error":{"name":..,"message":..,"code"?:..}}`.

export interface RemoteErrorInfo {
  name: string;
  message: string;
  code?: string | number;
}

export interface Request {
  method: string;
  args: unknown;
}

export type Reply = { ok: true; result: unknown } | { ok: false; error: RemoteErrorInfo };

const MAX_DEPTH = 256;

/**
 * Refuses what JSON.stringify would silently change or drop, so a value arrives as it was
 * sent. `undefined` is allowed as an object property (it vanishes, as optional fields do)
 * and as the whole value (no args, no result), but not inside an array (it would become null).
 */
export function assertJsonValue(value: unknown, path: string): void {
  const ancestors = new Set<object>();
  const visit = (v: unknown, at: string, depth: number): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new BusSerializationError(`${at} is ${String(v)}, which JSON cannot carry`);
        return;
      case 'undefined':
        return;
      case 'bigint':
      case 'symbol':
      case 'function':
        throw new BusSerializationError(`${at} is a ${typeof v}, which is not JSON-serialisable`);
      case 'object': {
        if (v === null) return;
        if (depth > MAX_DEPTH) throw new BusSerializationError(`${at} is nested deeper than ${MAX_DEPTH} levels`);
        if (ancestors.has(v)) throw new BusSerializationError(`${at} is a circular reference`);
        ancestors.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const item: unknown = v[i];
            if (item === undefined) throw new BusSerializationError(`${at}[${i}] is undefined, which JSON turns into null`);
            visit(item, `${at}[${i}]`, depth + 1);
          }
        } else {
          const proto: unknown = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
            throw new BusSerializationError(
              `${at} is a ${typeof name === 'string' && name ? name : 'non-plain object'}; only plain objects, arrays and primitives cross the bus`,
            );
          }
          for (const [key, item] of Object.entries(v)) visit(item, `${at}.${key}`, depth + 1);
        }
        ancestors.delete(v);
        return;
      }
    }
  };
  visit(value, path, 0);
}

function encode(envelope: object, maxBytes: number, what: string): string {
  const text = JSON.stringify(envelope);
  // Length in UTF-16 units is a lower bound of UTF-8 bytes, so only measure when it may matter.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) throw new BusSerializationError(`${what} is ${bytes} bytes encoded, over the bus limit of ${maxBytes}`);
  }
  return text;
}

export function encodeRequest(method: string, args: unknown, maxBytes: number): string {
  assertJsonValue(args, 'args');
  return encode({ method, args }, maxBytes, `${method} request`);
}

export function decodeRequest(text: string): Request {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) throw new BusSerializationError('malformed bus request');
  const { method, args } = value as { method?: unknown; args?: unknown };
  if (typeof method !== 'string') throw new BusSerializationError('malformed bus request: no method');
  return { method, args };
}

/** Encodes a handler's result; a result that cannot cross the wire becomes an error reply. */
export function encodeReply(result: unknown, maxBytes: number): string {
  try {
    assertJsonValue(result, 'result');
    return encode({ ok: true, result }, maxBytes, 'reply');
  } catch (error) {
    return encodeErrorReply(error);
  }
}

export function encodeErrorReply(error: unknown): string {
  return JSON.stringify({ ok: false, error: toRemoteErrorInfo(error) });
}

export function decodeReply(text: string): Reply {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null) {
    const { ok, result, error } = value as { ok?: unknown; result?: unknown; error?: unknown };
    if (ok === true) return { ok: true, result };
    if (ok === false && typeof error === 'object' && error !== null) {
      const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
      if (typeof name === 'string' && typeof message === 'string') {
        return {
          ok: false,
          error: typeof code === 'string' || typeof code === 'number' ? { name, message, code } : { name, message },
        };
      }
    }
  }
  throw new BusSerializationError('malformed bus reply');
}

export function toRemoteErrorInfo(error: unknown): RemoteErrorInfo {
  if (error instanceof Error) {
    // A subclass that forgot to set `name` still reports its class, as oslo does.
    const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
    const name = error.name !== 'Error' || typeof ctor !== 'string' || ctor === '' ? error.name : ctor;
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number'
      ? { name, message: error.message, code }
      : { name, message: error.message };
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export const silentLogger: BusLogger = { warn() {}, error() {} };

export function errorFields(error: unknown): object {
  return error instanceof Error ? { err: { type: error.name, message: error.message } } : { err: String(error) };
}
