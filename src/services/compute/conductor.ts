import { ControlServices } from './control-services.js';
import type { Bus, ListenHandle } from '../../core/bus/bus.js';
import { isUniqueViolation } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import {
  COMPUTE_TOPIC,
  ComputeMethods,
  CONDUCTOR_TOPIC,
  ConductorMethods,
  type BuildArgs,
  type BuildInstancesArgs,
  type RescheduleArgs,
} from '../../contracts/compute.js';
import type { VolumeClient } from '../../contracts/volume.js';
import { BlockDeviceError, prepareBlockDevices } from './block-device-prep.js';
import { isUp, type ComputeHosts } from './hosts.js';
import { BlockDevices } from './store/block-devices.js';
import type { InstanceActions } from './store/instance-actions.js';
import { preservedPorts, resourcesOf, type Fault, type Instance } from './instances/model.js';
import type { InstanceRecords } from './store/instances.js';
import { ServerGroupRecords } from './store/server-groups.js';
import type { BuildRequest, HostImageMeta } from '../../contracts/compute-host.js';
import { hostInstanceOf } from './host-endpoint.js';
import type { ComputeImage, ImageLookup, NetworkPorts } from './peers.js';
import type { HostState, RequestSpec, Scheduler } from './scheduler/types.js';
import type { ComputeTables } from './tables.js';
import type { Kysely } from 'kysely';

export interface ConductorDeps {
  db: Kysely<ComputeTables>;
  bus: Bus;
  instances: InstanceRecords;
  hosts: ComputeHosts;
  actions: InstanceActions;
  images: ImageLookup;
  /** Ports of builds lost with their host are given back through it. */
  network?: NetworkPorts;
  scheduler: Scheduler;
  log: Logger;
  maxAttempts: number;
  serviceDownTimeSeconds: number;
  /** How long a snapshot of the hosts may serve decisions before it is read again. */
  hostCacheMs?: number;
  /** The volume service, for boots with volumes (read when needed: it may be wired in after). */
  volumes?: () => VolumeClient | undefined;
}

/** How many hosts one decision offers, best first (Nova's host_subset_size plus alternates). */
const CANDIDATES = 16;

export const NO_VALID_HOST = 'No valid host was found. There are not enough hosts available.';

/**
 * Nova's conductor for the boot workflow: schedules each instance (filters, weighers), claims
 * its resources on the chosen host, and hands it to that host's agent; a failed spawn comes
 * back here to be tried on another host until the attempts run out.
 */
export class Conductor {
  private listener: ListenHandle | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private cached: { at: number; states: HostState[] } | undefined;
  private refreshing: Promise<HostState[]> | undefined;
  /** Builds wait for this before placing: the all-in-one's host registers after its KVM probe. */
  private hostsReady: Promise<void> = Promise.resolve();
  /** One placement per instance at a time: a held build and the restart sweep can name the same one. */
  private readonly placing = new Map<string, Promise<void>>();
  /**
   * Members of one server group are placed one after another by this conductor: two decided at
   * once can each see the other's claim in the late check, both step back, and both end in
   * NoValidHost. The late check still guards against other conductors.
   */
  private readonly groupTurns = new Map<string, Promise<unknown>>();

  private readonly blockDevices: BlockDevices;
  private readonly controlServices: ControlServices;
  private readonly groups: ServerGroupRecords;
  /** The host name this conductor listens as, once it does. */
  private server: string | undefined;

  constructor(private readonly deps: ConductorDeps) {
    this.blockDevices = new BlockDevices(deps.db);
    this.controlServices = new ControlServices(deps.db);
    this.groups = new ServerGroupRecords(deps.db);
  }

  /**
   * Builds asked for before `ready` settles are placed after it, not refused for want of a
   * host: a boot in the first seconds of a start waits in BUILD for the host being probed.
   */
  holdBuildsUntil(ready: Promise<unknown>): void {
    this.hostsReady = ready.then(
      () => undefined,
      () => undefined,
    );
  }

  async start(server: string): Promise<void> {
    await this.listen(server);
    await this.recover();
  }

  /** Takes build requests; `recover` can come later (once the compute hosts are up). */
  async listen(server: string): Promise<void> {
    this.server = server;
    await this.controlServices.heartbeat(server);
    this.startSweeper();
    this.listener = await this.deps.bus.listen(CONDUCTOR_TOPIC, server, async (method, args) => {
      if (method === ConductorMethods.buildInstances) {
        await Promise.all((args as BuildInstancesArgs).instanceIds.map((id) => this.build(id)));
        return;
      }
      if (method === ConductorMethods.reschedule) return this.build((args as RescheduleArgs).instanceId, (args as RescheduleArgs).reason);
      throw new Error(`unknown conductor method ${method}`);
    });
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.listener?.close();
  }

  /**
   * A host that went down (no heartbeat for the service down time) took its builds with it:
   * they end in ERROR, with their claims and ports given back, and are not rescheduled (their
   * guest may yet exist on the dead host). Their host is cleared, so the agent, when it comes
   * back, finds their leftovers foreign and removes them.
   */
  async failBuildsOfDownHosts(now = Date.now()): Promise<number> {
    const down = (await this.deps.hosts.list()).filter((row) => !isUp(row, this.deps.serviceDownTimeSeconds, now)).map((row) => row.host);
    if (down.length === 0) return 0;
    const lost = await this.deps.instances.buildingIds(down);
    let failed = 0;
    for (const id of lost) {
      const instance = await this.deps.instances.get(id);
      if (!instance?.host) continue;
      const fault: Fault = {
        code: 500,
        message: `Build of instance ${id} was lost: its compute host ${instance.host} went down (no heartbeat for ${this.deps.serviceDownTimeSeconds} s).`,
        created: new Date(now).toISOString(),
      };
      const changed = await this.deps.instances.transition(
        id,
        { vmState: ['building'], host: instance.host },
        { vm_state: 'error', task_state: null, host: null, fault: JSON.stringify(fault) },
      );
      if (!changed) continue;
      failed++;
      this.deps.log.warn({ instanceId: id, host: instance.host }, 'build lost with its compute host: ERROR');
      await this.deps.hosts.release(id);
      await this.deps.network?.deallocate(instance, preservedPorts(instance)).catch((err: unknown) => this.deps.log.warn({ err, instanceId: id }, 'could not free the ports of a lost build'));
      const finish = await this.deps.actions.event(id, 'conductor_host_down', null);
      await finish(new Error(fault.message));
    }
    return failed;
  }

  private startSweeper(): void {
    if (this.sweeper) return;
    const everyMs = Math.max(1000, (this.deps.serviceDownTimeSeconds * 1000) / 2);
    this.sweeper = setInterval(() => {
      // The conductor's (and its scheduler's) beat for os-services, on the same clock as the sweep.
      if (this.server) this.controlServices.heartbeat(this.server).catch((err: unknown) => this.deps.log.warn({ err }, 'could not record the conductor heartbeat'));
      this.failBuildsOfDownHosts().catch((err: unknown) => this.deps.log.warn({ err }, 'could not check for builds lost with their hosts'));
    }, everyMs);
    this.sweeper.unref();
  }

  /**
   * After a restart: instances recorded but never placed lost their message with the process;
   * schedule them now. Those already placed are their agent's to finish.
   */
  async recover(): Promise<void> {
    const stranded = await this.deps.instances.buildingIds(null);
    if (stranded.length > 0) this.deps.log.info({ count: stranded.length }, 'scheduling instances left unplaced by a restart');
    await Promise.all(stranded.map((id) => this.build(id)));
  }

  /** Places one instance; safe to call twice (only an unplaced, building instance is touched). */
  build(instanceId: string, previousFailure?: string): Promise<void> {
    const running = this.placing.get(instanceId);
    if (running) return running;
    const placement = this.place(instanceId, previousFailure).finally(() => this.placing.delete(instanceId));
    this.placing.set(instanceId, placement);
    return placement;
  }

  private async place(instanceId: string, previousFailure?: string): Promise<void> {
    await this.hostsReady;
    const instance = await this.deps.instances.get(instanceId);
    if (!instance || instance.deleted || instance.vmState !== 'building' || instance.host !== null) return;
    const finish = await this.deps.actions.event(instanceId, 'conductor_schedule_and_build_instances', null);
    try {
      if (instance.attemptedHosts.length >= this.deps.maxAttempts) {
        await this.fail(instance, {
          code: 500,
          message: `Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance ${instance.id}.`,
          ...(previousFailure ? { details: previousFailure } : {}),
          created: new Date().toISOString(),
        });
        await finish(new Error('MaxRetriesExceeded'));
        return;
      }
      // A claim without a placement is a decision lost to a restart: start from a clean slate.
      await this.deps.hosts.release(instance.id);
      const image = await this.deps.images.get(instance.projectId, instance.imageRef);
      const spec = await this.requestSpec(instance, image);
      const host = await this.placeAndClaim(instance, spec);
      if (!host) {
        await this.fail(instance, { code: 500, message: NO_VALID_HOST, details: NO_VALID_HOST, created: new Date().toISOString() });
        await finish(new Error('NoValidHost'));
        return;
      }
      const placed = await this.deps.instances.transition(
        instance.id,
        { vmState: ['building'], host: null },
        { host: host.host, availability_zone: host.availabilityZone, task_state: 'scheduling' },
      );
      if (!placed) {
        // Deleted (or placed by a duplicate message) while we scheduled: give the claim back.
        await this.deps.hosts.release(instance.id);
        await finish();
        return;
      }
      let prepared;
      try {
        prepared = await prepareBlockDevices({ volumes: this.deps.volumes?.(), blockDevices: this.blockDevices, hosts: this.deps.hosts, log: this.deps.log }, instance, host.host);
      } catch (error) {
        if (!(error instanceof BlockDeviceError)) throw error;
        // Nova's BuildAbortException: no other host would do better with this volume.
        await this.deps.hosts.release(instance.id);
        await this.fail(instance, { code: 500, message: `Build of instance ${instance.id} aborted: ${error.message}`, created: new Date().toISOString() });
        await finish(error);
        return;
      }
      await finish();
      // The whole build request goes to the host (Nova's build_and_run_instance): it reads nothing back.
      const request: BuildRequest = {
        instance: hostInstanceOf({ ...instance, host: host.host, availabilityZone: host.availabilityZone, taskState: 'scheduling' }),
        image: image ? imageMetaOf(image) : null,
        blockDeviceMappings: prepared,
      };
      const args: BuildArgs = { instanceId: instance.id, request };
      await this.deps.bus.cast({ topic: COMPUTE_TOPIC, server: host.host }, ComputeMethods.buildAndRun, args);
    } catch (error) {
      if (isUniqueViolation(error)) {
        // Another conductor holds a claim for it: that one is placing it.
        this.deps.log.info({ instanceId }, 'another conductor is placing this instance');
        await finish();
        return;
      }
      this.deps.log.error({ err: error, instanceId }, 'scheduling failed');
      await this.deps.hosts.release(instanceId).catch(() => undefined);
      await this.fail(instance, { code: 500, message: 'Build of instance failed while scheduling.', details: String(error), created: new Date().toISOString() });
      await finish(error);
    }
  }

  private async fail(instance: Instance, fault: Fault): Promise<void> {
    await this.deps.instances.transition(
      instance.id,
      { vmState: ['building'] },
      { vm_state: 'error', task_state: null, fault: JSON.stringify(fault), host: null },
    );
  }

  /** Tries the scheduler's candidates best first; a lost race on a claim moves on to the next. */
  private placeAndClaim(instance: Instance, spec: RequestSpec): Promise<HostState | undefined> {
    const group = spec.group?.id;
    if (!group) return this.placeAndClaimNow(instance, spec);
    const previous = this.groupTurns.get(group) ?? Promise.resolve();
    const turn = previous.catch(() => undefined).then(() => this.placeAndClaimNow(instance, spec));
    this.groupTurns.set(group, turn);
    void turn.finally(() => {
      if (this.groupTurns.get(group) === turn) this.groupTurns.delete(group);
    }).catch(() => undefined);
    return turn;
  }

  private async placeAndClaimNow(instance: Instance, spec: RequestSpec): Promise<HostState | undefined> {
    const wanted = resourcesOf(instance.flavor);
    for (let pass = 0; pass < 2; pass++) {
      const states = pass === 0 ? await this.hostStates() : await this.refreshHosts();
      // Like Nova's alternates: the best few are enough to survive lost claim races.
      const candidates = this.deps.scheduler.select(spec, states, CANDIDATES);
      for (const candidate of candidates) {
        const aliveSince = new Date(Date.now() - this.deps.serviceDownTimeSeconds * 1000);
        if (!(await this.deps.hosts.claim(candidate.host, instance.id, wanted, spec.forceHost ? undefined : aliveSince))) continue;
        if (spec.group && !(await this.groupStillHolds(instance, spec, candidate.host))) {
          await this.deps.hosts.release(instance.id);
          continue;
        }
        this.noteClaim(candidate.host, wanted);
        return candidate;
      }
      // Every candidate was taken by a faster boot, or the snapshot missed a release: decide
      // once more on fresh numbers.
    }
    return undefined;
  }

  /**
   * Two members of an anti-affinity group scheduled at once can both pick the same host; the
   * later check (Nova's late affinity check on the compute host) sends one elsewhere.
   */
  private async groupStillHolds(instance: Instance, spec: RequestSpec, host: string): Promise<boolean> {
    const group = spec.group;
    if (!group || group.policy.startsWith('soft-')) return true;
    const others = await this.memberHosts(group.id, instance.id, true);
    if (group.policy === 'anti-affinity') return !others.includes(host);
    return others.every((h) => h === host);
  }

  private memberHosts(groupId: string, exceptInstance: string, includeClaims: boolean): Promise<string[]> {
    return this.groups.memberHosts(groupId, exceptInstance, includeClaims);
  }

  private async requestSpec(instance: Instance, image: ComputeImage | undefined): Promise<RequestSpec> {
    const resources = resourcesOf(instance.flavor);
    const hints = instance.schedulerHints;
    const spec: RequestSpec = {
      instanceId: instance.id,
      projectId: instance.projectId,
      vcpus: resources.vcpus,
      memoryMb: resources.memoryMb,
      diskGb: resources.diskGb,
      imageProperties: image?.properties ?? {},
      ignoreHosts: new Set(instance.attemptedHosts),
    };
    const { zone, host } = parseZone(instance.availabilityZone);
    if (zone) spec.availabilityZone = zone;
    if (host) spec.forceHost = host;
    if (hints.group) {
      const group = await this.groups.get(hints.group);
      if (group) {
        const rules = JSON.parse(group.rules) as { max_server_per_host?: number };
        spec.group = {
          id: group.id,
          policy: group.policy as NonNullable<RequestSpec['group']>['policy'],
          memberHosts: await this.memberHosts(group.id, instance.id, true),
          ...(rules.max_server_per_host !== undefined ? { maxServerPerHost: rules.max_server_per_host } : {}),
        };
      }
    }
    if (hints.same_host?.length) spec.sameHost = await this.hostsOf(hints.same_host);
    if (hints.different_host?.length) spec.differentHost = await this.hostsOf(hints.different_host);
    return spec;
  }

  private hostsOf(instanceIds: string[]): Promise<string[]> {
    return this.deps.instances.hostsOf(instanceIds);
  }

  private isStale(): boolean {
    return !this.cached || Date.now() - this.cached.at > (this.deps.hostCacheMs ?? 1000);
  }

  private async hostStates(): Promise<HostState[]> {
    if (this.cached && !this.isStale()) return this.cached.states;
    return this.refreshHosts();
  }

  /** One database read serves every decision waiting on it. */
  private async refreshHosts(): Promise<HostState[]> {
    this.refreshing ??= this.deps.hosts
      .states(this.deps.serviceDownTimeSeconds)
      .then((states) => {
        this.cached = { at: Date.now(), states };
        return states;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Keeps the snapshot close to the truth between reads, so concurrent boots spread out. */
  private noteClaim(host: string, wanted: { vcpus: number; memoryMb: number; diskGb: number }): void {
    const state = this.cached?.states.find((s) => s.host === host);
    if (!state) return;
    state.vcpusUsed += wanted.vcpus;
    state.memoryMbUsed += wanted.memoryMb;
    state.localGbUsed += wanted.diskGb;
    state.runningVms += 1;
  }
}

/** Nova's `zone`, `zone:host` or `zone::node` availability_zone forms. */
export function parseZone(value: string | null): { zone?: string; host?: string } {
  if (!value) return {};
  const [zone, host] = value.split(':', 2);
  return { ...(zone ? { zone } : {}), ...(host ? { host } : {}) };
}

function imageMetaOf(image: ComputeImage): HostImageMeta {
  return {
    id: image.id,
    diskFormat: image.diskFormat,
    containerFormat: image.containerFormat,
    minDisk: image.minDisk,
    minRam: image.minRam,
    size: image.size,
    properties: image.properties,
  };
}
