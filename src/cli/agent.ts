import { openBus } from '../core/bus/index.js';
import type { KumoConfig } from '../core/config.js';
import { preparePrivateDataDir } from '../core/data-dir.js';
import { openDatabase } from '../core/db/database.js';
import { setHostCommandLog } from '../core/host/commands.js';
import { createLogger } from '../core/log.js';
import { Enforcer } from '../core/policy/index.js';
import { chooseDriver, driverText, startComputeAgents } from '../agents/compute/start.js';
import { chooseDataplane, startNetworkAgent } from '../agents/network/start.js';
import { startVolumeAgent } from '../agents/volume/start.js';
import { InProcessIdentityClient } from '../services/identity/client.js';
import { IdentityService } from '../services/identity/service.js';
import { createImageContext } from '../services/image/service.js';
import { createNetworkContext } from '../services/network/service.js';
import { InProcessNetworkPorts } from '../services/compute/network-in-process.js';
import { InProcessImages } from '../services/compute/peers-in-process.js';
import { createComputeContext } from '../services/compute/service.js';
import { ComputeInstanceSource } from '../services/metadata/compute-records.js';
import { InProcessConfigDrive } from '../services/metadata/config-drive-source.js';
import { InProcessInstanceNetwork } from '../services/metadata/network-in-process.js';

/**
 * `kumo agent --host NAME`: one compute host of a split deployment (its compute and network
 * agents), on the database and bus
 * of a running cloud (KUMO_DATABASE_URL, KUMO_BUS_URL). It reaches images and ports through
 * the same service libraries over that database, so it needs the cloud's data directory for
 * image data (a shared filesystem, or the same machine).
 */
export async function agent(config: KumoConfig, host: string): Promise<void> {
  if (config.databaseUrl.startsWith('sqlite:') || config.busUrl === 'memory:') {
    throw new Error('kumo agent joins a running cloud: set KUMO_DATABASE_URL (postgres://...) and KUMO_BUS_URL (amqp://...) to the ones `kumo up` uses');
  }
  preparePrivateDataDir(config.dataDir);
  const log = createLogger(config.logLevel);
  setHostCommandLog(log);
  const database = await openDatabase(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
  const bus = await openBus(config.busUrl, { logger: log, ...(config.busNamespace ? { namespace: config.busNamespace } : {}) });
  const enforcer = () => new Enforcer({}, { onWarning: (w) => log.warn({ policy: w }, 'policy rule problem') });
  const identity = new IdentityService(config, database, enforcer(), undefined, log);
  const image = createImageContext(config, database, enforcer(), new InProcessIdentityClient(identity.context), log);
  const network = createNetworkContext(config, database, enforcer(), log);
  const compute = createComputeContext(config, database, bus, enforcer(), new InProcessImages(image), new InProcessNetworkPorts(network), log);
  compute.configDrive = new InProcessConfigDrive(new ComputeInstanceSource(compute), new InProcessInstanceNetwork(network));
  const driver = await chooseDriver(config);
  if (config.compute.driver === undefined) log.warn({ driver: driver.name }, driver.reason);
  const agents = await startComputeAgents(config, compute, bus, log, [host], driver);
  // The host's network agent plugs its instances' taps into their networks; DHCP, routers
  // and the metadata relay stay on the network node (the `kumo up` host).
  const dataplane = chooseDataplane(config);
  if (config.dataplane.driver === undefined) log.warn({ dataplane: dataplane.name }, dataplane.reason);
  const networkAgent = await startNetworkAgent({ ...config, hostName: host }, bus, log, dataplane);
  // The host's cinder-volume: file volumes here attach to this host's guests.
  const volumeAgent = await startVolumeAgent({ ...config, hostName: host }, bus, log);
  process.stdout.write(`Kumo compute agent ${host} is up (${driverText(driver)}; dataplane ${dataplane.name}, bus ${bus.kind}, database ${database.kind}).\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const a of agents) await a.stop();
    await networkAgent.stop();
    await volumeAgent.stop();
    await bus.close();
    await database.close();
    log.flush();
    process.stdout.write(`Kumo compute agent ${host} stopped (${signal}).\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
