import type { FastifyRequest } from 'fastify';
import { callerOf, policyCredentials } from '../../core/auth/context.js';
import { isObject } from '../../core/http/body.js';
import { ApiError } from '../../core/http/errors.js';
import type { KumoConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { Credentials, Enforcer } from '../../core/policy/index.js';
import type { PoolRecords } from './pool-store.js';
import type { RbacRecords } from './rbac-store.js';
import type { L3Records } from './router-store.js';
import type { SecurityGroupRecords } from './security-group-store.js';
import type { NetworkRecords } from './store.js';
import type { TypeDrivers } from './ml2/type-drivers.js';

export interface NetworkSettings {
  /** Type of networks projects create without provider attributes (Neutron's tenant_network_types[0]). */
  tenantNetworkType: 'vxlan' | 'vlan' | 'gre' | 'local';
  /** MTU of the physical networks; overlay types subtract their headers. */
  physicalMtu: number;
  defaultQuotas: Record<string, number>;
  /** Addresses one port may hold, as Neutron's max_fixed_ips_per_port (network: ports are exempt). */
  maxFixedIpsPerPort: number;
  dnsDomain: string;
}

/** Everything the networking service's logic shares. */
export interface NetworkContext {
  config: KumoConfig;
  settings: NetworkSettings;
  records: NetworkRecords;
  groups: SecurityGroupRecords;
  /** Routers and floating IPs. */
  l3: L3Records;
  types: TypeDrivers;
  /** RBAC entries: who else may use a network (and which flags of it they make). */
  rbac: RbacRecords;
  /** Address scopes and subnet pools. */
  pools: PoolRecords;
  enforcer: Enforcer;
  log: Logger;
  /** Tells the dataplane that these networks' desired state changed (no-op until agents exist). */
  changed(networkIds: Iterable<string>): void;
}

export interface Caller {
  projectId: string;
  isAdmin: boolean;
  credentials: Credentials;
}

export function callerFrom(request: FastifyRequest): Caller {
  const auth = callerOf(request);
  return {
    projectId: auth.projectId ?? '',
    isAdmin: auth.roles.includes('admin'),
    credentials: policyCredentials(auth),
  };
}

/** Neutron's error body type for each status when no more specific one applies. */
export class NeutronError extends ApiError {
  constructor(status: number, type: string, message: string) {
    super(status, message, type);
  }
}

export const notFound = (kind: string, id: string) =>
  new NeutronError(404, `${kind}NotFound`, `${kind.replace(/([a-z])([A-Z])/g, '$1 $2')} ${id} could not be found.`);

export function authorize(ctx: NetworkContext, caller: Caller, action: string, target: Record<string, unknown>): void {
  if (!ctx.enforcer.enforce(action, target, caller.credentials)) {
    throw new NeutronError(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);
  }
}

/**
 * Policy check for each attribute the request sets that has a rule of its own
 * (`create_network:shared`), and, as Neutron's sub-attribute rules, for each key set inside
 * an object or inside any entry of a list of objects (`create_port:fixed_ips:ip_address`,
 * `update_port:allowed_address_pairs:mac_address`). One level down, as Neutron goes.
 */
export function authorizeAttributes(
  ctx: NetworkContext,
  caller: Caller,
  action: string,
  attributes: Record<string, unknown>,
  target: Record<string, unknown>,
): void {
  for (const [key, value] of Object.entries(attributes)) {
    const rule = `${action}:${key}`;
    if (ctx.enforcer.has(rule)) authorize(ctx, caller, rule, target);
    for (const subKey of subAttributes(value)) {
      const subRule = `${rule}:${subKey}`;
      if (ctx.enforcer.has(subRule)) authorize(ctx, caller, subRule, target);
    }
  }
}

/** The keys set in an object, or in any object of a list. */
function subAttributes(value: unknown): Set<string> {
  const keys = new Set<string>();
  for (const entry of Array.isArray(value) ? value : [value]) {
    if (isObject(entry)) for (const key of Object.keys(entry)) keys.add(key);
  }
  return keys;
}
