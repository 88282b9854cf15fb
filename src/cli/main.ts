#!/usr/bin/env node
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { interfaceName, loadConfig, parsePhysnets, parseVolumeBackends, type ConfigOverrides } from '../core/config.js';
import { PRIVATE_UMASK } from '../core/data-dir.js';
import type { LogLevel } from '../core/log.js';
import { FernetKeyRepository } from '../services/identity/fernet/key-repository.js';
import { createLogger } from '../core/log.js';
import { agent } from './agent.js';
import { controlPlane } from './split.js';
import { identityBootstrap } from './identity-bootstrap.js';
import { down, downText } from './down.js';
import { up } from './up.js';

// Whatever Kumo writes (database, keys, images, instance files) is its owner's alone; the few
// files another user must read (dnsmasq's, as nobody) get their modes where they are written.
process.umask(PRIVATE_UMASK);

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer 0-65535');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('expected an integer 1-100000');
  return n;
}

interface CommonOptions {
  dataDir?: string;
  port?: number;
  host?: string;
  logLevel?: LogLevel;
  policyDir?: string;
  computeDriver?: string;
  accel?: 'auto' | 'kvm' | 'tcg';
  fakeHosts?: number;
  dataplane?: string;
  physnet?: string[];
  tunnelIp?: string;
  publicInterface?: string;
  /** false with --no-default-networks (commander's negated option: true when not given). */
  defaultNetworks?: boolean;
  volumeBackend?: string[];
}

function volumeBackend(value: string, previous: string[] = []): string[] {
  try {
    parseVolumeBackends([...previous, value].join(','));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return [...previous, value];
}

function iface(value: string): string {
  try {
    return interfaceName(value, '--public-interface');
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function physnet(value: string, previous: string[] = []): string[] {
  try {
    parsePhysnets(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return [...previous, value];
}

function ipv4(value: string): string {
  if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(value) || value.split('.').some((o) => Number(o) > 255)) throw new InvalidArgumentError('an IPv4 address');
  return value;
}

function dataplaneOverrides(options: CommonOptions): ConfigOverrides['dataplane'] {
  const env = process.env;
  return {
    ...(options.dataplane !== undefined ? { driver: options.dataplane } : {}),
    // Flags add to (and override) the KUMO_PHYSNETS mappings.
    ...(options.physnet !== undefined
      ? { physicalInterfaceMappings: { ...parsePhysnets(env.KUMO_PHYSNETS ?? ''), ...parsePhysnets(options.physnet.join(',')) } }
      : {}),
    ...(options.tunnelIp !== undefined ? { tunnelIp: options.tunnelIp } : {}),
    ...(options.publicInterface !== undefined ? { publicInterface: options.publicInterface } : {}),
  };
}

function overrides(options: CommonOptions): ConfigOverrides {
  return {
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    ...(options.policyDir !== undefined ? { policyDir: options.policyDir } : {}),
    dataplane: dataplaneOverrides(options),
    ...(options.volumeBackend !== undefined ? { volume: { backends: parseVolumeBackends(options.volumeBackend.join(',')) } } : {}),
    ...(options.defaultNetworks === false ? { network: { defaultNetworks: false } } : {}),
    ...(options.computeDriver !== undefined || options.fakeHosts !== undefined || options.accel !== undefined
      ? {
          compute: {
            ...(options.computeDriver !== undefined ? { driver: options.computeDriver } : {}),
            ...(options.accel !== undefined ? { accel: options.accel } : {}),
            ...(options.fakeHosts !== undefined ? { fakeHosts: options.fakeHosts } : {}),
          },
        }
      : {}),
  };
}

const program = new Command('kumo').description('An OpenStack-compatible cloud in one process');

program
  .command('up')
  .description('run the all-in-one cloud (API, services and agents) in this process')
  .option('--data-dir <dir>', 'where the database, keys and client files live (default: ./data)')
  .option('--port <port>', 'the one HTTP port every service answers on (default: 8080)', port)
  .option('--host <address>', 'address to bind (default: 127.0.0.1)')
  .option('--policy-dir <dir>', 'oslo.policy-style overrides, one file per service: identity.yaml, image.yaml, ...')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addOption(new Option('--compute-driver <driver>', 'what runs instances (default: the best this host can run)').choices(['fake', 'qemu']))
  .addOption(new Option('--accel <accel>', 'with the qemu driver: kvm, tcg, or auto (KVM only when it proves itself; default)').choices(['auto', 'kvm', 'tcg']))
  .option('--fake-hosts <n>', 'with the fake driver: how many compute hosts to simulate (default: 1)', positive)
  .addOption(new Option('--dataplane <driver>', 'what carries network traffic (default: linuxbridge when root with the tools, else noop)').choices(['linuxbridge', 'noop']))
  .option('--physnet <physnet:interface>', 'map a physical network to a host interface (repeatable)', physnet)
  .option('--tunnel-ip <address>', "this host's VXLAN/GRE endpoint address (default: the address of the default route's interface)", ipv4)
  .option('--public-interface <interface>', "the uplink guests' outbound traffic leaves by, NATed (default: none, it stays on this host)", iface)
  .option('--no-default-networks', 'on the first start, make no public/private networks and no router1 (KUMO_DEFAULT_NETWORKS=0)')
  .option('--volume-backend <backend>', 'a volume backend this host serves, file or nbd (repeatable; default: KUMO_VOLUME_BACKENDS, else file)', volumeBackend)
  .action(async (options: CommonOptions) => {
    await up(loadConfig(overrides(options)));
  });

program
  .command('api')
  .description('run the HTTP APIs of a split deployment (KUMO_DATABASE_URL, KUMO_BUS_URL); the first start writes clouds.yaml with kumo-service')
  .option('--data-dir <dir>', 'where keys and client files live (default: ./data)')
  .option('--port <port>', 'the one HTTP port every service answers on (default: 8080)', port)
  .option('--host <address>', 'address to bind (default: 127.0.0.1)')
  .option('--policy-dir <dir>', 'oslo.policy-style overrides, one file per service')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (options: CommonOptions) => {
    await controlPlane(loadConfig(overrides(options)), 'api');
  });

program
  .command('conductor')
  .description('run the conductor and scheduler of a split deployment (KUMO_DATABASE_URL, KUMO_BUS_URL): the compute hosts report to it')
  .option('--data-dir <dir>', 'where keys live (default: ./data)')
  .option('--policy-dir <dir>', 'oslo.policy-style overrides, one file per service')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (options: CommonOptions) => {
    await controlPlane(loadConfig(overrides(options)), 'conductor');
  });

program
  .command('agent')
  .description('run one compute host of a split deployment: needs KUMO_BUS_URL and the service user (OS_CLIENT_CONFIG_FILE, --os-cloud), no database')
  .requiredOption('--host <name>', 'this compute host\'s name (as os-services and hypervisors list it)')
  .requiredOption('--state-dir <dir>', "this host's own state: guests' disks, its image cache")
  .option('--os-cloud <cloud>', 'the clouds.yaml cloud to authenticate as (default: OS_CLOUD, else kumo-service)')
  .addOption(new Option('--compute-driver <driver>', 'what runs instances (default: the best this host can run)').choices(['fake', 'qemu']))
  .addOption(new Option('--accel <accel>', 'with the qemu driver: kvm, tcg, or auto (KVM only when it proves itself; default)').choices(['auto', 'kvm', 'tcg']))
  .addOption(new Option('--dataplane <driver>', 'what carries network traffic (default: linuxbridge when root with the tools, else noop)').choices(['linuxbridge', 'noop']))
  .option('--physnet <physnet:interface>', 'map a physical network to a host interface (repeatable)', physnet)
  .option('--tunnel-ip <address>', "this host's VXLAN/GRE endpoint address", ipv4)
  .option('--volume-backend <backend>', 'also serve volumes from this host: file or nbd (repeatable; default: KUMO_VOLUME_BACKENDS when set, else none)', volumeBackend)
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (options: CommonOptions & { host: string; stateDir: string; osCloud?: string }) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(options.host)) throw new InvalidArgumentError('--host: letters, digits, dot, dash, underscore');
    const cloudsFile = process.env.OS_CLIENT_CONFIG_FILE;
    if (!cloudsFile) throw new InvalidArgumentError('OS_CLIENT_CONFIG_FILE must name the clouds.yaml `kumo api` wrote');
    const { host, stateDir, osCloud, ...common } = options;
    // The agent's own directory stands where a cloud's data directory would: it never sees the controller's.
    const config = loadConfig({ ...overrides(common), dataDir: stateDir, databaseUrl: 'none:' });
    // A compute host serves volumes only when asked (a flag, or KUMO_VOLUME_BACKENDS set).
    if (options.volumeBackend === undefined && process.env.KUMO_VOLUME_BACKENDS === undefined) config.volume.backends = [];
    await agent(config, { host, cloudsFile, osCloud: osCloud ?? process.env.OS_CLOUD ?? 'kumo-service' });
  });

program
  .command('down')
  .description("remove everything the data directory's cloud made on this host: guests, dnsmasq, haproxy, namespaces, bridges, taps, iptables chains, ipsets, /run state (a running kumo up on it is stopped first)")
  .option('--data-dir <dir>', 'the data directory of the cloud (default: ./data)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (options: CommonOptions) => {
    const config = loadConfig(overrides(options));
    const report = await down(config, createLogger(options.logLevel ?? 'warn'));
    process.stdout.write(downText(config, report));
  });

const identity = program.command('identity').description('identity administration');
identity
  .command('rotate-keys')
  .description('rotate the Fernet keys: promote the staged key, stage a new one, prune old ones')
  .option('--data-dir <dir>', 'the data directory of the cloud (default: ./data)')
  .action((options: CommonOptions) => {
    const config = loadConfig(overrides(options));
    const repository = new FernetKeyRepository(join(config.dataDir, 'fernet-keys'));
    const primary = repository.rotate(config.identity.fernetMaxActiveKeys);
    process.stdout.write(`Fernet keys rotated: key ${primary} is now primary.\n`);
  });

identity
  .command('bootstrap')
  .description('restore the admin user of project admin (admin role there and on the system), as keystone-manage bootstrap')
  .option('--data-dir <dir>', 'the data directory of the cloud (default: ./data)')
  .option('--password <password>', 'the admin password (default: KUMO_ADMIN_PASSWORD, else a random one); a flag is visible to other users in ps')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (options: CommonOptions & { password?: string }) => {
    const { password, ...common } = options;
    await identityBootstrap(loadConfig(overrides(common)), password ?? (process.env.KUMO_ADMIN_PASSWORD || undefined));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`kumo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
