import type { HostState } from '../../../contracts/network-agent.js';

export interface ReconcileReport {
  /** Things created or changed to match the desired state. */
  applied: string[];
  /** Things the driver owned but the state no longer wants, removed. */
  removed: string[];
}

/**
 * A host's dataplane (modelled on Neutron's ML2 mechanism driver plus its L2/L3/DHCP
 * agents). `reconcile` is idempotent: it compares the desired state with what the host
 * has, mends the difference, removes orphans its cloud owns (by the cloud id they carry) and
 * never touches what it does not own.
 */
export interface Dataplane {
  readonly name: string;
  reconcile(desired: HostState): Promise<ReconcileReport>;
  /**
   * Cheap check between reconciles: has the host changed under the state it was given (a
   * tap the virt driver created after its port was bound)? True asks for a reconcile.
   */
  pending?(desired: HostState): Promise<boolean>;
  /** Removes everything the driver's cloud owns on this host (`kumo down`, tests). */
  teardown(): Promise<void>;
}
