import type { Bus } from './bus.js';
import { openInProcessBus, type InProcessBusOptions } from './in-process.js';
import { openRabbitBus, redact, type RabbitBusOptions } from './rabbitmq.js';

export {
  BusClosedError,
  BusConnectionError,
  BusError,
  BusSerializationError,
  BusTimeoutError,
  DEFAULT_TIMEOUT_MS,
  RemoteError,
  type Bus,
  type BusLogger,
  type BusOptions,
  type CallOptions,
  type Handler,
  type ListenHandle,
  type Target,
} from './bus.js';
export { InProcessBus, type InProcessBusOptions } from './in-process.js';
export { RabbitBus, rabbitNames, type RabbitBusOptions } from './rabbitmq.js';

/** Options for either adapter; each ignores what does not apply to it. */
export type OpenBusOptions = RabbitBusOptions & Omit<InProcessBusOptions, 'broker'>;

/**
 * Opens the bus named by a URL (`KUMO_BUS_URL`):
 * - `memory:` a private in-process bus (the all-in-one `kumo up`);
 * - `memory:NAME` an in-process bus sharing its broker with every other `memory:NAME` bus of the process;
 * - `amqp://user:pass@host:5672/vhost` or `amqps://...` RabbitMQ.
 */
export async function openBus(url: string, options: OpenBusOptions = {}): Promise<Bus> {
  if (url.startsWith('memory:')) {
    const name = url.slice('memory:'.length).replace(/^\/\//, '');
    const { defaultTimeoutMs, maxMessageBytes, logger } = options;
    return openInProcessBus({
      ...(defaultTimeoutMs !== undefined ? { defaultTimeoutMs } : {}),
      ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
      ...(logger !== undefined ? { logger } : {}),
      ...(name !== '' ? { broker: name } : {}),
    });
  }
  if (url.startsWith('amqp://') || url.startsWith('amqps://')) return openRabbitBus(url, options);
  throw new Error(`unsupported bus URL ${redact(url)}: use memory: or amqp://user:pass@host:5672/`);
}
