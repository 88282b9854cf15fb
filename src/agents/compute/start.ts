import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { HostImageTransfer } from '../../contracts/compute-host.js';
import { chooseDataplane, onPath } from '../network/start.js';
import { ComputeAgent } from './agent.js';
import { ComputeHostClient } from './host-client.js';
import type { PowerStateValue, VirtDriver } from './virt/driver.js';
import { FakeDriver } from './virt/fake/fake.js';
import { resolveAccel, type AccelChoice } from './virt/qemu/accel.js';
import { imageCacheDirOf, QemuDriver } from './virt/qemu/driver.js';
import { ImageCache } from './virt/qemu/image-cache.js';

/**
 * What a host's agents need besides the bus: where image data comes from and goes to (the
 * Image API over HTTP when split, the image service in-process in `kumo up`), and whether
 * the control plane can give them config drives.
 */
export interface ComputeHostPlane {
  images: HostImageTransfer;
  configDrive: boolean;
}

/** Which driver runs this host's guests, and why, for the start-up banner. */
export interface DriverChoice {
  name: 'fake' | 'qemu';
  reason: string;
  /** qemu only: the accelerator QEMU gets, and why (once known). */
  accel?: AccelChoice;
  /**
   * qemu with `--accel auto` and no answer kept for this host: the KVM probe runs in the
   * background, and the compute host registers (and gets instances) once it has answered.
   */
  probing?: { answer: Promise<AccelChoice>; abort(): void };
}

const QEMU_BINARY = 'qemu-system-x86_64';
const TUN_DEVICE = '/dev/net/tun';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What keeps the qemu driver from running here (empty: nothing). */
export function qemuBlockers(config: KumoConfig): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (taps, QEMU in the host namespace)');
  const binary = config.compute.qemuBinary ?? QEMU_BINARY;
  if (!(binary.includes('/') ? executable(binary) : onPath(binary))) missing.push(`${binary} (apt-get install qemu-system-x86)`);
  if (!onPath('qemu-img')) missing.push('qemu-img (apt-get install qemu-utils)');
  try {
    accessSync(TUN_DEVICE, constants.R_OK | constants.W_OK);
  } catch {
    missing.push(TUN_DEVICE);
  }
  return missing;
}

/**
 * `--compute-driver`: `fake` or `qemu` on request (qemu refused, naming what is missing, when
 * it cannot run); unset picks qemu when it can run and the linuxbridge dataplane connects its
 * guests, and fake otherwise, saying why. For qemu it also settles the accelerator.
 */
export async function chooseDriver(config: KumoConfig, options: { probeAfter?: Promise<unknown> } = {}): Promise<DriverChoice> {
  const wanted = config.compute.driver;
  if (wanted === 'fake') return { name: 'fake', reason: 'requested with --compute-driver fake' };
  if (wanted !== undefined && wanted !== '' && wanted !== 'qemu') throw new Error(`--compute-driver ${wanted}: use fake or qemu`);
  const blockers = qemuBlockers(config);
  let reason: string;
  if (wanted === 'qemu') {
    if (blockers.length > 0) throw new Error(`--compute-driver qemu needs ${blockers.join(', ')}`);
    const dataplane = chooseDataplane(config);
    reason =
      dataplane.name === 'linuxbridge'
        ? 'requested with --compute-driver qemu'
        : `requested with --compute-driver qemu; the ${dataplane.name} dataplane leaves guests' NICs unconnected`;
  } else {
    if (blockers.length > 0) return { name: 'fake', reason: `instances are simulated (fake driver): the qemu driver needs ${blockers.join(', ')}` };
    const dataplane = chooseDataplane(config);
    if (dataplane.name !== 'linuxbridge') {
      return { name: 'fake', reason: `instances are simulated (fake driver): real guests need the linuxbridge dataplane, and it is ${dataplane.name} (${dataplane.reason})` };
    }
    reason = 'running as root with QEMU, qemu-img, /dev/net/tun and the linuxbridge dataplane: instances are QEMU guests';
  }
  const resolution = await resolveAccel(config.compute.accel, {
    ...(config.compute.qemuBinary ? { binary: config.compute.qemuBinary } : {}),
    cacheFile: accelCacheFileOf(config),
    ...(options.probeAfter ? { probeAfter: options.probeAfter } : {}),
  });
  if ('known' in resolution) return { name: 'qemu', reason, accel: resolution.known };
  const choice: DriverChoice = { name: 'qemu', reason };
  const answer = resolution.probing.then((accel) => {
    choice.accel = accel;
    return accel;
  });
  choice.probing = { answer, abort: resolution.abort };
  return choice;
}

/** Where the KVM probe's answer is kept: runtime state, like the /dev/kvm node it is about. */
export const accelCacheFileOf = (config: KumoConfig): string => join(config.dataplane.stateDir, 'accel.json');

/** For banners: `driver qemu (accel tcg: why): why`, or `driver fake: why`. */
export function driverText(choice: DriverChoice): string {
  const accel = choice.accel
    ? ` (accel ${choice.accel.accel}: ${choice.accel.reason})`
    : choice.probing
      ? ' (accel pending: the KVM probe runs in the background; this host registers once it answers)'
      : '';
  return `driver ${choice.name}${accel}: ${choice.reason}`;
}

/** Host names of the agents this process runs: the host itself, or N simulated ones. */
export function computeHostNames(config: KumoConfig): string[] {
  const n = config.compute.fakeHosts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--fake-hosts ${n}: expected a positive integer`);
  if (n === 1) return [config.hostName];
  return Array.from({ length: n }, (_, i) => `${config.hostName}-${i + 1}`);
}

function createDriver(
  config: KumoConfig,
  host: string,
  choice: DriverChoice,
  plane: ComputeHostPlane,
  log: Logger,
  onLifecycleEvent: (instanceId: string, powerState: PowerStateValue) => void,
): VirtDriver {
  if (choice.name === 'fake') {
    const c = config.compute;
    return new FakeDriver({ vcpus: c.fakeHostVcpus, memoryMb: c.fakeHostMemoryMb, localGb: c.fakeHostDiskGb, spawnDelayMs: c.fakeSpawnDelayMs, ...(c.fakeConsoleDir ? { consoleDir: c.fakeConsoleDir } : {}) });
  }
  if (!choice.accel) throw new Error('the qemu driver was chosen without an accelerator');
  const images = plane.images;
  return new QemuDriver({
    dataDir: config.dataDir,
    stateDir: config.dataplane.stateDir,
    cloudId: config.cloudId,
    ...(config.dataplane.hostNamespace ? { hostNamespace: config.dataplane.hostNamespace } : {}),
    accel: choice.accel.accel,
    ...(config.compute.qemuBinary ? { binary: config.compute.qemuBinary } : {}),
    stopTimeoutMs: config.compute.qemuStopTimeoutSeconds * 1000,
    images: new ImageCache({ dir: imageCacheDirOf(config.dataDir), source: { download: (projectId, imageId) => images.download(projectId, imageId) }, log }),
    hostIp: config.dataplane.tunnelIp ?? '127.0.0.1',
    host,
    onLifecycleEvent,
    log,
  });
}

/** Starts this process's compute agents (one per host name) on the given bus; state goes through the control plane. */
export async function startComputeAgents(
  config: KumoConfig,
  plane: ComputeHostPlane,
  bus: Bus,
  log: Logger,
  hostNames = computeHostNames(config),
  choice?: DriverChoice,
): Promise<ComputeAgent[]> {
  const driverChoice = choice ?? (await chooseDriver(config));
  if (!driverChoice.accel && driverChoice.probing) await driverChoice.probing.answer;
  if (driverChoice.name === 'qemu' && hostNames.length > 1) {
    throw new Error('--fake-hosts simulates hosts for the fake driver; the qemu driver runs one host per process');
  }
  const agents: ComputeAgent[] = [];
  try {
    for (const host of hostNames) {
      // The driver reports guests that change state by themselves; the agent exists by then.
      let agent: ComputeAgent | undefined;
      const driver = createDriver(config, host, driverChoice, plane, log, (instanceId, powerState) => {
        void agent?.handleLifecycleEvent(instanceId, powerState);
      });
      agent = new ComputeAgent(
        {
          host,
          availabilityZone: 'nova',
          cpuAllocationRatio: config.compute.cpuAllocationRatio,
          ramAllocationRatio: config.compute.ramAllocationRatio,
          diskAllocationRatio: config.compute.diskAllocationRatio,
          reservedHostMemoryMb: config.compute.reservedHostMemoryMb,
          heartbeatIntervalSeconds: config.compute.heartbeatIntervalSeconds,
          powerSyncIntervalSeconds: 60,
          forceConfigDrive: config.compute.forceConfigDrive,
        },
        {
          bus,
          driver,
          control: new ComputeHostClient(bus),
          images: plane.images,
          configDrive: plane.configDrive,
          log,
        },
      );
      try {
        await agent.start();
      } catch (error) {
        await agent.stop();
        throw error;
      }
      agents.push(agent);
    }
  } catch (error) {
    for (const agent of agents) await agent.stop();
    throw error;
  }
  return agents;
}

/** This process's compute agents: started at once, or once the KVM probe has answered. */
export interface ComputeLaunch {
  /** Filled in when the agents have started. */
  agents: ComputeAgent[];
  /** Settles when they have (rejects when they could not). */
  ready: Promise<void>;
  /** Stops the probe if it still runs, then the agents. */
  stop(): Promise<void>;
}

export function launchComputeAgents(config: KumoConfig, plane: ComputeHostPlane, bus: Bus, log: Logger, choice: DriverChoice): ComputeLaunch {
  const agents: ComputeAgent[] = [];
  let stopped = false;
  const ready = (async () => {
    if (!choice.accel && choice.probing) await choice.probing.answer;
    if (stopped) return;
    const started = await startComputeAgents(config, plane, bus, log, undefined, choice);
    if (stopped) {
      for (const agent of started) await agent.stop();
      return;
    }
    agents.push(...started);
    if (choice.probing) log.info({ accel: choice.accel }, 'the KVM probe answered: this compute host is registered');
  })();
  return {
    agents,
    ready,
    async stop() {
      stopped = true;
      choice.probing?.abort();
      await ready.catch(() => undefined);
      for (const agent of agents) await agent.stop();
    },
  };
}
