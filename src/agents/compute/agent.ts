import { randomUUID } from 'node:crypto';
import type { Bus, ListenHandle } from '../../core/bus/bus.js';
import type { Logger } from '../../core/log.js';
import {
  COMPUTE_TOPIC,
  ComputeMethods,
  CONDUCTOR_TOPIC,
  ConductorMethods,
  type AttachVolumeArgs,
  type BuildAndRunArgs,
  type ConsoleArgs,
  type DetachVolumeArgs,
  type ExtendVolumeArgs,
  type ConsoleOutputArgs,
  type InstanceArgs,
  type RebootArgs,
  type SnapshotArgs,
} from '../../contracts/compute.js';
import type { ComputeHosts } from '../../services/compute/hosts.js';
import type { InstanceActions } from '../../services/compute/instances/actions.js';
import { flavorColumns, preservedPorts, resourcesOf, type Instance } from '../../services/compute/instances/model.js';
import type { InstanceRecords } from '../../services/compute/instances/store.js';
import { PortBindingFailed, type ConfigDriveSource, type ImageLookup, type NetworkPorts } from '../../services/compute/peers.js';
import { instanceSpec } from './instance-spec.js';
import { BuildAbortError, PowerState, type InstanceSpec, type PowerStateValue, type VirtDriver } from './virt/driver.js';

export interface ComputeAgentOptions {
  host: string;
  availabilityZone: string;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedHostMemoryMb: number;
  heartbeatIntervalSeconds: number;
  /** Seconds between power-state syncs with the driver (Nova's sync_power_state_interval). */
  powerSyncIntervalSeconds: number;
  /** Every instance gets a config drive, asked for or not (Nova's force_config_drive). */
  forceConfigDrive?: boolean;
}

export interface ComputeAgentDeps {
  bus: Bus;
  driver: VirtDriver;
  instances: InstanceRecords;
  hosts: ComputeHosts;
  actions: InstanceActions;
  images: ImageLookup;
  network?: NetworkPorts;
  /** The metadata service's content for config drives. */
  configDrive?: ConfigDriveSource;
  log: Logger;
}

/** A power action: the task it runs under, the driver call, and the state it ends in. */
interface PowerAction {
  event: string;
  task: string;
  run: (driver: VirtDriver, id: string) => Promise<void>;
  vmState: string;
  powerState: PowerStateValue;
}

const POWER_ACTIONS: Record<string, PowerAction> = {
  [ComputeMethods.start]: { event: 'compute_start_instance', task: 'powering-on', run: (d, id) => d.powerOn(id), vmState: 'active', powerState: PowerState.RUNNING },
  [ComputeMethods.stop]: { event: 'compute_stop_instance', task: 'powering-off', run: (d, id) => d.powerOff(id), vmState: 'stopped', powerState: PowerState.SHUTDOWN },
  [ComputeMethods.pause]: { event: 'compute_pause_instance', task: 'pausing', run: (d, id) => d.pause(id), vmState: 'paused', powerState: PowerState.PAUSED },
  [ComputeMethods.unpause]: { event: 'compute_unpause_instance', task: 'unpausing', run: (d, id) => d.unpause(id), vmState: 'active', powerState: PowerState.RUNNING },
  [ComputeMethods.suspend]: { event: 'compute_suspend_instance', task: 'suspending', run: (d, id) => d.suspend(id), vmState: 'suspended', powerState: PowerState.SUSPENDED },
  [ComputeMethods.resume]: { event: 'compute_resume_instance', task: 'resuming', run: (d, id) => d.resume(id), vmState: 'active', powerState: PowerState.RUNNING },
};

/**
 * The compute agent of one host (Nova's nova-compute): registers the host, keeps its
 * heartbeat, runs what the conductor and API send it through the VirtDriver, and reports
 * every state change to the database. Every handler starts from the instance's current
 * row, so a repeated or late message does no harm.
 */
export class ComputeAgent {
  private listener: ListenHandle | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly options: ComputeAgentOptions,
    private readonly deps: ComputeAgentDeps,
  ) {}

  get host(): string {
    return this.options.host;
  }

  /** The hypervisor this agent drives (tests read what the fake driver recorded). */
  get driver(): VirtDriver {
    return this.deps.driver;
  }

  async start(): Promise<void> {
    const resources = await this.deps.driver.hostResources();
    await this.deps.hosts.register({
      host: this.options.host,
      availabilityZone: this.options.availabilityZone,
      hypervisorType: resources.hypervisorType,
      hypervisorVersion: resources.hypervisorVersion,
      hostIp: resources.hostIp,
      vcpus: resources.vcpus,
      memoryMb: resources.memoryMb,
      localGb: resources.localGb,
      cpuAllocationRatio: this.options.cpuAllocationRatio,
      ramAllocationRatio: this.options.ramAllocationRatio,
      diskAllocationRatio: this.options.diskAllocationRatio,
      reservedHostMemoryMb: this.options.reservedHostMemoryMb,
    });
    await this.initHost();
    this.listener = await this.deps.bus.listen(COMPUTE_TOPIC, this.options.host, (method, args) => this.handle(method, args));
    this.every(this.options.heartbeatIntervalSeconds, () => this.deps.hosts.heartbeat(this.options.host));
    this.every(this.options.powerSyncIntervalSeconds, () => this.syncPowerStates());
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.listener?.close();
    this.listener = undefined;
    // Guests keep running (Nova's compute stops without touching them); the next agent adopts them.
    await this.deps.driver.close?.();
  }

  private every(seconds: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((err: unknown) => this.deps.log.warn({ err, host: this.options.host }, 'periodic compute task failed'));
    }, seconds * 1000);
    timer.unref();
    this.timers.push(timer);
  }

  private async handle(method: string, args: unknown): Promise<unknown> {
    const { instanceId } = args as InstanceArgs;
    switch (method) {
      case ComputeMethods.buildAndRun:
        return this.buildAndRun(instanceId, args as BuildAndRunArgs);
      case ComputeMethods.attachVolume:
        return this.onInstanceHere(instanceId, () => this.deps.driver.attachVolume(instanceId, (args as AttachVolumeArgs).volume));
      case ComputeMethods.detachVolume:
        return this.onInstanceHere(instanceId, () => this.deps.driver.detachVolume(instanceId, (args as DetachVolumeArgs).volumeId));
      case ComputeMethods.extendVolume: {
        const { volumeId, newSizeBytes } = args as ExtendVolumeArgs;
        return this.onInstanceHere(instanceId, () => this.deps.driver.extendVolume(instanceId, volumeId, newSizeBytes));
      }
      case ComputeMethods.terminate:
        return this.terminate(instanceId);
      case ComputeMethods.reboot:
        return this.reboot(args as RebootArgs);
      case ComputeMethods.resize:
        return this.resize(instanceId);
      case ComputeMethods.confirmResize:
        return this.finishResize(instanceId, true);
      case ComputeMethods.revertResize:
        return this.finishResize(instanceId, false);
      case ComputeMethods.rebuild:
        return this.rebuild(instanceId);
      case ComputeMethods.snapshot:
        return this.snapshot(args as SnapshotArgs);
      case ComputeMethods.consoleOutput:
        return this.deps.driver.consoleOutput(instanceId, (args as ConsoleOutputArgs).lines);
      case ComputeMethods.console:
        return this.deps.driver.console(instanceId, (args as ConsoleArgs).protocol);
      default: {
        const action = POWER_ACTIONS[method];
        if (!action) throw new Error(`unknown compute method ${method}`);
        return this.power(instanceId, action);
      }
    }
  }

  /**
   * Volume calls (the API waits for them, as Nova's attach waits for the compute host): only
   * for an instance this host runs; the driver's error goes back to the caller.
   */
  private async onInstanceHere(instanceId: string, step: () => Promise<void>): Promise<null> {
    const instance = await this.deps.instances.get(instanceId);
    if (!instance || instance.deleted || instance.host !== this.options.host) throw new Error(`Instance ${instanceId} is not on host ${this.options.host}.`);
    await step();
    return null;
  }

  /** Spawns a placed instance; a failure goes back to the conductor to try another host. */
  async buildAndRun(instanceId: string, volumes: Omit<BuildAndRunArgs, 'instanceId'> = {}): Promise<void> {
    const mine = { vmState: ['building'], taskState: ['scheduling'], host: this.options.host } as const;
    if (!(await this.deps.instances.transition(instanceId, mine, { task_state: 'networking' }))) return;
    const instance = (await this.deps.instances.get(instanceId)) as Instance;
    const finish = await this.deps.actions.event(instanceId, 'compute__do_build_and_run_instance', this.options.host);
    try {
      const nics = await this.allocateNetwork(instance);
      if (!(await this.deps.instances.transition(instanceId, { taskState: ['networking'] }, { task_state: 'spawning' }))) {
        throw new Error('instance was deleted while its network was set up');
      }
      const spec: InstanceSpec = {
        ...instanceSpec(instance, nics),
        ...(volumes.rootVolume ? { rootVolume: volumes.rootVolume } : {}),
        ...(volumes.volumes?.length ? { volumes: volumes.volumes } : {}),
      };
      await this.deps.driver.spawn(await this.withConfigDrive(spec));
      const now = new Date().toISOString();
      const active = await this.deps.instances.transition(
        instanceId,
        { vmState: ['building'], taskState: ['spawning'] },
        { vm_state: 'active', task_state: null, power_state: PowerState.RUNNING, launched_at: now },
      );
      // Deleted while spawning: the delete finds the domain gone or removes it itself.
      if (!active) await this.deps.driver.destroy(instanceId);
      await finish();
    } catch (error) {
      await finish(error);
      await this.cleanUpFailedBuild(instance, error);
    }
  }

  /**
   * The spec with the config drive's files when the instance asked for a drive or this host
   * forces one (Nova's configdrive.required_by), recording that it has one as Nova does.
   */
  private async withConfigDrive(spec: InstanceSpec): Promise<InstanceSpec> {
    if (!spec.configDrive && !this.options.forceConfigDrive) return spec;
    if (!this.deps.configDrive) throw new Error(`Host ${this.options.host} cannot build config drives.`);
    if (!spec.configDrive) await this.deps.instances.update(spec.id, { config_drive: 'True' });
    return { ...spec, configDrive: true, configDriveFiles: await this.deps.configDrive.files(spec.id) };
  }

  private async allocateNetwork(instance: Instance): Promise<Array<{ portId: string; mac: string }>> {
    const network = this.deps.network;
    if (!network || instance.requestedNetworks === 'none') return [];
    try {
      await network.allocate(
        { id: instance.id, projectId: instance.projectId, host: this.options.host, securityGroups: instance.securityGroups },
        instance.requestedNetworks,
      );
    } catch (error) {
      // A server never runs without the network it asked for: the build ends here, with the reason.
      if (error instanceof PortBindingFailed) throw new BuildAbortError(error.message);
      throw error;
    }
    return (await network.ports(instance)).map((p) => ({ portId: p.id, mac: p.mac }));
  }

  private async cleanUpFailedBuild(instance: Instance, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const abort = error instanceof BuildAbortError;
    this.deps.log.warn({ instanceId: instance.id, host: this.options.host, reason }, abort ? 'spawn failed; build aborted' : 'spawn failed; rescheduling');
    await this.deps.driver.destroy(instance.id).catch(() => undefined);
    await this.deps.network?.deallocate(instance, preservedPorts(instance)).catch(() => undefined);
    await this.deps.hosts.release(instance.id);
    if (abort) {
      // Nova's BuildAbortException: another host would fail the same way, so no reschedule.
      const fault = { code: 500, message: `Build of instance ${instance.id} aborted: ${reason}`, created: new Date().toISOString() };
      await this.deps.instances.transition(
        instance.id,
        { vmState: ['building'], host: this.options.host },
        { vm_state: 'error', task_state: null, fault: JSON.stringify(fault) },
      );
      return;
    }
    const requeued = await this.deps.instances.transition(
      instance.id,
      { vmState: ['building'], host: this.options.host },
      { host: null, task_state: 'scheduling', attempted_hosts: JSON.stringify([...instance.attemptedHosts, this.options.host]) },
    );
    if (requeued) {
      await this.deps.bus.cast({ topic: CONDUCTOR_TOPIC }, ConductorMethods.reschedule, { instanceId: instance.id, reason });
    }
  }

  async terminate(instanceId: string): Promise<void> {
    const instance = await this.deps.instances.get(instanceId);
    if (!instance || instance.deleted) return;
    const finish = await this.deps.actions.event(instanceId, 'compute_terminate_instance', this.options.host);
    try {
      await this.deps.driver.destroy(instanceId);
      await this.deps.network?.deallocate(instance, preservedPorts(instance));
      await this.deps.hosts.release(instanceId);
      await this.deps.instances.markDeleted(instanceId);
      await finish();
    } catch (error) {
      await finish(error);
      await this.deps.instances.update(instanceId, { vm_state: 'error', task_state: null });
      throw error;
    }
  }

  private async power(instanceId: string, action: PowerAction): Promise<void> {
    await this.run(instanceId, action.event, action.task, async () => {
      await action.run(this.deps.driver, instanceId);
      return { vm_state: action.vmState, power_state: action.powerState };
    });
  }

  private async reboot({ instanceId, kind }: RebootArgs): Promise<void> {
    const task = kind === 'HARD' ? 'rebooting_hard' : 'rebooting';
    await this.run(instanceId, 'compute_reboot_instance', task, async () => {
      await this.deps.driver.reboot(instanceId, kind);
      return { vm_state: 'active', power_state: PowerState.RUNNING };
    });
  }

  /** Resize on this host: the claim grows to hold both flavors until confirm or revert. */
  private async resize(instanceId: string): Promise<void> {
    await this.run(instanceId, 'compute_resize_instance', 'resize_prep', async (instance) => {
      const target = instance.newFlavor;
      if (!target) throw new Error('resize without a new flavor');
      const before = resourcesOf(instance.flavor);
      const after = resourcesOf(target);
      const both = {
        vcpus: Math.max(before.vcpus, after.vcpus),
        memoryMb: Math.max(before.memoryMb, after.memoryMb),
        diskGb: Math.max(before.diskGb, after.diskGb),
      };
      if (!(await this.deps.hosts.reclaim(instanceId, both))) {
        throw new Error(`No valid host was found. Host ${this.options.host} has no room for flavor ${target.name}.`);
      }
      await this.deps.driver.resize(instanceSpec(instance, [], target));
      return {
        vm_state: 'resized',
        power_state: PowerState.RUNNING,
        ...flavorColumns(target),
        old_flavor: JSON.stringify(instance.flavor),
        new_flavor: null,
      };
    });
  }

  private async finishResize(instanceId: string, confirm: boolean): Promise<void> {
    const task = confirm ? 'resize_confirming' : 'resize_reverting';
    await this.run(instanceId, confirm ? 'compute_confirm_resize' : 'compute_revert_resize', task, async (instance) => {
      const old = instance.oldFlavor ?? instance.flavor;
      const kept = confirm ? instance.flavor : old;
      if (!confirm) await this.deps.driver.resize(instanceSpec(instance, [], old));
      // Shrinking to one flavor always fits: the claim held both.
      await this.deps.hosts.reclaim(instanceId, resourcesOf(kept));
      return { vm_state: 'active', power_state: PowerState.RUNNING, ...flavorColumns(kept), old_flavor: null };
    });
  }

  private async rebuild(instanceId: string): Promise<void> {
    await this.run(instanceId, 'compute_rebuild_instance', 'rebuilding', async (instance) => {
      const nics = this.deps.network ? (await this.deps.network.ports(instance)).map((p) => ({ portId: p.id, mac: p.mac })) : [];
      const spec = await this.withConfigDrive(instanceSpec(instance, nics));
      await this.deps.driver.destroy(instanceId);
      await this.deps.driver.spawn(spec);
      return { vm_state: 'active', power_state: PowerState.RUNNING, launched_at: new Date().toISOString() };
    });
  }

  private async snapshot({ instanceId, imageId }: SnapshotArgs): Promise<void> {
    await this.run(instanceId, 'compute_snapshot_instance', 'image_snapshot', async (instance) => {
      try {
        const { data } = await this.deps.driver.snapshot(instanceId);
        await this.deps.images.upload(instance.projectId, imageId, data);
      } catch (error) {
        await this.deps.images.discard(instance.projectId, imageId).catch(() => undefined);
        throw error;
      }
      return {};
    });
  }

  /**
   * Runs a driver step for an instance the API put under `task`. On success the returned
   * changes apply and the task clears; on failure the instance keeps its state, the task
   * clears and the action's event records the error, as Nova reverts a failed task.
   */
  private async run(
    instanceId: string,
    event: string,
    task: string,
    step: (instance: Instance) => Promise<Record<string, string | number | null>>,
  ): Promise<void> {
    const instance = await this.deps.instances.get(instanceId);
    if (!instance || instance.deleted || instance.taskState !== task || instance.host !== this.options.host) return;
    const finish = await this.deps.actions.event(instanceId, event, this.options.host);
    try {
      const changes = await step(instance);
      await this.deps.instances.transition(instanceId, { taskState: [task] }, { ...changes, task_state: null });
      await finish();
    } catch (error) {
      this.deps.log.warn({ instanceId, event, err: error }, 'instance action failed');
      await this.deps.instances.transition(instanceId, { taskState: [task] }, { task_state: null, new_flavor: null });
      await finish(error);
    }
  }

  /**
   * After a restart: builds that were under way cannot be resumed (their messages and half
   * made guests are gone) and end in ERROR with their claims released; tasks that were
   * running are cleared; guests the database says run here are brought back.
   */
  private async initHost(): Promise<void> {
    const mine = await this.deps.instances.list({ host: this.options.host, deleted: false });
    const actual = new Map((await this.deps.driver.listInstances()).map((i) => [i.id, i.powerState]));
    for (const instance of mine) {
      if (instance.vmState === 'building') {
        await this.deps.driver.destroy(instance.id).catch(() => undefined);
        await this.deps.network?.deallocate(instance, preservedPorts(instance)).catch(() => undefined);
        await this.deps.hosts.release(instance.id);
        await this.deps.instances.transition(
          instance.id,
          { vmState: ['building'] },
          {
            vm_state: 'error',
            task_state: null,
            fault: JSON.stringify({
              code: 500,
              message: `Build of instance ${instance.id} was interrupted by a restart of its compute agent.`,
              created: new Date().toISOString(),
            }),
          },
        );
        continue;
      }
      if (instance.taskState === 'deleting') {
        await this.terminate(instance.id);
        continue;
      }
      if (instance.taskState !== null) await this.deps.instances.update(instance.id, { task_state: null });
      if (instance.vmState === 'error') continue;
      // Unknown to the driver, or down when it should run (the host rebooted): bring it back.
      const power = actual.get(instance.id);
      const shouldRun = instance.powerState === PowerState.RUNNING || instance.powerState === PowerState.PAUSED;
      if (power === undefined || (shouldRun && power !== instance.powerState)) {
        try {
          await this.deps.driver.resumeStateOnHostBoot(instanceSpec(instance), instance.powerState as PowerStateValue);
        } catch (err) {
          // One guest that cannot come back must not keep the host from starting; the power sync reports it.
          this.deps.log.warn({ err, instanceId: instance.id, host: this.options.host }, 'could not resume an instance after a restart');
        }
      }
    }
    await this.deps.hosts.reconcile(this.options.host);
  }

  /** Makes the database agree with the hypervisor about power (Nova's _sync_power_states). */
  async syncPowerStates(): Promise<void> {
    const mine = await this.deps.instances.list({ host: this.options.host, deleted: false });
    for (const instance of mine) {
      if (instance.taskState !== null || instance.vmState === 'building' || instance.vmState === 'error') continue;
      const info = await this.deps.driver.instanceInfo(instance.id);
      await this.syncInstancePowerState(instance, info?.powerState ?? PowerState.NOSTATE);
    }
  }

  /**
   * The driver saw a guest change state by itself (its QEMU died): the instance is synced at
   * once instead of at the next periodic sync (Nova's handle_lifecycle_event).
   */
  async handleLifecycleEvent(instanceId: string, powerState: PowerStateValue): Promise<void> {
    try {
      const instance = await this.deps.instances.get(instanceId);
      if (!instance || instance.deleted || instance.host !== this.options.host) return;
      await this.syncInstancePowerState(instance, powerState);
    } catch (err) {
      this.deps.log.warn({ err, instanceId, host: this.options.host }, 'could not sync an instance after a lifecycle event');
    }
  }

  /**
   * Nova's _sync_instance_power_state: a task under way owns the state; otherwise the
   * database takes the hypervisor's power state, and a guest that went down behind our back
   * is stopped through a `stop` action, as Nova calls its stop API for it, so the user sees
   * why in os-instance-actions.
   */
  private async syncInstancePowerState(instance: Instance, power: PowerStateValue): Promise<void> {
    if (instance.taskState !== null || instance.vmState === 'building' || instance.vmState === 'error') return;
    if (power === instance.powerState) return;
    const wentDown = power === PowerState.SHUTDOWN || power === PowerState.CRASHED || power === PowerState.NOSTATE;
    const stoppedBehindOurBack = (instance.vmState === 'active' || instance.vmState === 'paused') && wentDown;
    const changed = await this.deps.instances.transition(
      instance.id,
      { vmState: [instance.vmState], taskState: [null] },
      { power_state: power, ...(stoppedBehindOurBack ? { vm_state: 'stopped' } : {}) },
    );
    if (!changed || !stoppedBehindOurBack) return;
    this.deps.log.warn({ instanceId: instance.id, host: this.options.host, powerState: power }, 'instance went down by itself: stopping it');
    await this.deps.actions.start(instance.id, 'stop', { projectId: instance.projectId, userId: instance.userId, requestId: `req-${randomUUID()}` });
    const finish = await this.deps.actions.event(instance.id, 'compute_stop_instance', this.options.host);
    try {
      // A crashed guest may still hold its QEMU; a stopped instance must not.
      if (power === PowerState.CRASHED) await this.deps.driver.powerOff(instance.id);
      await finish();
    } catch (error) {
      await finish(error);
    }
  }
}
