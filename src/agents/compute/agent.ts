import { randomUUID } from 'node:crypto';
import type { Bus, ListenHandle } from '../../core/bus/bus.js';
import type { Logger } from '../../core/log.js';
import {
  COMPUTE_TOPIC,
  ComputeMethods,
  CONDUCTOR_TOPIC,
  ConductorMethods,
  type AttachVolumeArgs,
  type ConsoleArgs,
  type ConsoleOutputArgs,
  type BuildArgs,
  type DetachVolumeArgs,
  type ExtendVolumeArgs,
  type InstanceArgs,
  type RebootArgs,
  type SnapshotArgs,
} from '../../contracts/compute.js';
import type { BuildRequest, ComputeHostApi, HostFlavor, HostImageTransfer, HostInstance, InstanceChanges } from '../../contracts/compute-host.js';
import { directBootOf, instanceSpec } from './instance-spec.js';
import { BuildAbortError, PowerState, VirtError, type InstanceSpec, type PowerStateValue, type VirtDriver } from './virt/driver.js';

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
  /** The control plane, through the compute-host contract: every state read and write. */
  control: ComputeHostApi;
  /** Image data: snapshots uploaded (and discarded when they fail). */
  images: HostImageTransfer;
  /** This host makes config drives (the control plane answers with the metadata service's files). */
  configDrive?: boolean;
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
  [ComputeMethods.rescue]: { event: 'compute_rescue_instance', task: 'rescuing', run: (d, id) => rescueStep(d, id, 'rescue'), vmState: 'rescued', powerState: PowerState.RUNNING },
  [ComputeMethods.unrescue]: { event: 'compute_unrescue_instance', task: 'unrescuing', run: (d, id) => rescueStep(d, id, 'unrescue'), vmState: 'active', powerState: PowerState.RUNNING },
};

/** Rescue and unrescue through a driver that has them (compute does not send them to hosts whose driver lacks them). */
function rescueStep(driver: VirtDriver, id: string, step: 'rescue' | 'unrescue'): Promise<void> {
  const run = driver[step]?.bind(driver);
  if (!run) throw new VirtError(`Instance ${id} cannot be rescued: the ${driver.name} driver does not support rescue.`);
  return run(id);
}

/**
 * The compute agent of one host (Nova's nova-compute): registers the host, keeps its
 * heartbeat, runs what the conductor and API send it through the VirtDriver, and reports
 * every state change to the control plane over the bus (it has no database). Every handler
 * starts from the instance's current state, so a repeated or late message does no harm.
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
    await this.deps.control.register({
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
    this.every(this.options.heartbeatIntervalSeconds, () => this.deps.control.heartbeat(this.options.host));
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
        return this.buildAndRun(instanceId, (args as BuildArgs).request);
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
      case ComputeMethods.diagnostics:
        return this.deps.driver.diagnostics(instanceId);
      case ComputeMethods.console:
        return this.deps.driver.console(instanceId, (args as ConsoleArgs).protocol);
      default: {
        const action = POWER_ACTIONS[method];
        if (!action) throw new Error(`unknown compute method ${method}`);
        return this.power(instanceId, action);
      }
    }
  }

  /** Records an action event through the control plane; returns what ends it. */
  private async event(instanceId: string, event: string): Promise<(error?: unknown) => Promise<void>> {
    const handle = await this.deps.control.startEvent(instanceId, event, this.options.host);
    if (!handle) return async () => undefined;
    return (error?: unknown) => this.deps.control.finishEvent(handle, error === undefined ? undefined : describe(error));
  }

  /**
   * Volume calls (the API waits for them, as Nova's attach waits for the compute host): only
   * for an instance this host runs; the driver's error goes back to the caller.
   */
  private async onInstanceHere(instanceId: string, step: () => Promise<void>): Promise<null> {
    const instance = await this.deps.control.getInstance(instanceId);
    if (!instance || instance.deleted || instance.host !== this.options.host) throw new Error(`Instance ${instanceId} is not on host ${this.options.host}.`);
    await step();
    return null;
  }

  /**
   * Spawns a placed instance from the build request the conductor sent; a failure goes back
   * to the conductor to try another host.
   */
  async buildAndRun(instanceId: string, request?: BuildRequest): Promise<void> {
    const control = this.deps.control;
    const mine = { vmState: ['building'], taskState: ['scheduling'], host: this.options.host };
    if (!(await control.transition(instanceId, mine, { taskState: 'networking' }))) return;
    // A message from before the contract carried the id only: read the instance then.
    const instance = request?.instance ?? (await control.getInstance(instanceId));
    if (!instance) return;
    const finish = await this.event(instanceId, 'compute__do_build_and_run_instance');
    try {
      const nics = await this.allocateNetwork(instance);
      if (!(await control.transition(instanceId, { taskState: ['networking'] }, { taskState: 'spawning' }))) {
        throw new Error('instance was deleted while its network was set up');
      }
      // The volumes the conductor attached for this host (Nova's block_device_info).
      const volumes = (request?.blockDeviceMappings ?? []).map((b) => ({ volumeId: b.volumeId, connectionInfo: b.connectionInfo, bootIndex: b.bootIndex }));
      const root = volumes.find((v) => v.bootIndex === 0);
      const others = volumes.filter((v) => v.bootIndex !== 0).map(({ volumeId, connectionInfo }) => ({ volumeId, connectionInfo }));
      // A kernel image boots directly from an image; a volume boots as its disk says.
      const directBoot = root ? undefined : directBootOf(request?.image);
      const spec: InstanceSpec = {
        ...instanceSpec(instance, nics),
        ...(root ? { rootVolume: { volumeId: root.volumeId, connectionInfo: root.connectionInfo } } : {}),
        ...(others.length > 0 ? { volumes: others } : {}),
        ...(directBoot ? { directBoot } : {}),
      };
      await this.deps.driver.spawn(await this.withConfigDrive(spec));
      const active = await control.transition(
        instanceId,
        { vmState: ['building'], taskState: ['spawning'] },
        { vmState: 'active', taskState: null, powerState: PowerState.RUNNING, launchedAt: new Date().toISOString() },
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
    if (!spec.configDrive) await this.deps.control.update(spec.id, { configDrive: true });
    const files = await this.deps.control.configDriveFiles(spec.id);
    const decoded = new Map(Object.entries(files).map(([path, base64]) => [path, Buffer.from(base64, 'base64')]));
    return { ...spec, configDrive: true, configDriveFiles: decoded };
  }

  /** The instance's ports, made and bound to this host by the network service (through the control plane). */
  private async allocateNetwork(instance: HostInstance): Promise<Array<{ portId: string; mac: string }>> {
    if (instance.requestedNetworks === 'none') return [];
    const result = await this.deps.control.allocateNetwork(instance.id, this.options.host);
    // A server never runs without the network it asked for: the build ends here, with the reason.
    if ('bindingFailed' in result) throw new BuildAbortError(result.message);
    return result.nics;
  }

  private async cleanUpFailedBuild(instance: HostInstance, error: unknown): Promise<void> {
    const control = this.deps.control;
    const reason = error instanceof Error ? error.message : String(error);
    const abort = error instanceof BuildAbortError;
    this.deps.log.warn({ instanceId: instance.id, host: this.options.host, reason }, abort ? 'spawn failed; build aborted' : 'spawn failed; rescheduling');
    await this.deps.driver.destroy(instance.id).catch(() => undefined);
    await control.deallocateNetwork(instance.id).catch(() => undefined);
    await control.release(instance.id);
    if (abort) {
      // Nova's BuildAbortException: another host would fail the same way, so no reschedule.
      const fault = { code: 500, message: `Build of instance ${instance.id} aborted: ${reason}`, created: new Date().toISOString() };
      await control.transition(instance.id, { vmState: ['building'], host: this.options.host }, { vmState: 'error', taskState: null, fault });
      return;
    }
    const requeued = await control.transition(
      instance.id,
      { vmState: ['building'], host: this.options.host },
      { host: null, taskState: 'scheduling', attemptedHosts: [...instance.attemptedHosts, this.options.host] },
    );
    if (requeued) {
      await this.deps.bus.cast({ topic: CONDUCTOR_TOPIC }, ConductorMethods.reschedule, { instanceId: instance.id, reason });
    }
  }

  async terminate(instanceId: string): Promise<void> {
    const control = this.deps.control;
    const instance = await control.getInstance(instanceId);
    if (!instance || instance.deleted) return;
    const finish = await this.event(instanceId, 'compute_terminate_instance');
    try {
      await this.deps.driver.destroy(instanceId);
      await control.deallocateNetwork(instanceId);
      await control.release(instanceId);
      await control.markDeleted(instanceId);
      await finish();
    } catch (error) {
      await finish(error);
      await control.update(instanceId, { vmState: 'error', taskState: null });
      throw error;
    }
  }

  private async power(instanceId: string, action: PowerAction): Promise<void> {
    await this.run(instanceId, action.event, action.task, async () => {
      await action.run(this.deps.driver, instanceId);
      return { vmState: action.vmState, powerState: action.powerState };
    });
  }

  private async reboot({ instanceId, kind }: RebootArgs): Promise<void> {
    const task = kind === 'HARD' ? 'rebooting_hard' : 'rebooting';
    await this.run(instanceId, 'compute_reboot_instance', task, async () => {
      await this.deps.driver.reboot(instanceId, kind);
      return { vmState: 'active', powerState: PowerState.RUNNING };
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
      if (!(await this.deps.control.reclaim(instanceId, both))) {
        throw new Error(`No valid host was found. Host ${this.options.host} has no room for flavor ${target.name}.`);
      }
      await this.deps.driver.resize(instanceSpec(instance, [], target));
      return { vmState: 'resized', powerState: PowerState.RUNNING, flavor: target, oldFlavor: instance.flavor, newFlavor: null };
    });
  }

  private async finishResize(instanceId: string, confirm: boolean): Promise<void> {
    const task = confirm ? 'resize_confirming' : 'resize_reverting';
    await this.run(instanceId, confirm ? 'compute_confirm_resize' : 'compute_revert_resize', task, async (instance) => {
      const old = instance.oldFlavor ?? instance.flavor;
      const kept = confirm ? instance.flavor : old;
      if (!confirm) await this.deps.driver.resize(instanceSpec(instance, [], old));
      // Shrinking to one flavor always fits: the claim held both.
      await this.deps.control.reclaim(instanceId, resourcesOf(kept));
      return { vmState: 'active', powerState: PowerState.RUNNING, flavor: kept, oldFlavor: null };
    });
  }

  private async rebuild(instanceId: string): Promise<void> {
    await this.run(instanceId, 'compute_rebuild_instance', 'rebuilding', async (instance) => {
      const nics = await this.deps.control.instanceNics(instanceId);
      const spec = await this.withConfigDrive(instanceSpec(instance, nics));
      await this.deps.driver.destroy(instanceId);
      await this.deps.driver.spawn(spec);
      return { vmState: 'active', powerState: PowerState.RUNNING, launchedAt: new Date().toISOString() };
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
  private async run(instanceId: string, event: string, task: string, step: (instance: HostInstance) => Promise<InstanceChanges>): Promise<void> {
    const control = this.deps.control;
    const instance = await control.getInstance(instanceId);
    if (!instance || instance.deleted || instance.taskState !== task || instance.host !== this.options.host) return;
    const finish = await this.event(instanceId, event);
    try {
      const changes = await step(instance);
      await control.transition(instanceId, { taskState: [task] }, { ...changes, taskState: null });
      await finish();
    } catch (error) {
      this.deps.log.warn({ instanceId, event, err: error }, 'instance action failed');
      await control.transition(instanceId, { taskState: [task] }, { taskState: null, newFlavor: null });
      await finish(error);
    }
  }

  /**
   * After a restart: builds that were under way cannot be resumed (their messages and half
   * made guests are gone) and end in ERROR with their claims released; tasks that were
   * running are cleared; guests the control plane says run here are brought back (adopted).
   */
  private async initHost(): Promise<void> {
    const control = this.deps.control;
    const mine = await control.listInstances(this.options.host);
    const actual = new Map((await this.deps.driver.listInstances()).map((i) => [i.id, i.powerState]));
    for (const instance of mine) {
      if (instance.vmState === 'building') {
        await this.deps.driver.destroy(instance.id).catch(() => undefined);
        await control.deallocateNetwork(instance.id).catch(() => undefined);
        await control.release(instance.id);
        await control.transition(
          instance.id,
          { vmState: ['building'] },
          {
            vmState: 'error',
            taskState: null,
            fault: {
              code: 500,
              message: `Build of instance ${instance.id} was interrupted by a restart of its compute agent.`,
              created: new Date().toISOString(),
            },
          },
        );
        continue;
      }
      if (instance.taskState === 'deleting') {
        await this.terminate(instance.id);
        continue;
      }
      if (instance.taskState !== null) await control.update(instance.id, { taskState: null });
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
    // Guests no instance of this host accounts for (a build the control plane failed while this
    // agent was down, an instance deleted meanwhile): ghosts, removed as Nova's init_host does.
    const accounted = new Set(mine.map((i) => i.id));
    for (const id of actual.keys()) {
      if (accounted.has(id)) continue;
      this.deps.log.warn({ instanceId: id, host: this.options.host }, 'removing a guest no instance of this host accounts for');
      await this.deps.driver.destroy(id).catch((err: unknown) => this.deps.log.warn({ err, instanceId: id }, 'could not remove a ghost guest'));
    }
    await control.reconcile(this.options.host);
  }

  /** Makes the control plane agree with the hypervisor about power (Nova's _sync_power_states). */
  async syncPowerStates(): Promise<void> {
    const mine = await this.deps.control.listInstances(this.options.host);
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
      const instance = await this.deps.control.getInstance(instanceId);
      if (!instance || instance.deleted || instance.host !== this.options.host) return;
      await this.syncInstancePowerState(instance, powerState);
    } catch (err) {
      this.deps.log.warn({ err, instanceId, host: this.options.host }, 'could not sync an instance after a lifecycle event');
    }
  }

  /**
   * Nova's _sync_instance_power_state: a task under way owns the state; otherwise the
   * control plane takes the hypervisor's power state, and a guest that went down behind our
   * back is stopped through a `stop` action, as Nova calls its stop API for it, so the user
   * sees why in os-instance-actions.
   */
  private async syncInstancePowerState(instance: HostInstance, power: PowerStateValue): Promise<void> {
    if (instance.taskState !== null || instance.vmState === 'building' || instance.vmState === 'error') return;
    if (power === instance.powerState) return;
    const wentDown = power === PowerState.SHUTDOWN || power === PowerState.CRASHED || power === PowerState.NOSTATE;
    const stoppedBehindOurBack = (instance.vmState === 'active' || instance.vmState === 'paused') && wentDown;
    const changed = await this.deps.control.transition(
      instance.id,
      { vmState: [instance.vmState], taskState: [null] },
      { powerState: power, ...(stoppedBehindOurBack ? { vmState: 'stopped' } : {}) },
    );
    if (!changed || !stoppedBehindOurBack) return;
    this.deps.log.warn({ instanceId: instance.id, host: this.options.host, powerState: power }, 'instance went down by itself: stopping it');
    await this.deps.control.startAction(instance.id, 'stop', { projectId: instance.projectId, userId: instance.userId, requestId: `req-${randomUUID()}` });
    const finish = await this.event(instance.id, 'compute_stop_instance');
    try {
      // A crashed guest may still hold its QEMU; a stopped instance must not.
      if (power === PowerState.CRASHED) await this.deps.driver.powerOff(instance.id);
      await finish();
    } catch (error) {
      await finish(error);
    }
  }
}

/** Resources an instance holds on its host, as the claims count them. */
function resourcesOf(flavor: HostFlavor): { vcpus: number; memoryMb: number; diskGb: number } {
  return { vcpus: flavor.vcpus, memoryMb: flavor.memoryMb, diskGb: flavor.rootGb + flavor.ephemeralGb + Math.ceil(flavor.swapMb / 1024) };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
