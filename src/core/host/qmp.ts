import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { JsonLineSplitter } from './json-lines.js';

/**
 * A client for QEMU's machine protocol (QMP) over a unix socket: the QEMU driver's `-qmp` (everything
 * it asks a running guest: state, power, VNC, hot-plug) and qemu-storage-daemon's `--monitor`
 * (the nbd volume backend's exports).
 * Types follow QEMU 7.2's qapi schema (qapi/run-state.json, ui.json, block-core.json, qdev.json).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** qapi RunState. */
export type QmpRunState =
  | 'debug' | 'inmigrate' | 'internal-error' | 'io-error' | 'paused' | 'postmigrate' | 'prelaunch'
  | 'finish-migrate' | 'restore-vm' | 'running' | 'save-vm' | 'shutdown' | 'suspended' | 'watchdog'
  | 'guest-panicked' | 'colo';

/** qapi StatusInfo (`singlestep` is deprecated in newer QEMUs, so optional). */
export interface QmpStatusInfo {
  running: boolean;
  singlestep?: boolean;
  status: QmpRunState;
}

export type QmpNetworkAddressFamily = 'ipv4' | 'ipv6' | 'unix' | 'vsock' | 'unknown';

/** qapi VncClientInfo. */
export interface QmpVncClientInfo {
  host: string;
  service: string;
  family: QmpNetworkAddressFamily;
  websocket: boolean;
  x509_dname?: string;
  sasl_username?: string;
}

/** qapi VncInfo: the optional members are present only when VNC is enabled. */
export interface QmpVncInfo {
  enabled: boolean;
  host?: string;
  family?: QmpNetworkAddressFamily;
  service?: string;
  auth?: string;
  clients?: QmpVncClientInfo[];
}

/** qapi BlockdevOptions is a union over ~50 drivers; the driver builds the members it needs. */
export interface QmpBlockdevOptions {
  driver: string;
  'node-name': string;
  [member: string]: JsonValue;
}

/** device_add takes the device's qdev properties as members next to driver/id/bus. */
export interface QmpDeviceAddArgs {
  driver: string;
  id?: string;
  bus?: string;
  [property: string]: JsonValue | undefined;
}

/** QMP's empty success reply, `{"return": {}}`. */
export type QmpEmpty = Record<string, never>;

/** The commands the QEMU driver sends: arguments (undefined = none) and what each returns. */
export interface QmpCommands {
  qmp_capabilities: { args: undefined; returns: QmpEmpty };
  'query-status': { args: undefined; returns: QmpStatusInfo };
  cont: { args: undefined; returns: QmpEmpty };
  stop: { args: undefined; returns: QmpEmpty };
  system_powerdown: { args: undefined; returns: QmpEmpty };
  system_reset: { args: undefined; returns: QmpEmpty };
  quit: { args: undefined; returns: QmpEmpty };
  'query-vnc': { args: undefined; returns: QmpVncInfo };
  /** The HMP text output; the escape hatch for what QMP lacks (e.g. `info registers`). */
  'human-monitor-command': { args: { 'command-line': string; 'cpu-index'?: number }; returns: string };
  'blockdev-add': { args: QmpBlockdevOptions; returns: QmpEmpty };
  'blockdev-del': { args: { 'node-name': string }; returns: QmpEmpty };
  device_add: { args: QmpDeviceAddArgs; returns: QmpEmpty };
  device_del: { args: { id: string }; returns: QmpEmpty };
  /** qapi ObjectOptions (flat since QEMU 6.0): here the tls-creds-psk an NBD node needs. */
  'object-add': { args: { 'qom-type': string; id: string; [property: string]: JsonValue }; returns: QmpEmpty };
  'object-del': { args: { id: string }; returns: QmpEmpty };
  /** Grows a node (online extend of a volume); `size` in bytes. */
  block_resize: { args: { 'node-name': string; size: number }; returns: QmpEmpty };
  /** qemu-storage-daemon: exports a node over the running NBD server (qapi BlockExportOptions). */
  'block-export-add': { args: { type: 'nbd'; id: string; 'node-name': string; name?: string; writable?: boolean }; returns: QmpEmpty };
  /** Ends an export; `hard` drops its clients (a soft delete waits for them to go). */
  'block-export-del': { args: { id: string; mode?: 'safe' | 'hard' }; returns: QmpEmpty };
  'query-block-exports': { args: undefined; returns: Array<{ id: string; type: string; 'node-name': string; 'shutting-down': boolean }> };
  /** A point-in-time copy of a node into another (the in-use snapshot of an exported volume). */
  'blockdev-backup': { args: { 'job-id': string; device: string; target: string; sync: 'full' | 'top' | 'none' }; returns: QmpEmpty };
  'query-jobs': { args: undefined; returns: Array<{ id: string; type: string; status: string; error?: string }> };
  'job-dismiss': { args: { id: string }; returns: QmpEmpty };
  /** Per-device I/O counters (qapi BlockStats; only the members diagnostics read). */
  'query-blockstats': { args: undefined; returns: Array<{ device?: string; qdev?: string; 'node-name'?: string; stats: { rd_bytes: number; wr_bytes: number; rd_operations: number; wr_operations: number } }> };
}

export type QmpCommandName = keyof QmpCommands;
type ArgsOf<C extends QmpCommandName> = QmpCommands[C]['args'];
/** Commands without arguments take none; the others require theirs. */
type ExecuteArgs<C extends QmpCommandName> = ArgsOf<C> extends undefined ? [] : [ArgsOf<C>];

/** An asynchronous event (SHUTDOWN, POWERDOWN, DEVICE_DELETED, STOP, RESUME, ...). */
export interface QmpEvent {
  event: string;
  data?: JsonObject;
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** QEMU refused a command; `errorClass` is QMP's class (GenericError, CommandNotFound, ...). */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command}: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** The connection went away (QEMU exited, close() was called, or a command timed out). */
export class QmpConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QmpConnectionError';
  }
}

export interface QmpClientEvents {
  event: (event: QmpEvent) => void;
  /** The socket closed; `error` says why when it was not close(). */
  close: (error: Error | undefined) => void;
}

export interface QmpConnectOptions {
  /** Bounds every command, so a wedged QEMU cannot hang the agent; 0 disables it. */
  commandTimeoutMs?: number;
}

interface Pending {
  command: string;
  resolve: (value: JsonValue) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isGreeting(value: Record<string, unknown>): value is { QMP: QmpGreeting } {
  return isObject(value.QMP) && isObject(value.QMP.version) && Array.isArray(value.QMP.capabilities);
}

function isEvent(value: Record<string, unknown>): value is Record<string, unknown> & QmpEvent {
  return typeof value.event === 'string' && isObject(value.timestamp);
}

export class QmpClient {
  private readonly emitter = new EventEmitter();
  private readonly splitter = new JsonLineSplitter();
  /** Insertion-ordered, so a reply without an id (QEMU's JSON parse errors) goes to the oldest. */
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private closed = false;
  private closingByUs = false;
  private lastError: Error | undefined;
  private greetingValue: QmpGreeting | undefined;
  private greetingWaiter: { resolve: (g: QmpGreeting) => void; reject: (e: Error) => void } | undefined;

  /**
   * Connects, reads the greeting and leaves capabilities negotiation, so commands work.
   * QEMU serves one QMP client at a time: while another holds the socket this waits for a
   * greeting that does not come, and timeoutMs ends the wait.
   */
  static async connect(path: string, timeoutMs = 5000, options: QmpConnectOptions = {}): Promise<QmpClient> {
    const socket = createConnection(path);
    const client = new QmpClient(socket, options.commandTimeoutMs ?? 30_000);
    const timer = setTimeout(() => {
      socket.destroy(new QmpConnectionError(`QMP ${path}: no greeting within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      client.greetingValue = await new Promise<QmpGreeting>((resolve, reject) => {
        client.greetingWaiter = { resolve, reject };
      });
      await client.execute('qmp_capabilities');
      return client;
    } catch (error) {
      socket.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private constructor(
    private readonly socket: Socket,
    private readonly commandTimeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Keep the cause for 'close'; an unhandled 'error' would crash the agent.
    socket.on('error', (error) => {
      this.lastError ??= error;
    });
    socket.on('close', () => this.onClose());
  }

  /** QEMU's version and capabilities, as greeted. */
  get greeting(): QmpGreeting {
    if (this.greetingValue === undefined) throw new QmpConnectionError('QMP not connected');
    return this.greetingValue;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  on<E extends keyof QmpClientEvents>(event: E, listener: QmpClientEvents[E]): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof QmpClientEvents>(event: E, listener: QmpClientEvents[E]): this {
    this.emitter.off(event, listener);
    return this;
  }

  /**
   * Sends a command and resolves with its `return`, or rejects with QmpError. Each command
   * carries its own id, so a late reply to a timed-out command is never taken for another's.
   */
  execute<C extends QmpCommandName>(command: C, ...args: ExecuteArgs<C>): Promise<QmpCommands[C]['returns']> {
    if (this.closed) return Promise.reject(new QmpConnectionError(`QMP ${command}: connection closed`));
    const id = `kumo-${this.nextId++}`;
    const message: { execute: string; arguments?: ArgsOf<C>; id: string } = { execute: command, id };
    if (args[0] !== undefined) message.arguments = args[0];
    // The cast below trusts QEMU's schema for the reply's shape; the wire only promises JSON.
    return new Promise<JsonValue>((resolve, reject) => {
      const timer =
        this.commandTimeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new QmpConnectionError(`QMP ${command}: no reply within ${this.commandTimeoutMs} ms`));
            }, this.commandTimeoutMs)
          : undefined;
      this.pending.set(id, { command, resolve, reject, timer });
      this.socket.write(`${JSON.stringify(message)}\n`);
    }) as Promise<QmpCommands[C]['returns']>;
  }

  /**
   * The next event called `name` (and passing `match`, e.g. DEVICE_DELETED for one device).
   * Call it before the command that causes the event: events are not buffered.
   */
  waitForEvent(name: string, timeoutMs: number, match?: (event: QmpEvent) => boolean): Promise<QmpEvent> {
    if (this.closed) return Promise.reject(new QmpConnectionError(`QMP: closed while waiting for ${name}`));
    return new Promise<QmpEvent>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const onEvent = (event: QmpEvent): void => {
        if (event.event !== name || (match !== undefined && !match(event))) return;
        done();
        resolve(event);
      };
      const onClose = (): void => {
        done();
        reject(new QmpConnectionError(`QMP: closed while waiting for ${name}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new QmpConnectionError(`QMP: no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Closes the connection (QEMU keeps running) and waits until the socket is gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closingByUs = true;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }

  private onData(chunk: Buffer): void {
    let messages: unknown[];
    try {
      messages = this.splitter.push(chunk);
    } catch (error) {
      // A line that is not JSON means the stream can no longer be trusted to stay in step.
      this.socket.destroy(new QmpConnectionError(`QMP protocol error: ${(error as Error).message}`));
      return;
    }
    for (const message of messages) {
      if (this.closed) return;
      this.dispatch(message);
    }
  }

  private dispatch(message: unknown): void {
    if (!isObject(message)) return;
    if (isGreeting(message)) {
      this.greetingWaiter?.resolve(message.QMP);
      this.greetingWaiter = undefined;
      return;
    }
    if (isEvent(message)) {
      const event: QmpEvent = { event: message.event, timestamp: message.timestamp };
      if (isObject(message.data)) event.data = message.data as JsonObject;
      this.emitter.emit('event', event);
      return;
    }
    if (!('return' in message) && !('error' in message)) return;
    const id = typeof message.id === 'string' ? message.id : this.pending.keys().next().value;
    if (id === undefined) return;
    const pending = this.pending.get(id);
    // A reply to a command that already timed out.
    if (pending === undefined) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if ('error' in message) {
      const error = isObject(message.error) ? message.error : {};
      const errorClass = typeof error.class === 'string' ? error.class : 'GenericError';
      const desc = typeof error.desc === 'string' ? error.desc : JSON.stringify(message.error);
      pending.reject(new QmpError(pending.command, errorClass, desc));
    } else {
      pending.resolve(message.return as JsonValue);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    // Closing on purpose is not an error for 'close' listeners.
    const reason = this.closingByUs ? undefined : this.lastError;
    const error =
      reason instanceof QmpConnectionError
        ? reason
        : new QmpConnectionError(`QMP: connection closed${this.closingByUs ? ' by the client' : reason ? `: ${reason.message}` : ''}`);
    this.greetingWaiter?.reject(error);
    this.greetingWaiter = undefined;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new QmpConnectionError(`QMP ${pending.command}: ${error.message}`));
    }
    this.pending.clear();
    this.emitter.emit('close', reason);
  }
}
