import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { driverText } from '../agents/compute/start.js';
import { chooseTunnelIp } from '../agents/network/start.js';
import { startCloud } from '../cloud.js';
import type { KumoConfig } from '../core/config.js';
import { setHostCommandLog } from '../core/host/commands.js';
import { createLogger } from '../core/log.js';
import { ensureGuestImage, GUEST_IMAGE_NAME } from './guest-image.js';
import { clientFilesOnStart, wantedPasswords } from './credentials-files.js';
import { claimPidFile, claimStateDir } from './pid-file.js';
import { firstBootLines, networkBannerLines } from './network-banner.js';
import { volumeAgentsText } from '../agents/volume/start.js';

/** `kumo up`: the whole cloud in this process, until SIGINT or SIGTERM. */
export async function up(config: KumoConfig): Promise<void> {
  const started = Date.now();
  mkdirSync(config.dataDir, { recursive: true });
  // `kumo down` finds this process by it; a second `kumo up` on the directory is refused.
  const releasePidFile = claimPidFile(config.dataDir);
  process.once('exit', releasePidFile);
  claimStateDir(config.dataplane.stateDir, config.cloudId, config.dataDir);
  const log = createLogger(config.logLevel);
  setHostCommandLog(log);
  // Overlay networks work with no flags: the tunnel address is picked before the agents start.
  const tunnel = await chooseTunnelIp(config);
  const cloud = await startCloud(config, log, wantedPasswords(config.dataDir));
  const credentialLines = clientFilesOnStart(config, cloud.createdCredentials);
  const guest = await ensureGuestImage(cloud, log);
  const guestLine =
    guest.state === 'skipped'
      ? `  images:   ${GUEST_IMAGE_NAME} skipped: ${guest.reason}`
      : `  images:   ${GUEST_IMAGE_NAME} ${guest.state === 'present' ? 'present' : 'being built and imported in the background'}`;

  const banner = [
    '',
    `Kumo is up at ${config.publicUrl} (started in ${Date.now() - started} ms)`,
    `  data:     ${config.dataDir}`,
    `  database: ${cloud.database.kind}${cloud.database.kind === 'postgres' ? ` (${redactUrl(config.databaseUrl)})` : ''}`,
    `  bus:      ${cloud.bus.kind}`,
    `  services: identity ${config.publicUrl}/identity/v3`,
    `            image    ${config.publicUrl}/image`,
    `            network  ${config.publicUrl}/networking`,
    `            compute  ${config.publicUrl}/compute/v2.1`,
    `            volume   ${config.publicUrl}/volume/v3`,
    `            object   ${config.publicUrl}/object-store/v1/AUTH_<project id>`,
    `            metadata ${cloud.metadataUrl} (for the network agents' relays${cloud.metadataPortTaken !== undefined ? `; ${cloud.metadataPortTaken} was taken` : ''})`,
    `  network:  dataplane ${cloud.dataplane.name}: ${cloud.dataplane.reason}`,
    ...(await networkBannerLines(cloud, tunnel)),
    `  compute:  ${cloud.computeAgents.length} host(s), ${driverText(cloud.computeDriver)}`,
    ...volumeAgentsText(config, cloud.volumeAgents).map((line, i) => `${i === 0 ? '  volume:   ' : '            '}${line}`),
    guestLine,
    ...credentialLines,
    '',
    'Try it:',
    `  export OS_CLIENT_CONFIG_FILE=${join(config.dataDir, 'clouds.yaml')}`,
    '  openstack --os-cloud kumo-admin token issue',
    ...firstBootLines(cloud),
    '',
  ].join('\n');
  process.stdout.write(banner + '\n');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await cloud.stop();
    log.flush();
    process.stdout.write(`Kumo stopped (${signal}).\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
