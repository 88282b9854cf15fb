import { existsSync } from 'node:fs';
import { serveApis } from './api-server.js';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openBus, type Bus } from './core/bus/index.js';
import type { KumoConfig } from './core/config.js';
import { preparePrivateDataDir } from './core/data-dir.js';
import { openDatabase, type Database } from './core/db/database.js';
import { migrateToLatest, type MigrationSet } from './core/db/migrations.js';
import type { Logger } from './core/log.js';
import { Enforcer } from './core/policy/index.js';
import { bootstrapIdentity, prepareFirstStart, type BootstrapCredentials, type CatalogEntry } from './services/identity/bootstrap.js';
import { identityMigrations } from './services/identity/migrations.js';
import { InProcessIdentityClient } from './services/identity/client.js';
import { IdentityService } from './services/identity/service.js';
import type { ImageContext } from './services/image/context.js';
import type { NetworkContext } from './services/network/context.js';
import { imageMigrations } from './services/image/migrations.js';
import { networkMigrations } from './services/network/migrations.js';
import { createNetworkContext } from './services/network/service.js';
import { DesiredStatePublisher } from './services/network/desired-state.js';
import type { NetworkAgent } from './agents/network/agent.js';
import { chooseDataplane, publicBridgeFor, startNetworkAgent, startSimulatedNetworkAgents, type DataplaneChoice } from './agents/network/start.js';
import type { PublicBridgeConfig } from './agents/network/dataplane/linuxbridge/unit.js';
import { allInOneDefaultNetworks } from './default-networks.js';
import type { DefaultNetworks } from './services/network/default-networks.js';
import { loadDefaultMetadefs } from './services/image/metadefs/defaults.js';
import { recoverInterruptedTransfers } from './services/image/recovery.js';
import { createImageContext, IMAGE_DEFAULT_LIMITS } from './services/image/service.js';
import type { ComputeContext } from './services/compute/context.js';
import { computeMigrations } from './services/compute/migrations.js';
import { InProcessImages } from './services/image/client.js';
import { ensureDefaultFlavors } from './services/compute/flavors.js';
import { createComputeContext } from './services/compute/service.js';
import { InProcessInstanceNetwork, InProcessNetworkPorts } from './services/network/client.js';
import { Conductor } from './services/compute/conductor.js';
import { ComputeHostEndpoint } from './services/compute/host-endpoint.js';
import { ComputeHosts } from './services/compute/hosts.js';
import { InstanceActions } from './services/compute/store/instance-actions.js';
import { InstanceRecords } from './services/compute/store/instances.js';
import { FilterScheduler } from './services/compute/scheduler/filter-scheduler.js';
import { chooseDriver, launchComputeAgents, type DriverChoice } from './agents/compute/start.js';
import type { ComputeAgent } from './agents/compute/agent.js';
import { ComputeInstanceSource } from './services/compute/client.js';
import { InProcessConfigDrive } from './services/metadata/config-drive-source.js';
import { objectMigrations } from './services/object/migrations.js';
import { createObjectContext, startObjectService } from './services/object/service.js';
import type { ObjectContext } from './services/object/context.js';
import { volumeMigrations } from './services/volume/migrations.js';
import { ServerServices } from './services/compute/servers/services.js';
import { recoverVolumeMappings, releaseVolumesOfDeletedInstances, volumeExtended } from './services/compute/servers/volumes.js';
import { createVolumeService, type VolumeService } from './services/volume/service.js';
import type { VolumeAgent } from './agents/volume/agent.js';
import { startVolumeAgents } from './agents/volume/start.js';

export interface Cloud {
  config: KumoConfig;
  database: Database;
  bus: Bus;
  http: FastifyInstance;
  identity: IdentityService;
  image: ImageContext;
  network: NetworkContext;
  compute: ComputeContext;
  /** Cinder: its API logic, scheduler and the in-process VolumeClient compute uses. */
  volume: VolumeService;
  /** This host's first cinder-volume (`host@file` by default). */
  volumeAgent: VolumeAgent;
  /** All of this host's cinder-volumes, one per backend of KUMO_VOLUME_BACKENDS (`host@file`, `host@nbd`). */
  volumeAgents: VolumeAgent[];
  object: ObjectContext;
  conductor: Conductor;
  /** Filled in once the compute hosts have started (at once, unless the KVM probe runs: `computeReady`). */
  computeAgents: ComputeAgent[];
  computeDriver: DriverChoice;
  /** Settles once the compute hosts are registered (rejects when they could not start). */
  computeReady: Promise<void>;
  networkAgent: NetworkAgent;
  dataplane: DataplaneChoice;
  /** The host bridge the external physnet `public` maps to (DevStack's br-ex), unless the operator mapped it. */
  publicBridge: PublicBridgeConfig | undefined;
  /** DevStack's public, private and router1: made on this start, before, or not at all. */
  defaultNetworks: DefaultNetworks;
  /** Nova's metadata API (its own port), where the network agents' relays send guests' requests. */
  metadataUrl: string;
  /** The metadata port asked for, when another process had it and a free one was taken. */
  metadataPortTaken?: number;
  /** Passwords of the bootstrap users this start created: on a fresh database only. */
  createdCredentials: Partial<BootstrapCredentials>;
  /** Glance's default metadata definitions, loaded once the cloud serves. */
  metadefsLoaded: Promise<void>;
  stop(): Promise<void>;
}

/** What the catalog lists: every service this process serves, at its DevStack-style prefix. */
export const CATALOG: CatalogEntry[] = [
  { type: 'identity', name: 'keystone', path: '/identity/v3' },
  { type: 'image', name: 'glance', path: '/image', limits: IMAGE_DEFAULT_LIMITS },
  { type: 'network', name: 'neutron', path: '/networking' },
  { type: 'compute', name: 'nova', path: '/compute/v2.1' },
  // DevStack registers Cinder under both types at /volume/v3 (no project id since 3.67).
  { type: 'block-storage', name: 'cinder', path: '/volume/v3' },
  { type: 'volumev3', name: 'cinderv3', path: '/volume/v3' },
  // Keystone fills in the token's project: each project is its own Swift account.
  { type: 'object-store', name: 'swift', path: '/object-store/v1/AUTH_$(project_id)s' },
];

/** Every service's migrations: one history, whoever runs it. */
export const MIGRATIONS: MigrationSet[] = [identityMigrations, imageMigrations, networkMigrations, computeMigrations, volumeMigrations, objectMigrations];

/**
 * Assembles the all-in-one cloud: state store, bus, policy, services and the one HTTP
 * port, then bootstraps what a fresh cloud needs. Resolves once it is serving.
 */
export async function startCloud(config: KumoConfig, log: Logger, wanted: Partial<BootstrapCredentials> = {}): Promise<Cloud> {
  preparePrivateDataDir(config.dataDir);
  const database = await openDatabase(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log.warn({ err }, 'error while stopping'));
    }
  };
  try {
    await migrateToLatest(database, MIGRATIONS);
    const bus = await openBus(config.busUrl, { logger: log, ...(config.busNamespace ? { namespace: config.busNamespace } : {}) });
    cleanups.push(() => bus.close());

    // Each service has its own rules, as each OpenStack service has its own policy file.
    const enforcerFor = () => new Enforcer({}, { onWarning: (w) => log.warn({ policy: w }, 'policy rule problem') });
    const identityEnforcer = enforcerFor();
    const identity = new IdentityService(config, database, identityEnforcer, bus, log);
    await identity.start();
    // A fresh database's accounts are hashed beside the rest of the start (bcrypt's pool threads).
    const firstStart = prepareFirstStart(identity.context, wanted);
    cleanups.push(() => identity.stop());
    // A start that fails before the accounts are made lets the logins waiting for them go (refused).
    cleanups.push(async () => (await firstStart.catch(() => undefined))?.settle());
    const image = createImageContext(config, database, enforcerFor(), new InProcessIdentityClient(identity.context), log);
    await recoverInterruptedTransfers(image);
    const network = createNetworkContext(config, database, enforcerFor(), log);
    const publisher = new DesiredStatePublisher(network, bus, config.hostName, log);
    network.changed = () => publisher.changed();
    await publisher.start();
    cleanups.push(() => publisher.stop());
    const volume = createVolumeService(config, database, bus, enforcerFor(), log);
    await volume.start(config.hostName);
    cleanups.push(() => volume.stop());
    const compute = createComputeContext(config, database, bus, enforcerFor(), new InProcessImages(image), new InProcessNetworkPorts(network), log);
    compute.configDrive = new InProcessConfigDrive(new ComputeInstanceSource(compute), new InProcessInstanceNetwork(network));
    await ensureDefaultFlavors(compute);
    // Nova calls Cinder in-process in the all-in-one (the same rules as its HTTP API).
    compute.volumes = volume.client;
    {
      const servers = new ServerServices(compute);
      volume.ctx.onAttachedVolumeExtended = (volumeId, instanceIds, newSizeGb) => {
        void volumeExtended(compute, servers, volumeId, instanceIds, newSizeGb).catch((err: unknown) => log.warn({ err, volumeId }, 'volume-extended event failed'));
      };
      // Volumes a restart kept from being released when their server was deleted.
      void releaseVolumesOfDeletedInstances(compute, servers)
        .then(() => recoverVolumeMappings(compute, servers))
        .catch((err: unknown) => log.warn({ err }, 'could not release the volumes of deleted servers'));
    }
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
    // Agents first: after a restart they settle their own instances before the conductor
    // places the ones that were never placed. A KVM probe still running is not waited for:
    // the host registers once it answers, and only then are unplaced instances placed.
    // A KVM probe to run starts once the cloud has (it competes for the CPU otherwise).
    let started = () => {};
    const startedSignal = new Promise<void>((resolve) => (started = resolve));
    const computeDriver = await chooseDriver(config, { probeAfter: startedSignal });
    if (config.compute.driver === undefined) log.warn({ driver: computeDriver.name }, computeDriver.reason);
    // The agents reach state only through the compute-host contract, on the in-process bus here
    // exactly as over RabbitMQ from another machine.
    const hostEndpoint = new ComputeHostEndpoint({
      instances: new InstanceRecords(compute.db),
      hosts: new ComputeHosts(compute.db),
      actions: new InstanceActions(compute.db),
      ...(compute.network ? { network: compute.network } : {}),
      ...(compute.configDrive ? { configDrive: compute.configDrive } : {}),
    });
    await hostEndpoint.listen(bus, config.hostName);
    cleanups.push(() => hostEndpoint.stop());
    const computeHosts = launchComputeAgents(config, { images: compute.images, configDrive: compute.configDrive !== undefined }, bus, log, computeDriver);
    cleanups.push(() => computeHosts.stop());
    // Builds wait for the hosts, which come up beside the API instead of before it (a host's
    // resources ask QEMU for its version, and the API need not wait for that).
    conductor.holdBuildsUntil(computeHosts.ready);
    await conductor.listen(config.hostName);
    cleanups.push(() => conductor.stop());
    const conductorRecovered = computeHosts.ready.then(() => conductor.recover());
    // The start's end waits for it, unless a KVM probe runs (up to 15 s): then it is only logged.
    conductorRecovered.catch((err: unknown) => {
      if (computeDriver.probing) log.error({ err }, 'the compute host could not start, or could not be given the instances left unplaced');
    });
    loadPolicyOverrides(config, { identity: identityEnforcer, image: image.enforcer, network: network.enforcer, compute: compute.enforcer, volume: volume.ctx.enforcer });

    const object = createObjectContext(config, database, identity, log);
    cleanups.push(await startObjectService(object));

    const { http, metadata, metadataSecret: metadataSharedSecret } = await serveApis(config, { identity, image, network, compute, volume, object }, log, cleanups);

    // cinder-volume after the HTTP port is known: volumes made from images fetch them over the Image API.
    if (config.volume.backends.length === 0) throw new Error('kumo up needs a volume backend (KUMO_VOLUME_BACKENDS: file, nbd)');
    const volumeAgents = await startVolumeAgents(config, bus, log);
    cleanups.push(async () => {
      for (const agent of volumeAgents) await agent.stop();
    });
    const volumeAgent = volumeAgents[0] as VolumeAgent;

    // The all-in-one host runs its own network agent (and is the network node); it comes
    // last because its relay forwards guests' metadata requests to the service above.
    const dataplane = chooseDataplane(config);
    if (config.dataplane.driver === undefined) log.warn({ dataplane: dataplane.name }, dataplane.reason);
    const publicBridge = publicBridgeFor(config);
    const networkAgent = await startNetworkAgent(config, bus, log, dataplane, { url: metadata.url, sharedSecret: metadataSharedSecret }, publicBridge);
    cleanups.push(() => networkAgent.stop());
    // Hosts the fake driver simulates bind ports as this one would (their agents report as it does).
    if (computeDriver.name === 'fake' && dataplane.name === 'noop') {
      const simulated = await startSimulatedNetworkAgents(config, bus, log, computeHosts.agents.map((a) => a.host).filter((h) => h !== config.hostName), networkAgent);
      cleanups.push(async () => {
        for (const agent of simulated) await agent.stop();
      });
    }

    // Last: users created here have passwords only this start knows, so nothing may fail after.
    const { created } = await bootstrapIdentity(identity.context, CATALOG, wanted, firstStart);
    // DevStack's networks are a convenience made after the accounts: one that fails now must not
    // fail the start (the new passwords would be lost); it is reported, and the next start finishes it.
    const defaultNetworks = await allInOneDefaultNetworks(config, identity, network, dataplane).catch((err: unknown): DefaultNetworks => {
      log.warn({ err }, 'the default networks could not be made; the next start tries again');
      return { state: 'skipped', note: `they could not be made (${err instanceof Error ? err.message : String(err)}); the next start tries again` };
    });
    if (!computeDriver.probing) await conductorRecovered;
    // Glance's default metadata definitions (dozens of namespaces, a second or more to write on a
    // fresh database) load after the start, which does not wait for them; stopping does.
    const metadefsLoaded = loadDefaultMetadefs(image.metadefs, image.metadefsDir, log).then(
      () => undefined,
      (err: unknown) => log.warn({ err }, "Glance's default metadata definitions could not be loaded"),
    );
    cleanups.push(() => metadefsLoaded);
    started();
    return {
      config,
      database,
      bus,
      http,
      identity,
      image,
      network,
      compute,
      volume,
      volumeAgent,
      volumeAgents,
      object,
      conductor,
      computeAgents: computeHosts.agents,
      computeDriver,
      computeReady: computeHosts.ready,
      networkAgent,
      dataplane,
      publicBridge,
      defaultNetworks,
      metadataUrl: metadata.url,
      ...(metadata.taken !== undefined ? { metadataPortTaken: metadata.taken } : {}),
      createdCredentials: created,
      metadefsLoaded,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `<policyDir>/<service>.yaml`, when present, overrides that service's default rules. */
export function loadPolicyOverrides(config: KumoConfig, enforcers: Record<string, Enforcer>): void {
  if (!config.policyDir) return;
  for (const [service, enforcer] of Object.entries(enforcers)) {
    const path = join(config.policyDir, `${service}.yaml`);
    if (existsSync(path)) enforcer.loadOverrides(path);
  }
}
