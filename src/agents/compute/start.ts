import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { ComputeContext } from '../../services/compute/context.js';
import { ComputeHosts } from '../../services/compute/hosts.js';
import { InstanceActions } from '../../services/compute/instances/actions.js';
import { InstanceRecords } from '../../services/compute/instances/store.js';
import { ComputeAgent } from './agent.js';
import { FakeDriver } from './virt/fake/fake.js';

/** Which driver runs this host's guests, and why, for the start-up banner. */
export interface DriverChoice {
  name: 'fake';
  reason: string;
}

/**
 * `--compute-driver`: `fake` on request; `qemu` is refused until its driver exists (it is
 * its own piece of work), and the default falls back to `fake` saying so.
 */
export function chooseDriver(config: KumoConfig): DriverChoice {
  const wanted = config.compute.driver;
  if (wanted === undefined || wanted === '') {
    return { name: 'fake', reason: 'the qemu driver is not part of this build yet: instances are simulated (fake driver)' };
  }
  if (wanted === 'fake') return { name: 'fake', reason: 'requested with --compute-driver fake' };
  if (wanted === 'qemu') throw new Error('--compute-driver qemu: the QEMU driver is not part of this build yet; use --compute-driver fake');
  throw new Error(`--compute-driver ${wanted}: use fake or qemu`);
}

/** Host names of the agents this process runs: the host itself, or N simulated ones. */
export function computeHostNames(config: KumoConfig): string[] {
  const n = config.compute.fakeHosts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--fake-hosts ${n}: expected a positive integer`);
  if (n === 1) return [config.hostName];
  return Array.from({ length: n }, (_, i) => `${config.hostName}-${i + 1}`);
}

/** Starts this process's compute agents (one per host name) on the given bus and database. */
export async function startComputeAgents(config: KumoConfig, compute: ComputeContext, bus: Bus, log: Logger, hostNames = computeHostNames(config)): Promise<ComputeAgent[]> {
  chooseDriver(config);
  const agents: ComputeAgent[] = [];
  try {
    for (const host of hostNames) {
      const agent = new ComputeAgent(
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
          driver: new FakeDriver({ vcpus: config.compute.fakeHostVcpus, memoryMb: config.compute.fakeHostMemoryMb, localGb: config.compute.fakeHostDiskGb, spawnDelayMs: config.compute.fakeSpawnDelayMs, ...(config.compute.fakeConsoleDir ? { consoleDir: config.compute.fakeConsoleDir } : {}) }),
          instances: new InstanceRecords(compute.db),
          hosts: new ComputeHosts(compute.db),
          actions: new InstanceActions(compute.db),
          images: compute.images,
          ...(compute.network ? { network: compute.network } : {}),
          ...(compute.configDrive ? { configDrive: compute.configDrive } : {}),
          log,
        },
      );
      await agent.start();
      agents.push(agent);
    }
  } catch (error) {
    for (const agent of agents) await agent.stop();
    throw error;
  }
  return agents;
}
