import type { Bus } from '../../core/bus/bus.js';
import {
  COMPUTE_HOST_TOPIC,
  ComputeHostMethods,
  type AllocateResult,
  type ComputeHostApi,
  type EventHandle,
  type ExpectedState,
  type HostInstance,
  type HostNic,
  type HostRegistration,
  type HostResourceClaim,
  type InstanceChanges,
} from '../../contracts/compute-host.js';

/**
 * The control plane as a compute agent reaches it: RPC calls on the bus, answered by any
 * conductor. The agent holds no database connection; this is its only way to state.
 */
export class ComputeHostClient implements ComputeHostApi {
  constructor(
    private readonly bus: Bus,
    private readonly timeoutMs?: number,
  ) {}

  private call<T>(method: string, args: Record<string, unknown>): Promise<T> {
    return this.bus.call({ topic: COMPUTE_HOST_TOPIC }, method, args, this.timeoutMs ? { timeoutMs: this.timeoutMs } : {}) as Promise<T>;
  }

  async register(registration: HostRegistration): Promise<void> {
    await this.call(ComputeHostMethods.register, { registration });
  }

  async heartbeat(host: string): Promise<void> {
    await this.call(ComputeHostMethods.heartbeat, { host });
  }

  getInstance(instanceId: string): Promise<HostInstance | null> {
    return this.call(ComputeHostMethods.getInstance, { instanceId });
  }

  listInstances(host: string): Promise<HostInstance[]> {
    return this.call(ComputeHostMethods.listInstances, { host });
  }

  transition(instanceId: string, expected: ExpectedState, changes: InstanceChanges): Promise<boolean> {
    return this.call(ComputeHostMethods.transition, { instanceId, expected, changes });
  }

  async update(instanceId: string, changes: InstanceChanges): Promise<void> {
    await this.call(ComputeHostMethods.update, { instanceId, changes });
  }

  async markDeleted(instanceId: string): Promise<void> {
    await this.call(ComputeHostMethods.markDeleted, { instanceId });
  }

  async startAction(instanceId: string, action: string, who: { projectId: string; userId: string; requestId: string }): Promise<void> {
    await this.call(ComputeHostMethods.startAction, { instanceId, action, who });
  }

  startEvent(instanceId: string, event: string, host: string | null): Promise<EventHandle | null> {
    return this.call(ComputeHostMethods.startEvent, { instanceId, event, host });
  }

  async finishEvent(handle: EventHandle, error?: string): Promise<void> {
    await this.call(ComputeHostMethods.finishEvent, { handle, ...(error !== undefined ? { error } : {}) });
  }

  async release(instanceId: string): Promise<void> {
    await this.call(ComputeHostMethods.release, { instanceId });
  }

  reclaim(instanceId: string, wanted: HostResourceClaim): Promise<boolean> {
    return this.call(ComputeHostMethods.reclaim, { instanceId, wanted });
  }

  async reconcile(host: string): Promise<void> {
    await this.call(ComputeHostMethods.reconcile, { host });
  }

  allocateNetwork(instanceId: string, host: string): Promise<AllocateResult> {
    return this.call(ComputeHostMethods.allocateNetwork, { instanceId, host });
  }

  instanceNics(instanceId: string): Promise<HostNic[]> {
    return this.call(ComputeHostMethods.instanceNics, { instanceId });
  }

  async deallocateNetwork(instanceId: string): Promise<void> {
    await this.call(ComputeHostMethods.deallocateNetwork, { instanceId });
  }

  configDriveFiles(instanceId: string): Promise<Record<string, string>> {
    return this.call(ComputeHostMethods.configDriveFiles, { instanceId });
  }
}
