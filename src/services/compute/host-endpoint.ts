import type { Bus, ListenHandle } from '../../core/bus/bus.js';
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
import type { ComputeHosts } from './hosts.js';
import type { InstanceActions } from './store/instance-actions.js';
import { flavorColumns, preservedPorts, type Instance } from './instances/model.js';
import type { InstanceRecords } from './store/instances.js';
import { PortBindingFailed, type ConfigDriveSource, type NetworkPorts } from './peers.js';
import type { InstanceRow } from './tables.js';

/** The arguments of every compute-host call, as ComputeHostClient sends them. */
interface CallArgs {
  registration: HostRegistration;
  host: string;
  instanceId: string;
  expected: ExpectedState;
  changes: InstanceChanges;
  action: string;
  who: { projectId: string; userId: string; requestId: string };
  event: string;
  handle: EventHandle;
  error?: string;
  wanted: HostResourceClaim;
}

export interface ComputeHostEndpointDeps {
  instances: InstanceRecords;
  hosts: ComputeHosts;
  actions: InstanceActions;
  network?: NetworkPorts;
  configDrive?: ConfigDriveSource;
}

/**
 * The control plane's side of the compute-host contract (Nova's conductor proxying
 * nova-compute's database access): every write an agent asks for happens here, on compute's
 * own stores, and ports go through the network service, which pushes them to the network
 * agents as any other port change.
 */
export class ComputeHostEndpoint implements ComputeHostApi {
  private listener: ListenHandle | undefined;

  constructor(private readonly deps: ComputeHostEndpointDeps) {}

  async listen(bus: Bus, server: string): Promise<void> {
    this.listener = await bus.listen(COMPUTE_HOST_TOPIC, server, (method, args) => this.dispatch(method, args as CallArgs));
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
  }

  private dispatch(method: string, a: CallArgs): Promise<unknown> {
    switch (method) {
      case ComputeHostMethods.register:
        return this.register(a.registration);
      case ComputeHostMethods.heartbeat:
        return this.heartbeat(a.host);
      case ComputeHostMethods.getInstance:
        return this.getInstance(a.instanceId);
      case ComputeHostMethods.listInstances:
        return this.listInstances(a.host);
      case ComputeHostMethods.transition:
        return this.transition(a.instanceId, a.expected, a.changes);
      case ComputeHostMethods.update:
        return this.update(a.instanceId, a.changes);
      case ComputeHostMethods.markDeleted:
        return this.markDeleted(a.instanceId);
      case ComputeHostMethods.startAction:
        return this.startAction(a.instanceId, a.action, a.who);
      case ComputeHostMethods.startEvent:
        return this.startEvent(a.instanceId, a.event, a.host);
      case ComputeHostMethods.finishEvent:
        return this.finishEvent(a.handle, a.error);
      case ComputeHostMethods.release:
        return this.release(a.instanceId);
      case ComputeHostMethods.reclaim:
        return this.reclaim(a.instanceId, a.wanted);
      case ComputeHostMethods.reconcile:
        return this.reconcile(a.host);
      case ComputeHostMethods.allocateNetwork:
        return this.allocateNetwork(a.instanceId, a.host);
      case ComputeHostMethods.instanceNics:
        return this.instanceNics(a.instanceId);
      case ComputeHostMethods.deallocateNetwork:
        return this.deallocateNetwork(a.instanceId);
      case ComputeHostMethods.configDriveFiles:
        return this.configDriveFiles(a.instanceId);
      default:
        return Promise.reject(new Error(`unknown compute-host method ${method}`));
    }
  }

  async register(reg: HostRegistration): Promise<void> {
    await this.deps.hosts.register(reg);
  }

  async heartbeat(host: string): Promise<void> {
    await this.deps.hosts.heartbeat(host);
  }

  async getInstance(instanceId: string): Promise<HostInstance | null> {
    const instance = await this.deps.instances.get(instanceId);
    return instance ? hostInstanceOf(instance) : null;
  }

  async listInstances(host: string): Promise<HostInstance[]> {
    return (await this.deps.instances.list({ host, deleted: false })).map(hostInstanceOf);
  }

  async transition(instanceId: string, expected: ExpectedState, changes: InstanceChanges): Promise<boolean> {
    return this.deps.instances.transition(instanceId, expected, rowChanges(changes));
  }

  async update(instanceId: string, changes: InstanceChanges): Promise<void> {
    await this.deps.instances.update(instanceId, rowChanges(changes));
  }

  async markDeleted(instanceId: string): Promise<void> {
    await this.deps.instances.markDeleted(instanceId);
  }

  async startAction(instanceId: string, action: string, who: { projectId: string; userId: string; requestId: string }): Promise<void> {
    await this.deps.actions.start(instanceId, action, who);
  }

  startEvent(instanceId: string, event: string, host: string | null): Promise<EventHandle | null> {
    return this.deps.actions.openEvent(instanceId, event, host);
  }

  finishEvent(handle: EventHandle, error?: string): Promise<void> {
    return this.deps.actions.closeEvent(handle, error);
  }

  release(instanceId: string): Promise<void> {
    return this.deps.hosts.release(instanceId);
  }

  reclaim(instanceId: string, wanted: HostResourceClaim): Promise<boolean> {
    return this.deps.hosts.reclaim(instanceId, wanted);
  }

  reconcile(host: string): Promise<void> {
    return this.deps.hosts.reconcile(host);
  }

  async allocateNetwork(instanceId: string, host: string): Promise<AllocateResult> {
    const network = this.deps.network;
    const instance = await this.deps.instances.get(instanceId);
    if (!instance) throw new Error(`Instance ${instanceId} could not be found.`);
    if (!network || instance.requestedNetworks === 'none') return { nics: [] };
    try {
      await network.allocate({ id: instance.id, projectId: instance.projectId, host, securityGroups: instance.securityGroups }, instance.requestedNetworks);
    } catch (error) {
      // Crosses the bus as a value: the agent aborts the build rather than rescheduling it.
      if (error instanceof PortBindingFailed) return { bindingFailed: error.portId, message: error.message };
      throw error;
    }
    return { nics: await this.nicsOf(instance) };
  }

  async instanceNics(instanceId: string): Promise<HostNic[]> {
    const instance = await this.deps.instances.get(instanceId);
    return instance ? this.nicsOf(instance) : [];
  }

  private async nicsOf(instance: Instance): Promise<HostNic[]> {
    if (!this.deps.network) return [];
    return (await this.deps.network.ports(instance)).map((p) => ({ portId: p.id, mac: p.mac }));
  }

  async deallocateNetwork(instanceId: string): Promise<void> {
    const instance = await this.deps.instances.get(instanceId);
    if (!instance || !this.deps.network) return;
    await this.deps.network.deallocate(instance, preservedPorts(instance));
  }

  async configDriveFiles(instanceId: string): Promise<Record<string, string>> {
    if (!this.deps.configDrive) throw new Error('this cloud has no metadata service to build config drives from');
    const files = await this.deps.configDrive.files(instanceId);
    return Object.fromEntries([...files].map(([path, content]) => [path, content.toString('base64')]));
  }
}

export function hostInstanceOf(instance: Instance): HostInstance {
  return {
    id: instance.id,
    projectId: instance.projectId,
    userId: instance.userId,
    name: instance.name,
    flavor: instance.flavor,
    newFlavor: instance.newFlavor,
    oldFlavor: instance.oldFlavor,
    imageRef: instance.imageRef,
    host: instance.host,
    vmState: instance.vmState,
    taskState: instance.taskState,
    powerState: instance.powerState,
    keyData: instance.keyData,
    userData: instance.userData,
    metadata: instance.metadata,
    configDrive: instance.configDrive === 'True' || instance.configDrive === 'true',
    requestedNetworks: instance.requestedNetworks,
    attemptedHosts: instance.attemptedHosts,
    deleted: instance.deleted,
  };
}

/** The contract's fields as compute_instance columns. */
function rowChanges(changes: InstanceChanges): Partial<InstanceRow> {
  const row: Partial<InstanceRow> = {};
  if (changes.vmState !== undefined) row.vm_state = changes.vmState;
  if (changes.taskState !== undefined) row.task_state = changes.taskState;
  if (changes.powerState !== undefined) row.power_state = changes.powerState;
  if (changes.launchedAt !== undefined) row.launched_at = changes.launchedAt;
  if (changes.fault !== undefined) row.fault = JSON.stringify(changes.fault);
  if (changes.host !== undefined) row.host = changes.host;
  if (changes.attemptedHosts !== undefined) row.attempted_hosts = JSON.stringify(changes.attemptedHosts);
  if (changes.flavor !== undefined) Object.assign(row, flavorColumns(changes.flavor));
  if (changes.oldFlavor !== undefined) row.old_flavor = changes.oldFlavor ? JSON.stringify(changes.oldFlavor) : null;
  if (changes.newFlavor !== undefined) row.new_flavor = changes.newFlavor ? JSON.stringify(changes.newFlavor) : null;
  if (changes.configDrive !== undefined) row.config_drive = changes.configDrive ? 'True' : '';
  return row;
}
