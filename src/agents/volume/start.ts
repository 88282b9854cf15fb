import { join } from 'node:path';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { VolumeAgent } from './agent.js';
import { FileBackend } from './backends/file/file.js';

/** Where the file backend keeps volumes: the data directory, which survives restarts. */
export const volumeDirOf = (dataDir: string, backend: string): string => join(dataDir, 'volumes', backend);

/**
 * Starts this host's volume agent with the `file` backend (the all-in-one default), as
 * `host@file`. It meets the volume service on the bus only.
 */
export async function startVolumeAgent(config: KumoConfig, bus: Bus, log: Logger, options: { reportIntervalMs?: number } = {}): Promise<VolumeAgent> {
  const agent = new VolumeAgent({
    bus,
    host: `${config.hostName}@file`,
    backend: new FileBackend({ dir: volumeDirOf(config.dataDir, 'file'), host: config.hostName, log }),
    availabilityZone: 'nova',
    log,
    reportIntervalMs: options.reportIntervalMs ?? 10_000,
  });
  await agent.start();
  return agent;
}
