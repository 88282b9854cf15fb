import type { KumoConfig, NetworkConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import type { Enforcer } from '../../core/policy/index.js';
import type { NetworkContext, NetworkSettings } from './context.js';
import { parseRanges, parseVlanRanges, TypeDrivers } from './ml2/type-drivers.js';
import { networkPolicyDefaults } from './policy.js';
import { DEFAULT_QUOTAS } from './quotas.js';
import { PoolRecords } from './pool-store.js';
import { RbacRecords } from './rbac-store.js';
import { L3Records } from './router-store.js';
import { SecurityGroupRecords } from './security-group-store.js';
import { NetworkRecords } from './store.js';

/** Type driver ranges as Neutron's ML2 options, from the KUMO_* variables in `config.network` (DevStack-like defaults). */
function typeDriverConfig(options: NetworkConfig) {
  return {
    flatNetworks: (options.flatNetworks ?? '*').split(',').map((s) => s.trim()).filter(Boolean),
    vlanRanges: parseVlanRanges(options.vlanRanges ?? 'physnet1:1000:1999'),
    vxlanRanges: parseRanges(options.vniRanges ?? '1:1000', 16_777_215),
    greRanges: parseRanges(options.greRanges ?? '1:1000', 4_294_967_295),
  };
}

export function createNetworkContext(
  config: KumoConfig,
  database: Database,
  enforcer: Enforcer,
  log: Logger,
): NetworkContext {
  enforcer.registerDefaults(networkPolicyDefaults);
  const tenantType = config.network.tenantNetworkType ?? 'vxlan';
  if (!['vxlan', 'vlan', 'gre', 'local'].includes(tenantType)) throw new Error(`KUMO_TENANT_NETWORK_TYPE=${tenantType}: use vxlan, vlan, gre or local`);
  const maxFixedIpsPerPort = config.network.maxFixedIpsPerPort ?? 5;
  if (maxFixedIpsPerPort < 1) throw new Error(`KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT=${maxFixedIpsPerPort}: expected 1 or more`);
  const settings: NetworkSettings = {
    tenantNetworkType: tenantType as NetworkSettings['tenantNetworkType'],
    physicalMtu: config.network.physicalMtu ?? 1500,
    defaultQuotas: { ...DEFAULT_QUOTAS },
    maxFixedIpsPerPort,
    dnsDomain: 'openstacklocal.',
  };
  const records = new NetworkRecords(database);
  return {
    config,
    settings,
    records,
    groups: new SecurityGroupRecords(records.db),
    l3: new L3Records(records),
    rbac: new RbacRecords(records.db),
    pools: new PoolRecords(records.db),
    types: new TypeDrivers(typeDriverConfig(config.network)),
    enforcer,
    log,
    changed: () => undefined,
  };
}
