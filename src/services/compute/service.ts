import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import type { Enforcer } from '../../core/policy/index.js';
import type { ComputeContext } from './context.js';
import type { ImageLookup, NetworkPorts } from './peers.js';
import { computePolicyDefaults } from './policy.js';
import type { ComputeTables } from './tables.js';

export function createComputeContext(
  config: KumoConfig,
  database: Database,
  bus: Bus,
  enforcer: Enforcer,
  images: ImageLookup,
  network: NetworkPorts | undefined,
  log: Logger,
): ComputeContext {
  enforcer.registerDefaults(computePolicyDefaults);
  return {
    config,
    database,
    db: database.tables<ComputeTables>(),
    bus,
    enforcer,
    log,
    images,
    ...(network ? { network } : {}),
  };
}
