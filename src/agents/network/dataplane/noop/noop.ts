import type { HostState } from '../../../../contracts/network-agent.js';
import type { Dataplane, ReconcileReport } from '../driver.js';

/**
 * Applies nothing and remembers everything: the desired state each reconcile was given,
 * so tests (and `kumo up` on a host without root or iproute2) can see what would happen.
 */
export class NoopDataplane implements Dataplane {
  readonly name = 'noop';
  private last: HostState | undefined;
  readonly history: HostState[] = [];

  async reconcile(desired: HostState): Promise<ReconcileReport> {
    const before = new Set(this.last?.ports.map((p) => p.id) ?? []);
    const after = new Set(desired.ports.map((p) => p.id));
    this.last = desired;
    this.history.push(desired);
    if (this.history.length > 100) this.history.shift();
    return {
      applied: [...after].filter((id) => !before.has(id)).map((id) => `port ${id}`),
      removed: [...before].filter((id) => !after.has(id)).map((id) => `port ${id}`),
    };
  }

  async teardown(): Promise<void> {
    this.last = undefined;
  }

  /** The state most recently applied, if any. */
  current(): HostState | undefined {
    return this.last;
  }
}
