import type { Bus, ListenHandle } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import type { Dataplane } from './dataplane/driver.js';
import { NETWORK_AGENT_TOPIC, NETWORK_SERVER_TOPIC, type HostState, type HostStateRequest } from '../../contracts/network-agent.js';

/**
 * The network agent of one host: receives the host's desired state over the bus and
 * reconciles the dataplane to it. On start (and on demand) it asks the control plane for
 * its state, so a restarted agent converges without waiting for the next change.
 */
export class NetworkAgent {
  private applied = -1;
  private listener: ListenHandle | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private last: HostState | undefined;
  private newest: HostState | undefined;

  constructor(
    readonly host: string,
    private readonly bus: Bus,
    readonly dataplane: Dataplane,
    private readonly log: Logger,
    private readonly options: {
      tunnelIp?: string;
      resyncIntervalMs?: number;
      /** How often to look for taps that appeared after their port was bound (default 1 s). */
      pollIntervalMs?: number;
      /** Services that live and die with the agent (the metadata relay). */
      companions?: Array<{ stop(): Promise<void> }>;
    } = {},
  ) {}

  async start(): Promise<void> {
    this.listener = await this.bus.listen(NETWORK_AGENT_TOPIC, this.host, async (method, args) => {
      if (method === 'reconcile') return this.apply(args as HostState);
      throw new Error(`unknown method ${method}`);
    });
    await this.resync();
    // Periodic resync mends drift nobody announced (a device deleted by hand, a tap that
    // appeared) and catches up with changes whose push was lost.
    const every = this.options.resyncIntervalMs ?? 0;
    if (every > 0) {
      this.timer = setInterval(() => void this.resync(), every);
      this.timer.unref();
    }
    // A virt driver creates an instance's tap after the port is bound, so the push that bound
    // it may come first: a cheap poll notices the tap and reapplies (Neutron's agent polls too).
    const poll = this.options.pollIntervalMs ?? 1000;
    if (this.dataplane.pending && poll > 0) {
      this.pollTimer = setInterval(() => void this.pollOnce(), poll);
      this.pollTimer.unref();
    }
  }

  /** Pulls this host's state from the control plane and applies it. */
  async resync(): Promise<void> {
    try {
      const state = (await this.bus.call({ topic: NETWORK_SERVER_TOPIC }, 'host_state', this.request(), { timeoutMs: 10_000 })) as HostState;
      await this.apply(state);
    } catch (err) {
      this.log.warn({ err, host: this.host }, 'network agent could not fetch its state; waiting for the next change');
    }
  }

  private polling = false;

  private async pollOnce(): Promise<void> {
    const last = this.last;
    if (!last || !this.dataplane.pending || this.polling) return;
    this.polling = true;
    try {
      if (await this.dataplane.pending(last)) await this.reapply(last);
    } catch (err) {
      this.log.warn({ err, host: this.host }, 'network agent poll failed');
    } finally {
      this.polling = false;
    }
  }

  /** Applies the state already applied once more (the host changed under it). */
  private reapply(state: HostState): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.last !== state) return; // a newer state came meanwhile and was applied
      await this.dataplane.reconcile(state).catch((err: unknown) => this.log.error({ err, host: this.host }, 'dataplane reconcile failed'));
    });
    return this.queue;
  }

  private request(): HostStateRequest {
    return this.options.tunnelIp ? { host: this.host, tunnelIp: this.options.tunnelIp } : { host: this.host };
  }

  /** States are applied one at a time, newest wins; a stale one is skipped. */
  apply(state: HostState): Promise<void> {
    if (!this.newest || state.generation > this.newest.generation) this.newest = state;
    this.queue = this.queue.then(async () => {
      // States that arrived while a reconcile ran collapse into the newest: a burst of
      // changes costs one more pass, not one per change.
      const target = this.newest;
      if (!target || target.generation <= this.applied) return;
      state = target;
      let report;
      try {
        report = await this.dataplane.reconcile(state);
      } catch (err) {
        this.log.error({ err, host: this.host, driver: this.dataplane.name }, 'dataplane reconcile failed; the next resync retries');
        return;
      }
      this.applied = state.generation;
      this.last = state;
      if (report.applied.length > 0 || report.removed.length > 0) {
        this.log.debug({ host: this.host, driver: this.dataplane.name, ...report }, 'dataplane reconciled');
      }
    });
    return this.queue;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.listener?.close();
    await this.queue.catch(() => undefined);
    for (const companion of this.options.companions ?? []) await companion.stop();
  }
}
