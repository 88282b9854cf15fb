import type { Bus, ListenHandle } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import type { Dataplane } from './dataplane/driver.js';
import { NETWORK_AGENT_TOPIC, NETWORK_SERVER_TOPIC, type HostState } from '../../contracts/network-agent.js';

/**
 * The network agent of one host: receives the host's desired state over the bus and
 * reconciles the dataplane to it. On start (and on demand) it asks the control plane for
 * its state, so a restarted agent converges without waiting for the next change.
 */
export class NetworkAgent {
  private applied = -1;
  private listener: ListenHandle | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly host: string,
    private readonly bus: Bus,
    readonly dataplane: Dataplane,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.listener = await this.bus.listen(NETWORK_AGENT_TOPIC, this.host, async (method, args) => {
      if (method === 'reconcile') return this.apply(args as HostState);
      throw new Error(`unknown method ${method}`);
    });
    await this.resync();
  }

  /** Pulls this host's state from the control plane and applies it. */
  async resync(): Promise<void> {
    try {
      const state = (await this.bus.call({ topic: NETWORK_SERVER_TOPIC }, 'host_state', { host: this.host }, { timeoutMs: 10_000 })) as HostState;
      await this.apply(state);
    } catch (err) {
      this.log.warn({ err, host: this.host }, 'network agent could not fetch its state; waiting for the next change');
    }
  }

  /** States are applied one at a time, newest wins; a stale one is skipped. */
  apply(state: HostState): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (state.generation <= this.applied) return;
      const report = await this.dataplane.reconcile(state);
      this.applied = state.generation;
      if (report.applied.length > 0 || report.removed.length > 0) {
        this.log.debug({ host: this.host, driver: this.dataplane.name, ...report }, 'dataplane reconciled');
      }
    });
    return this.queue;
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    await this.queue.catch(() => undefined);
  }
}
