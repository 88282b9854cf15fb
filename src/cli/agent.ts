import { openBus } from '../core/bus/index.js';
import type { KumoConfig } from '../core/config.js';
import { preparePrivateDataDir } from '../core/data-dir.js';
import { setHostCommandLog } from '../core/host/commands.js';
import { createLogger } from '../core/log.js';
import { readCloud, ServiceSession } from '../core/service-session.js';
import { chooseDriver, driverText, startComputeAgents } from '../agents/compute/start.js';
import { ImageApiTransfer } from '../agents/compute/image-api.js';
import { chooseDataplane, startNetworkAgent } from '../agents/network/start.js';
import { startVolumeAgents, volumeAgentsText } from '../agents/volume/start.js';

export interface AgentOptions {
  host: string;
  /** The clouds.yaml cloud the host authenticates as (`kumo-service`). */
  osCloud: string;
  /** The clouds.yaml to read it from (OS_CLIENT_CONFIG_FILE). */
  cloudsFile: string;
}

/**
 * `kumo agent --host NAME --state-dir S --os-cloud kumo-service`: one compute host of a split
 * deployment (its compute and network agents), as nova-compute runs since Grizzly: it needs the
 * bus (KUMO_BUS_URL) and the service user's credentials, nothing else. State goes through the
 * conductor's compute-host calls, image data over the Image API into the host's own cache in its
 * state directory, ports through the network service. No database, no controller disk.
 * (`config.dataDir` is the host's state directory.)
 */
export async function agent(config: KumoConfig, options: AgentOptions): Promise<void> {
  if (config.busUrl === 'memory:') throw new Error('kumo agent joins a running cloud: set KUMO_BUS_URL (amqp://...) to the broker its control plane uses');
  const { host } = options;
  preparePrivateDataDir(config.dataDir);
  const log = createLogger(config.logLevel);
  setHostCommandLog(log);
  const session = new ServiceSession(readCloud(options.cloudsFile, options.osCloud));
  // Fails the start, not the first boot, when the credentials are wrong or the cloud is unreachable.
  await session.endpoint('image');
  const bus = await openBus(config.busUrl, { logger: log, ...(config.busNamespace ? { namespace: config.busNamespace } : {}) });
  const driver = await chooseDriver(config);
  if (config.compute.driver === undefined) log.warn({ driver: driver.name }, driver.reason);
  const agents = await startComputeAgents(config, { images: new ImageApiTransfer(session), configDrive: true }, bus, log, [host], driver);
  // The host's network agent plugs its instances' taps into their networks; DHCP, routers
  // and the metadata relay stay on the network node.
  const dataplane = chooseDataplane(config);
  if (config.dataplane.driver === undefined) log.warn({ dataplane: dataplane.name }, dataplane.reason);
  const networkAgent = await startNetworkAgent({ ...config, hostName: host }, bus, log, dataplane);
  // Volume agents (--volume-backend): image data comes over the Image API with the URL and token the volume service sends.
  const volumeAgents = await startVolumeAgents(config, bus, log, { hostName: host });
  process.stdout.write(`Kumo compute agent ${host} is up (${driverText(driver)}; dataplane ${dataplane.name}, bus ${bus.kind}, no database).\n`);
  for (const line of volumeAgentsText(config, volumeAgents)) process.stdout.write(`  ${line}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const a of agents) await a.stop();
    await networkAgent.stop();
    for (const a of volumeAgents) await a.stop();
    await bus.close();
    log.flush();
    process.stdout.write(`Kumo compute agent ${host} stopped (${signal}).\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
