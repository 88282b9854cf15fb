import type { Bus } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import { NETWORK_SERVER_TOPIC, REPORT_STATE, type AgentConfigurations, type AgentReport } from '../../contracts/network-agent.js';

export const AGENT_BINARY = 'kumo-network-agent';

/**
 * An agent's heartbeat (Neutron's report_state): what the host can realise and how its last
 * reconcile went, sent at start, every interval, and at once when `report()` is called (its
 * health changed). A report that fails is logged and retried by the next one.
 */
export class AgentReporter {
  private timer: NodeJS.Timeout | undefined;
  private starting = true;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly bus: Bus,
    private readonly host: string,
    private readonly agentType: () => string,
    private readonly configurations: () => AgentConfigurations,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  /** Sends the first report (so binding knows the host before anything is scheduled to it), then keeps reporting. */
  async start(): Promise<void> {
    await this.report();
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => void this.report(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Sends a report now; reports go out one at a time, in order. */
  report(): Promise<void> {
    this.sending = this.sending.then(async () => {
      const report: AgentReport = {
        host: this.host,
        agentType: this.agentType(),
        binary: AGENT_BINARY,
        starting: this.starting,
        configurations: this.configurations(),
      };
      try {
        await this.bus.call({ topic: NETWORK_SERVER_TOPIC }, REPORT_STATE, report, { timeoutMs: 10_000 });
        this.starting = false;
      } catch (err) {
        this.log.warn({ err, host: this.host }, 'network agent could not report its state; the next report retries');
      }
    });
    return this.sending;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sending;
  }
}
