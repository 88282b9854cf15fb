import { join } from 'node:path';
import type { KumoConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { startControlPlane } from '../control-plane.js';
import { clientFilesOnStart, wantedPasswords } from './credentials-files.js';

/**
 * `kumo api` and `kumo conductor`: the control plane of a split deployment, on PostgreSQL
 * (KUMO_DATABASE_URL) and RabbitMQ (KUMO_BUS_URL). The first `kumo api` start writes
 * <data-dir>/clouds.yaml, with `kumo-service`, the service user compute hosts run as.
 */
export async function controlPlane(config: KumoConfig, role: 'api' | 'conductor'): Promise<void> {
  const log = createLogger(config.logLevel);
  const plane = await startControlPlane(config, log, role, role === 'api' ? wantedPasswords(config.dataDir) : {});
  const lines: string[] = [];
  if (role === 'api') {
    lines.push(`Kumo API is up at ${config.publicUrl} (database ${plane.database.kind}, bus ${plane.bus.kind}; metadata ${plane.metadataUrl})`);
    lines.push(...clientFilesOnStart(config, plane.createdCredentials));
    lines.push(`  compute hosts: OS_CLIENT_CONFIG_FILE=${join(config.dataDir, 'clouds.yaml')} kumo agent --host NAME --state-dir DIR --os-cloud kumo-service`);
  } else {
    lines.push(`Kumo conductor is up (database ${plane.database.kind}, bus ${plane.bus.kind}).`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await plane.stop();
    log.flush();
    process.stdout.write(`Kumo ${role} stopped (${signal}).\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
