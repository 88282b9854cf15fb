import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { driverText } from '../agents/compute/start.js';
import { chooseTunnelIp } from '../agents/network/start.js';
import { startCloud } from '../cloud.js';
import type { KumoConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { ensureGuestImage, GUEST_IMAGE_NAME } from './guest-image.js';
import { readBootstrapCredentials, saveBootstrapCredentials, writeClientFiles } from './credentials-files.js';
import { firstBootLines, networkBannerLines } from './network-banner.js';

/** `kumo up`: the whole cloud in this process, until SIGINT or SIGTERM. */
export async function up(config: KumoConfig): Promise<void> {
  const started = Date.now();
  mkdirSync(config.dataDir, { recursive: true });
  const log = createLogger(config.logLevel);
  const known = readBootstrapCredentials(config.dataDir);
  const wanted = {
    ...known,
    ...(process.env.KUMO_ADMIN_PASSWORD ? { adminPassword: process.env.KUMO_ADMIN_PASSWORD } : {}),
    ...(process.env.KUMO_DEMO_PASSWORD ? { demoPassword: process.env.KUMO_DEMO_PASSWORD } : {}),
  };
  // Overlay networks work with no flags: the tunnel address is picked before the agents start.
  const tunnel = await chooseTunnelIp(config);
  const cloud = await startCloud(config, log, wanted);
  const credentials = { ...known, ...cloud.createdCredentials };
  if (Object.keys(cloud.createdCredentials).length > 0) saveBootstrapCredentials(config.dataDir, credentials);
  const files = writeClientFiles(config, credentials);
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
    `            metadata ${cloud.metadataUrl} (for the network agents' relays)`,
    `  network:  dataplane ${cloud.dataplane.name}: ${cloud.dataplane.reason}`,
    ...(await networkBannerLines(cloud, tunnel)),
    `  compute:  ${cloud.computeAgents.length} host(s), ${driverText(cloud.computeDriver)}`,
    guestLine,
    '',
    `clouds.yaml (${join(config.dataDir, 'clouds.yaml')}):`,
    indent(files['clouds.yaml'] ?? ''),
    `admin-openrc.sh (${join(config.dataDir, 'admin-openrc.sh')}):`,
    indent(files['admin-openrc.sh'] ?? '  (admin password unknown: it was set before this data directory existed)\n'),
    `demo-openrc.sh (${join(config.dataDir, 'demo-openrc.sh')}):`,
    indent(files['demo-openrc.sh'] ?? '  (demo password unknown: it was set before this data directory existed)\n'),
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

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `  ${line}` : line))
    .join('\n');
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
