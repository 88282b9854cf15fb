import { serveApis } from './api-server.js';
import type { FastifyInstance } from 'fastify';
import { CATALOG, loadPolicyOverrides, MIGRATIONS } from './cloud.js';
import { openBus, type Bus } from './core/bus/index.js';
import type { KumoConfig } from './core/config.js';
import { preparePrivateDataDir } from './core/data-dir.js';
import { openDatabase, type Database } from './core/db/database.js';
import { migrateToLatest } from './core/db/migrations.js';
import type { Logger } from './core/log.js';
import { Enforcer } from './core/policy/index.js';
import { chooseDataplane, publicBridgeFor, startNetworkAgent } from './agents/network/start.js';
import { bootstrapIdentity, type BootstrapCredentials } from './services/identity/bootstrap.js';
import { InProcessIdentityClient } from './services/identity/client.js';
import { IdentityService } from './services/identity/service.js';
import { loadDefaultMetadefs } from './services/image/metadefs/defaults.js';
import { recoverInterruptedTransfers } from './services/image/recovery.js';
import { createImageContext } from './services/image/service.js';
import { DesiredStatePublisher, forwardChanges } from './services/network/desired-state.js';
import { createNetworkContext } from './services/network/service.js';
import { Conductor } from './services/compute/conductor.js';
import { ensureDefaultFlavors } from './services/compute/flavors.js';
import { ComputeHostEndpoint } from './services/compute/host-endpoint.js';
import { ComputeHosts } from './services/compute/hosts.js';
import { InstanceActions } from './services/compute/store/instance-actions.js';
import { InstanceRecords } from './services/compute/store/instances.js';
import { InProcessInstanceNetwork, InProcessNetworkPorts } from './services/network/client.js';
import { InProcessImages } from './services/image/client.js';
import { FilterScheduler } from './services/compute/scheduler/filter-scheduler.js';
import { createComputeContext } from './services/compute/service.js';
import { ComputeInstanceSource } from './services/compute/client.js';
import { InProcessConfigDrive } from './services/metadata/config-drive-source.js';
import { createObjectContext, startObjectService } from './services/object/service.js';
import { createVolumeService } from './services/volume/service.js';
import { ServerServices } from './services/compute/servers/services.js';
import { recoverVolumeMappings, releaseVolumesOfDeletedInstances, volumeExtended } from './services/compute/servers/volumes.js';

/** One process of a split control plane: `kumo api` or `kumo conductor`. */
export interface ControlPlane {
  role: 'api' | 'conductor';
  database: Database;
  bus: Bus;
  http?: FastifyInstance;
  metadataUrl?: string;
  createdCredentials: Partial<BootstrapCredentials>;
  stop(): Promise<void>;
}

/**
 * A split deployment's control plane, the same services `kumo up` runs, without agents:
 * `api` serves the HTTP APIs, the metadata API and the console proxy, and is the network node
 * (its network agent runs DHCP, routers and the metadata relay); `conductor` runs the
 * conductor, the scheduler and the compute-host endpoint the agents report to. Both push
 * network state to the network agents whenever they change a port.
 */
export async function startControlPlane(config: KumoConfig, log: Logger, role: 'api' | 'conductor', wanted: Partial<BootstrapCredentials> = {}): Promise<ControlPlane> {
  if (config.databaseUrl.startsWith('sqlite:') || config.busUrl === 'memory:') {
    throw new Error(`kumo ${role} is one process of a split cloud: set KUMO_DATABASE_URL (postgres://...) and KUMO_BUS_URL (amqp://...)`);
  }
  preparePrivateDataDir(config.dataDir);
  const database = await openDatabase(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log.warn({ err }, 'error while stopping'));
  };
  try {
    await migrateToLatest(database, MIGRATIONS);
    const bus = await openBus(config.busUrl, { logger: log, ...(config.busNamespace ? { namespace: config.busNamespace } : {}) });
    cleanups.push(() => bus.close());
    const enforcerFor = () => new Enforcer({}, { onWarning: (w) => log.warn({ policy: w }, 'policy rule problem') });
    const identityEnforcer = enforcerFor();
    const identity = new IdentityService(config, database, identityEnforcer, bus, log);
    if (role === 'api') {
      await identity.start();
      cleanups.push(() => identity.stop());
    }
    const image = createImageContext(config, database, enforcerFor(), new InProcessIdentityClient(identity.context), log);
    if (role === 'api') {
      await recoverInterruptedTransfers(image);
      await loadDefaultMetadefs(image.metadefs, image.metadefsDir, log);
    }
    const network = createNetworkContext(config, database, enforcerFor(), log);
    if (role === 'api') {
      // The API's host is the network node (its agent runs DHCP and routers, below): only this
      // process computes and pushes desired state, and answers the agents' network calls.
      const publisher = new DesiredStatePublisher(network, bus, config.hostName, log);
      network.changed = () => publisher.changed();
      await publisher.start();
      cleanups.push(() => publisher.stop());
    } else {
      // A conductor may run on a host of its own: as the network node it would push every host a
      // state without the DHCP servers and routers. Its changes go to the API process instead.
      network.changed = forwardChanges(bus, log);
    }
    const compute = createComputeContext(config, database, bus, enforcerFor(), new InProcessImages(image), new InProcessNetworkPorts(network), log);
    compute.configDrive = new InProcessConfigDrive(new ComputeInstanceSource(compute), new InProcessInstanceNetwork(network));
    // Cinder's API, scheduler and the listener the volume agents report to run in `kumo api`.
    const volume = createVolumeService(config, database, bus, enforcerFor(), log);
    loadPolicyOverrides(config, { identity: identityEnforcer, image: image.enforcer, network: network.enforcer, compute: compute.enforcer, volume: volume.ctx.enforcer });
    // Nova calls Cinder in-process here too: the same database, the volume agents over the bus.
    compute.volumes = volume.client;

    if (role === 'conductor') {
      const endpoint = new ComputeHostEndpoint({
        instances: new InstanceRecords(compute.db),
        hosts: new ComputeHosts(compute.db),
        actions: new InstanceActions(compute.db),
        ...(compute.network ? { network: compute.network } : {}),
        configDrive: compute.configDrive,
      });
      await endpoint.listen(bus, config.hostName);
      cleanups.push(() => endpoint.stop());
      const conductor = new Conductor({
        db: compute.db,
        bus,
        instances: new InstanceRecords(compute.db),
        hosts: new ComputeHosts(compute.db),
        actions: new InstanceActions(compute.db),
        images: compute.images,
        ...(compute.network ? { network: compute.network } : {}),
        scheduler: new FilterScheduler({ weigh: config.compute.weigh }),
        log,
        maxAttempts: config.compute.schedulerMaxAttempts,
        serviceDownTimeSeconds: config.compute.serviceDownTimeSeconds,
        volumes: () => compute.volumes,
      });
      await conductor.start(config.hostName);
      cleanups.push(() => conductor.stop());
      return { role, database, bus, createdCredentials: {}, stop };
    }

    await ensureDefaultFlavors(compute);
    await volume.start(config.hostName);
    cleanups.push(() => volume.stop());
    {
      const servers = new ServerServices(compute);
      volume.ctx.onAttachedVolumeExtended = (volumeId, instanceIds, newSizeGb) => {
        void volumeExtended(compute, servers, volumeId, instanceIds, newSizeGb).catch((err: unknown) => log.warn({ err, volumeId }, 'volume-extended event failed'));
      };
      void releaseVolumesOfDeletedInstances(compute, servers)
        .then(() => recoverVolumeMappings(compute, servers))
        .catch((err: unknown) => log.warn({ err }, 'could not release the volumes of deleted servers'));
    }
    const object = createObjectContext(config, database, identity, log);
    cleanups.push(await startObjectService(object));
    const { http, metadata, metadataSecret: metadataSharedSecret } = await serveApis(config, { identity, image, network, compute, volume, object }, log, cleanups);
    // This host is the network node, as a DevStack controller runs Neutron's DHCP, L3 and
    // metadata agents: DHCP servers, routers and the metadata relay for the compute hosts' guests.
    const dataplane = chooseDataplane(config);
    if (config.dataplane.driver === undefined) log.warn({ dataplane: dataplane.name }, dataplane.reason);
    const networkNode = await startNetworkAgent(config, bus, log, dataplane, { url: metadata.url, sharedSecret: metadataSharedSecret }, publicBridgeFor(config));
    cleanups.push(() => networkNode.stop());
    const { created } = await bootstrapIdentity(identity.context, CATALOG, wanted);
    return { role, database, bus, http, metadataUrl: metadata.url, createdCredentials: created, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
