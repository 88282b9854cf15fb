import type { Bus, ListenHandle } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import type { Dataplane, ReconcileReport } from './dataplane/driver.js';
import { NETWORK_AGENT_TOPIC, NETWORK_SERVER_TOPIC, type AgentConfigurations, type HostState, type HostStateRequest } from '../../contracts/network-agent.js';
import { AgentReporter } from './reporter.js';

/** Neutron's report_interval: seconds between an agent's state reports. */
export const DEFAULT_REPORT_INTERVAL_MS = 30_000;

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
  private readonly reporter: AgentReporter;
  /** The agent's health as its reports show it. */
  private health: { lastError: string | null; lastErrorAt: string | null; lastReconcileAt: string | null; warnings: string[] } = {
    lastError: null,
    lastErrorAt: null,
    lastReconcileAt: null,
    warnings: [],
  };

  constructor(
    readonly host: string,
    private readonly bus: Bus,
    readonly dataplane: Dataplane,
    private readonly log: Logger,
    private readonly options: {
      tunnelIp?: string;
      resyncIntervalMs?: number;
      /** Milliseconds between state reports (default 30 s, Neutron's report_interval); 0: only at start and on change. */
      reportIntervalMs?: number;
      /** How often to look for taps that appeared after their port was bound (default 1 s). */
      pollIntervalMs?: number;
      /** Services that live and die with the agent (the metadata relay). */
      companions?: Array<{ stop(): Promise<void> }>;
    } = {},
  ) {
    this.reporter = new AgentReporter(bus, host, () => dataplane.describe().agentType, () => this.configurations(), log, options.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS);
  }

  async start(): Promise<void> {
    // Reported first: binding reads what this host can realise, and the tunnel address goes
    // into the other hosts' flooding lists.
    await this.reporter.start();
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

  /** Reports this agent's state now rather than at the next interval. */
  report(): Promise<void> {
    return this.reporter.report();
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
      try {
        this.noteOutcome({ report: await this.dataplane.reconcile(state) });
      } catch (err) {
        this.noteOutcome({ error: err });
        this.log.error({ err, host: this.host }, 'dataplane reconcile failed');
      }
    });
    return this.queue;
  }

  private request(): HostStateRequest {
    return { host: this.host };
  }

  /** What the agent reports: the dataplane's capabilities, the state it applied, and its health. */
  configurations(): AgentConfigurations {
    const described = this.dataplane.describe();
    const state = this.last;
    const tunnelTypes = described.networkTypes.filter((t) => t === 'vxlan' || t === 'gre');
    return {
      ...described.details,
      dataplane: this.dataplane.name,
      interface_mappings: described.interfaceMappings,
      network_types: described.networkTypes,
      tunnel_types: this.options.tunnelIp ? tunnelTypes : [],
      tunneling_ip: this.options.tunnelIp ?? null,
      l2_population: true,
      devices: state?.ports.length ?? 0,
      dhcp_networks: state?.dhcp.length ?? 0,
      routers: state?.routers.length ?? 0,
      floating_ips: state?.routers.reduce((n, r) => n + r.floatingIps.length, 0) ?? 0,
      last_error: this.health.lastError,
      last_error_at: this.health.lastErrorAt,
      last_reconcile_at: this.health.lastReconcileAt,
      warnings: this.health.warnings,
    };
  }

  /** Records how a reconcile went; a change in health is reported at once, not at the next interval. */
  private noteOutcome(outcome: { report: ReconcileReport } | { error: unknown }): void {
    const now = new Date().toISOString();
    const before = JSON.stringify([this.health.lastError, this.health.warnings, this.health.lastReconcileAt === null]);
    if ('error' in outcome) {
      this.health = { ...this.health, lastError: errorText(outcome.error), lastErrorAt: now };
    } else {
      this.health = { ...this.health, lastError: null, lastReconcileAt: now, warnings: outcome.report.warnings ?? [] };
    }
    // The first success counts as a change too, so the list shows the agent has applied its state.
    if (JSON.stringify([this.health.lastError, this.health.warnings, this.health.lastReconcileAt === null]) !== before) void this.reporter.report();
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
        this.noteOutcome({ error: err });
        this.log.error({ err, host: this.host, driver: this.dataplane.name }, 'dataplane reconcile failed; retrying');
        this.retryLater();
        return;
      }
      this.retryDelayMs = 0;
      this.applied = state.generation;
      this.last = state;
      this.noteOutcome({ report });
      if (report.applied.length > 0 || report.removed.length > 0) {
        this.log.debug({ host: this.host, driver: this.dataplane.name, ...report }, 'dataplane reconciled');
      }
    });
    return this.queue;
  }

  /**
   * A failed pass (a command that failed for a moment, say) is tried again soon, 1 s then
   * doubling up to 30 s, rather than at the next push or resync: after a burst no push may come,
   * and the resync may be off or far away. A newer state arriving meanwhile is what it applies.
   */
  private retryDelayMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  private retryLater(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 1000), 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.newest) void this.apply(this.newest);
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private stopped = false;

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.timer) clearInterval(this.timer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.listener?.close();
    await this.queue.catch(() => undefined);
    await this.reporter.stop();
    for (const companion of this.options.companions ?? []) await companion.stop();
  }
}

/** An error as one line for the agent list: an aggregate names each of its failures. */
function errorText(error: unknown): string {
  if (error instanceof AggregateError) return `${error.message}: ${error.errors.map(errorText).join('; ')}`;
  return error instanceof Error ? error.message : String(error);
}
