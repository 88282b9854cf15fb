import type { HostState } from '../../../../contracts/network-agent.js';
import type { Dataplane, DataplaneDescription, ReconcileReport } from '../driver.js';

/** Every segment type Kumo knows. */
const ALL_TYPES = ['local', 'flat', 'vlan', 'vxlan', 'gre'];

/**
 * Applies nothing and remembers everything: the desired state each reconcile was given,
 * so tests (and `kumo up` on a host without root or iproute2) can see what would happen.
 *
 * It binds what a real host with the same mappings would: `flat` and `vlan` only on the
 * physical networks it was given, so a simulated cloud refuses the same ports a real one
 * does. Overlays need no tunnel address here, since nothing leaves the host.
 */
export class NoopDataplane implements Dataplane {
  readonly name = 'noop';
  private last: HostState | undefined;
  readonly history: HostState[] = [];

  constructor(private readonly interfaceMappings: Record<string, string> = {}) {}

  describe(): DataplaneDescription {
    return { agentType: 'Noop agent', interfaceMappings: { ...this.interfaceMappings }, networkTypes: [...ALL_TYPES] };
  }

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
