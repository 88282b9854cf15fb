import { join } from 'node:path';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig, VolumeBackendName } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { VolumeAgent } from './agent.js';
import type { VolumeBackend } from './backends/driver.js';
import { FileBackend } from './backends/file/file.js';
import { NbdBackend } from './backends/nbd/nbd.js';
import { storageDaemonDir } from './backends/nbd/storage-daemon.js';

/** Where a backend keeps volumes: the data directory (a split agent's state directory), which survives restarts. */
export const volumeDirOf = (dataDir: string, backend: string): string => join(dataDir, 'volumes', backend);

export interface VolumeAgentStartOptions {
  reportIntervalMs?: number;
  /** The host the agents serve (default: the config's host name). */
  hostName?: string;
}

function backendOf(name: VolumeBackendName, config: KumoConfig, hostName: string, log: Logger): VolumeBackend {
  if (name === 'file') return new FileBackend({ dir: volumeDirOf(config.dataDir, 'file'), host: hostName, log });
  return new NbdBackend({
    dir: volumeDirOf(config.dataDir, 'nbd'),
    runDir: storageDaemonDir(config.dataplane.stateDir, hostName),
    address: config.volume.nbdAddress,
    ...(config.volume.nbdPort !== undefined ? { port: config.volume.nbdPort } : {}),
    pskIdentity: `kumo-${config.cloudId}`,
    // Where the host's guests are (a test lab's host namespace), so they reach the NBD server.
    ...(config.dataplane.hostNamespace !== undefined ? { netns: config.dataplane.hostNamespace } : {}),
    log,
  });
}

/**
 * Starts one volume agent (cinder-volume) of `backend` on this host, as `host@backend`. It
 * meets the volume service on the bus only.
 */
export async function startVolumeAgent(config: KumoConfig, bus: Bus, log: Logger, options: VolumeAgentStartOptions & { backend?: VolumeBackendName } = {}): Promise<VolumeAgent> {
  const hostName = options.hostName ?? config.hostName;
  const backend = options.backend ?? 'file';
  const agent = new VolumeAgent({
    bus,
    host: `${hostName}@${backend}`,
    backend: backendOf(backend, config, hostName, log),
    availabilityZone: 'nova',
    log,
    reportIntervalMs: options.reportIntervalMs ?? 10_000,
  });
  await agent.start();
  return agent;
}

/** The host's volume agents, one per backend the config names (KUMO_VOLUME_BACKENDS); a failed start stops the ones before it. */
export async function startVolumeAgents(config: KumoConfig, bus: Bus, log: Logger, options: VolumeAgentStartOptions = {}): Promise<VolumeAgent[]> {
  const agents: VolumeAgent[] = [];
  try {
    for (const backend of config.volume.backends) agents.push(await startVolumeAgent(config, bus, log, { ...options, backend }));
  } catch (error) {
    for (const agent of agents.reverse()) await agent.stop().catch(() => undefined);
    throw error;
  }
  return agents;
}

/** One line per agent for a start banner. */
export function volumeAgentsText(config: KumoConfig, agents: VolumeAgent[]): string[] {
  return agents.map((agent) =>
    agent.host.endsWith('@nbd')
      ? `cinder-volume ${agent.host}: qcow2 files in ${volumeDirOf(config.dataDir, 'nbd')}, exported by qemu-storage-daemon over NBD (TLS-PSK) on ${config.volume.nbdAddress}`
      : `cinder-volume ${agent.host}: a qcow2 file per volume in ${volumeDirOf(config.dataDir, 'file')}`,
  );
}
