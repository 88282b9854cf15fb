import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { LogLevel } from './log.js';

/** Everything a Kumo process needs to know about where it runs. */
export interface KumoConfig {
  dataDir: string;
  /**
   * A short id of this cloud (6 hex digits of a hash of the data directory's path), carried by
   * every host object it creates, so clouds sharing a host never take each other's for their own
   * and `kumo down --data-dir DIR` finds DIR's, even once DIR itself is gone.
   */
  cloudId: string;
  /** Address the HTTP server binds to. */
  host: string;
  port: number;
  /** Base URL clients use to reach the one HTTP port; the catalog is built from it. */
  publicUrl: string;
  /** `sqlite:` path or `postgres://` URL. */
  databaseUrl: string;
  /** PostgreSQL only: a schema of its own, so several clouds (or test runs) can share one database. */
  databaseSchema?: string;
  /** `memory:` for the in-process bus, `amqp://` for RabbitMQ. */
  busUrl: string;
  /** RabbitMQ only: prefix of every exchange and queue, so several clouds can share a broker (KUMO_BUS_NAMESPACE). */
  busNamespace?: string;
  region: string;
  /** This host's name as agents and port bindings know it (`binding:host_id`). */
  hostName: string;
  logLevel: LogLevel;
  identity: IdentityConfig;
  network: NetworkConfig;
  dataplane: DataplaneConfig;
  compute: ComputeConfig;
  volume: VolumeConfig;
  metadata: MetadataConfig;
  image: ImageConfig;
  /** Directory of oslo.policy-style overrides: `<service>.yaml` (identity.yaml, image.yaml, ...). */
  policyDir?: string;
}

export interface IdentityConfig {
  tokenExpirationSeconds: number;
  /** bcrypt cost; Keystone's default is 12. */
  passwordHashRounds: number;
  /** Keys kept in the Fernet repository (primary + secondaries + staged). */
  fernetMaxActiveKeys: number;
  /** Keystone [security_compliance]: failed password attempts before lockout; 0 disables lockout. */
  lockoutFailureAttempts: number;
  lockoutDurationSeconds: number;
  /** How many recent passwords (the new one included) must differ; 0 or 1 disables the check. */
  uniqueLastPasswordCount: number;
}

export interface ImageConfig {
  /**
   * An upload that sends nothing for this long is given up (KUMO_IMAGE_UPLOAD_IDLE_TIMEOUT,
   * seconds, default 900 as Glance's client_socket_timeout): a client whose machine vanished
   * never closes its connection, and its image would stay saving.
   */
  uploadIdleTimeoutSeconds: number;
  /**
   * Glance's metadata definition files (KUMO_IMAGE_METADEFS_DIR); unset: /etc/glance/metadefs or
   * Debian glance-common's /usr/share/glance-common/metadefs, whichever exists.
   */
  metadefsDir?: string;
  /**
   * Hosts the web-download import may fetch from (KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS: names,
   * addresses or CIDRs, comma-separated). Empty by default: the cloud fetches no URL a user names.
   */
  webDownloadAllowedHosts: string[];
}

/** This host's network agent: which dataplane it drives and how the host is wired. */
export interface DataplaneConfig {
  /** `noop` or `linuxbridge` (KUMO_DATAPLANE); unset: linuxbridge when root with the tools, else noop. */
  driver?: string;
  /** physnet -> interface, Neutron's physical_interface_mappings (KUMO_PHYSNETS=physnet1:eth1,...). */
  physicalInterfaceMappings: Record<string, string>;
  /** This host's VXLAN/GRE endpoint (KUMO_TUNNEL_IP). */
  tunnelIp?: string;
  /** Tests only: the agent treats this named namespace as its host (KUMO_DATAPLANE_HOST_NAMESPACE). */
  hostNamespace?: string;
  /** Tests only: prefix of the qdhcp-/qrouter- namespaces (KUMO_DATAPLANE_NAMESPACE_PREFIX). */
  namespacePrefix?: string;
  /**
   * Where dnsmasq and haproxy files and pid files live (KUMO_DATAPLANE_STATE_DIR). Default:
   * `/run/kumo/<hash of the data directory>`: runtime state that, like the namespaces it
   * serves, does not outlive a reboot, in a place dnsmasq can still read once it has dropped
   * to `nobody` (a data directory under /root is not).
   */
  stateDir: string;
  /** Full resync period in seconds, which mends drift (KUMO_DATAPLANE_RESYNC_INTERVAL); 0 turns it off. */
  resyncIntervalSeconds: number;
  /** Seconds between the network agent's state reports (KUMO_NETWORK_AGENT_REPORT_INTERVAL, Neutron's report_interval 30). */
  reportIntervalSeconds: number;
  /**
   * The all-in-one's uplink (KUMO_PUBLIC_INTERFACE, `--public-interface`): guests' outbound
   * traffic leaves the host by it, NATed; unset, it stays on the host.
   */
  publicInterface?: string;
}

/**
 * Neutron ML2 options as the KUMO_* variables spell them (unset: the networking service's
 * DevStack-like defaults); the networking service parses and checks them.
 */
export interface NetworkConfig {
  /** KUMO_TENANT_NETWORK_TYPE */
  tenantNetworkType?: string;
  /** KUMO_NETWORK_FLAT_NETWORKS */
  flatNetworks?: string;
  /** KUMO_NETWORK_VLAN_RANGES */
  vlanRanges?: string;
  /** KUMO_NETWORK_VNI_RANGES */
  vniRanges?: string;
  /** KUMO_NETWORK_GRE_RANGES */
  greRanges?: string;
  /** KUMO_NETWORK_PHYSICAL_MTU */
  physicalMtu?: number;
  /** KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT (Neutron's max_fixed_ips_per_port) */
  maxFixedIpsPerPort?: number;
  /**
   * KUMO_DEFAULT_NETWORKS (`--no-default-networks`): on the first start, make DevStack's
   * `public`, `private` and `router1` (default true).
   */
  defaultNetworks: boolean;
  /** KUMO_NETWORK_AGENT_DOWN_TIME: seconds without a report before an agent is dead (Neutron's agent_down_time, 75). */
  agentDownTimeSeconds: number;
}

/** Nova's options as KUMO_* variables spell them; `kumo up` flags override the driver and host count. */
/** This host's volume agents (cinder-volume), one per backend. */
export interface VolumeConfig {
  /**
   * The backends this host serves (KUMO_VOLUME_BACKENDS=file,nbd, `--volume-backend`), each as
   * `host@backend`: `file` (qcow2 files attached on this machine) and `nbd` (qcow2 files
   * exported by qemu-storage-daemon over NBD with TLS-PSK, attachable from other hosts).
   */
  backends: VolumeBackendName[];
  /** The address the nbd backend's NBD server listens on and hands to attachers (KUMO_VOLUME_NBD_ADDRESS). */
  nbdAddress: string;
  /** Its TCP port (KUMO_VOLUME_NBD_PORT); unset, one is picked on the first start and kept. */
  nbdPort?: number;
}

export const VOLUME_BACKENDS = ['file', 'nbd'] as const;
export type VolumeBackendName = (typeof VOLUME_BACKENDS)[number];

/** `file,nbd` (or repeated `--volume-backend` values joined by commas): known names, each once. */
export function parseVolumeBackends(text: string): VolumeBackendName[] {
  const names = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const name of names) {
    if (!(VOLUME_BACKENDS as readonly string[]).includes(name)) throw new Error(`volume backend ${JSON.stringify(name)}: use ${VOLUME_BACKENDS.join(' or ')}`);
  }
  if (new Set(names).size !== names.length) throw new Error(`volume backends ${JSON.stringify(text)}: a backend is named twice`);
  return names as VolumeBackendName[];
}

function volumeConfig(env: NodeJS.ProcessEnv): VolumeConfig {
  const port = positiveIntFrom(env.KUMO_VOLUME_NBD_PORT, 'KUMO_VOLUME_NBD_PORT');
  if (port !== undefined && port > 65535) throw new Error(`KUMO_VOLUME_NBD_PORT=${port}: not a TCP port`);
  const address = env.KUMO_VOLUME_NBD_ADDRESS || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(address)) throw new Error(`KUMO_VOLUME_NBD_ADDRESS=${address}: not a host name or address`);
  return {
    backends: parseVolumeBackends(env.KUMO_VOLUME_BACKENDS ?? 'file'),
    nbdAddress: address,
    ...(port !== undefined ? { nbdPort: port } : {}),
  };
}

export interface ComputeConfig {
  /** KUMO_COMPUTE_DRIVER: `fake`, `qemu`, or unset to pick the best this host can run. */
  driver?: string;
  /** KUMO_ACCEL (`kumo up --accel`): the qemu driver's accelerator, `auto` (KVM only when it proves itself), `kvm` or `tcg`. */
  accel: 'auto' | 'kvm' | 'tcg';
  /** KUMO_QEMU_BINARY: the QEMU system emulator (default qemu-system-x86_64 on PATH). */
  qemuBinary?: string;
  /** KUMO_QEMU_STOP_TIMEOUT: seconds a guest gets to power off on the ACPI button before it is stopped hard (Nova's shutdown_timeout). */
  qemuStopTimeoutSeconds: number;
  /** KUMO_FAKE_HOSTS: how many compute hosts the `fake` driver simulates in this process. */
  fakeHosts: number;
  /** KUMO_FAKE_HOST_VCPUS / _RAM_MB / _DISK_GB: what each simulated host offers. */
  fakeHostVcpus: number;
  fakeHostMemoryMb: number;
  fakeHostDiskGb: number;
  /** KUMO_FAKE_SPAWN_DELAY_MS: how long a simulated boot takes (default 0). */
  fakeSpawnDelayMs: number;
  /** KUMO_CPU_ALLOCATION_RATIO etc.: overcommit, as Nova's initial_*_allocation_ratio. */
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  /** KUMO_RESERVED_HOST_MEMORY_MB: memory kept back for the host itself. */
  reservedHostMemoryMb: number;
  /** KUMO_SCHEDULER_MAX_ATTEMPTS: hosts a boot is tried on before it ends in ERROR. */
  schedulerMaxAttempts: number;
  /** KUMO_SCHEDULER_WEIGH: `spread` fills the emptiest host first, `stack` the fullest. */
  weigh: 'spread' | 'stack';
  /** KUMO_SERVICE_DOWN_TIME: seconds without a heartbeat before a compute service is down. */
  serviceDownTimeSeconds: number;
  /** KUMO_HEARTBEAT_INTERVAL: seconds between an agent's heartbeats. */
  heartbeatIntervalSeconds: number;
  /** KUMO_FORCE_CONFIG_DRIVE: every instance gets a config drive, asked for or not (Nova's force_config_drive). */
  forceConfigDrive: boolean;
  /** KUMO_CONSOLE_TOKEN_TTL: seconds a console URL's token stays valid (Nova's [consoleauth] token_ttl). */
  consoleTokenTtlSeconds: number;
  /** KUMO_FAKE_CONSOLE_DIR, tests only: where `<instance id>.vnc` sockets stand in for fake guests' VNC servers. */
  fakeConsoleDir?: string;
}

/** Nova's metadata API: its own port, reached by the network agents' relays, never by users. */
export interface MetadataConfig {
  /** KUMO_METADATA_HOST (default 127.0.0.1). */
  host: string;
  /** KUMO_METADATA_PORT (default 8775, Nova's); 0 picks a free port, read back after listening. */
  port: number;
  /** Unset KUMO_METADATA_PORT: when 8775 is taken (another cloud on the host), a free port instead. */
  freePortIfTaken: boolean;
  /**
   * KUMO_METADATA_SECRET: what the relay signs instance ids with. Unset: one is made and kept
   * in `<dataDir>/metadata-secret`, and startCloud fills this in.
   */
  sharedSecret?: string;
}

export interface ConfigOverrides {
  dataDir?: string;
  host?: string;
  port?: number;
  publicUrl?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  busUrl?: string;
  logLevel?: LogLevel;
  policyDir?: string;
  identity?: Partial<IdentityConfig>;
  compute?: Partial<ComputeConfig>;
  volume?: Partial<VolumeConfig>;
  network?: Partial<NetworkConfig>;
  dataplane?: Partial<DataplaneConfig>;
  metadata?: Partial<MetadataConfig>;
}

export const DEFAULT_PORT = 8080;
export const DEFAULT_METADATA_PORT = 8775;

/** Builds the configuration from explicit overrides, then KUMO_* environment variables, then defaults. */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): KumoConfig {
  const dataDir = resolve(overrides.dataDir ?? env.KUMO_DATA_DIR ?? 'data');
  const host = overrides.host ?? env.KUMO_HOST ?? '127.0.0.1';
  const port = overrides.port ?? intFrom(env.KUMO_PORT) ?? DEFAULT_PORT;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const policyDir = overrides.policyDir ?? env.KUMO_POLICY_DIR;
  const databaseSchema = overrides.databaseSchema ?? env.KUMO_DATABASE_SCHEMA;
  return {
    dataDir,
    cloudId: cloudIdOf(dataDir),
    host,
    port,
    publicUrl: stripSlash(overrides.publicUrl ?? env.KUMO_PUBLIC_URL ?? `http://${urlHost}:${port}`),
    databaseUrl: overrides.databaseUrl ?? env.KUMO_DATABASE_URL ?? `sqlite:${resolve(dataDir, 'kumo.sqlite')}`,
    busUrl: overrides.busUrl ?? env.KUMO_BUS_URL ?? 'memory:',
    ...(env.KUMO_BUS_NAMESPACE ? { busNamespace: env.KUMO_BUS_NAMESPACE } : {}),
    region: env.KUMO_REGION ?? 'RegionOne',
    hostName: env.KUMO_HOST_NAME ?? hostname(),
    logLevel: overrides.logLevel ?? (env.KUMO_LOG_LEVEL as LogLevel | undefined) ?? 'info',
    ...(policyDir ? { policyDir: resolve(policyDir) } : {}),
    ...(databaseSchema ? { databaseSchema } : {}),
    identity: {
      tokenExpirationSeconds:
        overrides.identity?.tokenExpirationSeconds ?? intFrom(env.KUMO_TOKEN_EXPIRATION) ?? 3600,
      passwordHashRounds: overrides.identity?.passwordHashRounds ?? intFrom(env.KUMO_PASSWORD_HASH_ROUNDS) ?? 12,
      fernetMaxActiveKeys: overrides.identity?.fernetMaxActiveKeys ?? 3,
      lockoutFailureAttempts:
        overrides.identity?.lockoutFailureAttempts ?? intFrom(env.KUMO_LOCKOUT_FAILURE_ATTEMPTS) ?? 0,
      lockoutDurationSeconds: overrides.identity?.lockoutDurationSeconds ?? intFrom(env.KUMO_LOCKOUT_DURATION) ?? 1800,
      uniqueLastPasswordCount:
        overrides.identity?.uniqueLastPasswordCount ?? intFrom(env.KUMO_UNIQUE_LAST_PASSWORD_COUNT) ?? 0,
    },
    network: { ...networkConfig(env), ...overrides.network },
    dataplane: { ...dataplaneConfig(env, dataDir), ...overrides.dataplane },
    compute: { ...computeConfig(env), ...overrides.compute },
    volume: { ...volumeConfig(env), ...overrides.volume },
    metadata: { ...metadataConfig(env), ...overrides.metadata },
    image: {
      uploadIdleTimeoutSeconds: numberFrom(env.KUMO_IMAGE_UPLOAD_IDLE_TIMEOUT) ?? 900,
      ...(env.KUMO_IMAGE_METADEFS_DIR ? { metadefsDir: resolve(env.KUMO_IMAGE_METADEFS_DIR) } : {}),
      webDownloadAllowedHosts: (env.KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    },
  };
}

function metadataConfig(env: NodeJS.ProcessEnv): MetadataConfig {
  return {
    host: env.KUMO_METADATA_HOST || '127.0.0.1',
    port: intFrom(env.KUMO_METADATA_PORT) ?? DEFAULT_METADATA_PORT,
    freePortIfTaken: intFrom(env.KUMO_METADATA_PORT) === undefined,
    ...(env.KUMO_METADATA_SECRET ? { sharedSecret: env.KUMO_METADATA_SECRET } : {}),
  };
}

function networkConfig(env: NodeJS.ProcessEnv): NetworkConfig {
  const physicalMtu = intFrom(env.KUMO_NETWORK_PHYSICAL_MTU);
  const maxFixedIpsPerPort = intFrom(env.KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT);
  return {
    ...(env.KUMO_TENANT_NETWORK_TYPE !== undefined ? { tenantNetworkType: env.KUMO_TENANT_NETWORK_TYPE } : {}),
    ...(env.KUMO_NETWORK_FLAT_NETWORKS !== undefined ? { flatNetworks: env.KUMO_NETWORK_FLAT_NETWORKS } : {}),
    ...(env.KUMO_NETWORK_VLAN_RANGES !== undefined ? { vlanRanges: env.KUMO_NETWORK_VLAN_RANGES } : {}),
    ...(env.KUMO_NETWORK_VNI_RANGES !== undefined ? { vniRanges: env.KUMO_NETWORK_VNI_RANGES } : {}),
    ...(env.KUMO_NETWORK_GRE_RANGES !== undefined ? { greRanges: env.KUMO_NETWORK_GRE_RANGES } : {}),
    ...(physicalMtu !== undefined ? { physicalMtu } : {}),
    ...(maxFixedIpsPerPort !== undefined ? { maxFixedIpsPerPort } : {}),
    defaultNetworks: booleanFrom(env.KUMO_DEFAULT_NETWORKS, 'KUMO_DEFAULT_NETWORKS') ?? true,
    agentDownTimeSeconds: positiveIntFrom(env.KUMO_NETWORK_AGENT_DOWN_TIME, 'KUMO_NETWORK_AGENT_DOWN_TIME') ?? 75,
  };
}

const dataDirHash = (dataDir: string) => createHash('sha256').update(dataDir).digest('hex');

/** The cloud id of a data directory (an absolute path): the first 6 hex digits of its hash. */
export function cloudIdOf(dataDir: string): string {
  return dataDirHash(dataDir).slice(0, 6);
}

function dataplaneConfig(env: NodeJS.ProcessEnv, dataDir: string): DataplaneConfig {
  return {
    stateDir: resolve(env.KUMO_DATAPLANE_STATE_DIR ?? `/run/kumo/${dataDirHash(dataDir).slice(0, 12)}`),
    ...(env.KUMO_DATAPLANE ? { driver: env.KUMO_DATAPLANE } : {}),
    physicalInterfaceMappings: parsePhysnets(env.KUMO_PHYSNETS ?? ''),
    ...(env.KUMO_TUNNEL_IP ? { tunnelIp: env.KUMO_TUNNEL_IP } : {}),
    ...(env.KUMO_DATAPLANE_HOST_NAMESPACE ? { hostNamespace: env.KUMO_DATAPLANE_HOST_NAMESPACE } : {}),
    ...(env.KUMO_DATAPLANE_NAMESPACE_PREFIX ? { namespacePrefix: env.KUMO_DATAPLANE_NAMESPACE_PREFIX } : {}),
    resyncIntervalSeconds: intFrom(env.KUMO_DATAPLANE_RESYNC_INTERVAL) ?? 30,
    reportIntervalSeconds: positiveIntFrom(env.KUMO_NETWORK_AGENT_REPORT_INTERVAL, 'KUMO_NETWORK_AGENT_REPORT_INTERVAL') ?? 30,
    ...(env.KUMO_PUBLIC_INTERFACE ? { publicInterface: interfaceName(env.KUMO_PUBLIC_INTERFACE, 'KUMO_PUBLIC_INTERFACE') } : {}),
  };
}

/** A Linux interface name (what `ip` accepts: 1-15 of letters, digits, `_.-`). */
export function interfaceName(value: string, name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(value)) throw new Error(`${name}=${value}: not an interface name`);
  return value;
}

/** `physnet1:eth1,physnet2:eth2` (or repeated `--physnet` values joined by commas). */
export function parsePhysnets(text: string): Record<string, string> {
  const mappings: Record<string, string> = {};
  for (const item of text.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const match = /^([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_.-]{1,15})$/.exec(item);
    if (!match) throw new Error(`physical network mapping ${JSON.stringify(item)}: use physnet:interface`);
    const [, physnet, iface] = match as unknown as [string, string, string];
    if (mappings[physnet]) throw new Error(`physical network ${physnet} is mapped twice`);
    mappings[physnet] = iface;
  }
  return mappings;
}

function computeConfig(env: NodeJS.ProcessEnv): ComputeConfig {
  const weigh = env.KUMO_SCHEDULER_WEIGH ?? 'spread';
  if (weigh !== 'spread' && weigh !== 'stack') throw new Error(`KUMO_SCHEDULER_WEIGH=${weigh}: use spread or stack`);
  const accel = env.KUMO_ACCEL || 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new Error(`KUMO_ACCEL=${accel}: use auto, kvm or tcg`);
  const stopTimeout = intFrom(env.KUMO_QEMU_STOP_TIMEOUT) ?? 60;
  if (stopTimeout < 0) throw new Error(`KUMO_QEMU_STOP_TIMEOUT=${stopTimeout}: expected seconds, 0 or more`);
  return {
    ...(env.KUMO_COMPUTE_DRIVER ? { driver: env.KUMO_COMPUTE_DRIVER } : {}),
    accel,
    ...(env.KUMO_QEMU_BINARY ? { qemuBinary: env.KUMO_QEMU_BINARY } : {}),
    qemuStopTimeoutSeconds: stopTimeout,
    fakeHosts: intFrom(env.KUMO_FAKE_HOSTS) ?? 1,
    fakeHostVcpus: intFrom(env.KUMO_FAKE_HOST_VCPUS) ?? 8,
    fakeHostMemoryMb: intFrom(env.KUMO_FAKE_HOST_RAM_MB) ?? 16_384,
    fakeHostDiskGb: intFrom(env.KUMO_FAKE_HOST_DISK_GB) ?? 200,
    fakeSpawnDelayMs: intFrom(env.KUMO_FAKE_SPAWN_DELAY_MS) ?? 0,
    cpuAllocationRatio: numberFrom(env.KUMO_CPU_ALLOCATION_RATIO) ?? 4.0,
    ramAllocationRatio: numberFrom(env.KUMO_RAM_ALLOCATION_RATIO) ?? 1.0,
    diskAllocationRatio: numberFrom(env.KUMO_DISK_ALLOCATION_RATIO) ?? 1.0,
    reservedHostMemoryMb: intFrom(env.KUMO_RESERVED_HOST_MEMORY_MB) ?? 512,
    schedulerMaxAttempts: intFrom(env.KUMO_SCHEDULER_MAX_ATTEMPTS) ?? 3,
    weigh,
    serviceDownTimeSeconds: intFrom(env.KUMO_SERVICE_DOWN_TIME) ?? 60,
    heartbeatIntervalSeconds: intFrom(env.KUMO_HEARTBEAT_INTERVAL) ?? 10,
    forceConfigDrive: booleanFrom(env.KUMO_FORCE_CONFIG_DRIVE, 'KUMO_FORCE_CONFIG_DRIVE') ?? false,
    consoleTokenTtlSeconds: positiveIntFrom(env.KUMO_CONSOLE_TOKEN_TTL, 'KUMO_CONSOLE_TOKEN_TTL') ?? 600,
    ...(env.KUMO_FAKE_CONSOLE_DIR ? { fakeConsoleDir: resolve(env.KUMO_FAKE_CONSOLE_DIR) } : {}),
  };
}

/** oslo.config's booleans: true/false, yes/no, on/off, 1/0, any case. */
function booleanFrom(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const lower = value.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(lower)) return true;
  if (['false', 'no', 'off', '0'].includes(lower)) return false;
  throw new Error(`${name}=${value}: expected true or false`);
}

function positiveIntFrom(value: string | undefined, name: string): number | undefined {
  const n = intFrom(value);
  if (n !== undefined && n < 1) throw new Error(`${name}=${value}: expected a positive integer`);
  return n;
}

function numberFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function intFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
