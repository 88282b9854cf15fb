import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, type Caller, type NetworkContext } from './context.js';
import { bool, invalidInput, uuidOf, now } from './common.js';
import { canonicalAddress, isAddress } from './ipam.js';
import { DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE, type FixedIp, type Network, type Port, type Router } from './model.js';
import { visibleNetwork } from './networks.js';
import { allocate, createServicePort, type IpRequest } from './ports.js';
import { badRequest, refuseOverlaps, routerPorts } from './router-common.js';
import { validateRoutes } from './router-extra-routes.js';

/** A router's external gateway (Neutron's _update_router_gw_info and its checks). */

export interface GatewayRequest {
  networkId: string;
  enableSnat?: boolean;
  fixedIps?: IpRequest[];
}

/** `external_gateway_info`: undefined when absent, null to clear it (`null` or `{}`). */
export function readGateway(value: unknown): GatewayRequest | null | undefined {
  if (value === undefined) return undefined;
  // The schema let through null, `{}`, or `{network_id, enable_snat?, external_fixed_ips?}`.
  if (value === null || Object.keys(value as Json).length === 0) return null;
  const given = value as Json;
  const request: GatewayRequest = { networkId: uuidOf(given.network_id) };
  const snat = bool(given, 'enable_snat');
  if (snat !== undefined) request.enableSnat = snat;
  if (Array.isArray(given.external_fixed_ips)) {
    request.fixedIps = (given.external_fixed_ips as Array<{ subnet_id?: string; ip_address?: string }>).map(({ subnet_id: subnetId, ip_address: address }) => {
      const ip: IpRequest = {};
      if (subnetId !== undefined) ip.subnetId = uuidOf(subnetId);
      if (address !== undefined) {
        if (!isAddress(address)) throw invalidInput(`'${address.slice(0, 64)}' is not a valid IP address.`);
        ip.ipAddress = canonicalAddress(address);
      }
      return ip;
    });
  }
  return request;
}

/** The sub-attribute rules (`create_router:external_gateway_info:enable_snat`, ...) for the keys the request sets. */
export function authorizeGateway(ctx: NetworkContext, caller: Caller, action: string, gateway: GatewayRequest | null | undefined, target: Record<string, unknown>): void {
  if (!gateway) return;
  if (gateway.enableSnat !== undefined) authorize(ctx, caller, `${action}:external_gateway_info:enable_snat`, target);
  if (gateway.fixedIps !== undefined) authorize(ctx, caller, `${action}:external_gateway_info:external_fixed_ips`, target);
}

export interface GatewayPlan {
  fields?: Pick<Router, 'gatewayNetworkId' | 'gatewayPortId' | 'enableSnat'>;
  /** Made for this attempt: removed again if the router row cannot be written. */
  createdPort: Port | undefined;
  /** The previous gateway port, removed once the new state is written. */
  obsoletePort: Port | undefined;
  networks: string[];
}

/** Neutron's _update_router_gw_info: what the gateway becomes, with its port made ready. */
export async function planGateway(ctx: NetworkContext, caller: Caller, router: Router, request: GatewayRequest | null): Promise<GatewayPlan> {
  const current = router.gatewayPortId ? await ctx.records.getPort(router.gatewayPortId) : undefined;
  const interfaces = (await routerPorts(ctx, router.id)).filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE);
  if (request === null) {
    if (!router.gatewayNetworkId) return { createdPort: undefined, obsoletePort: undefined, networks: [] };
    await refuseIfFloatingIps(ctx, router);
    await validateRoutes(ctx, router.routes, interfaces, []);
    return {
      fields: { gatewayNetworkId: null, gatewayPortId: null, enableSnat: true },
      createdPort: undefined,
      obsoletePort: current,
      networks: [router.gatewayNetworkId],
    };
  }
  const network = await visibleNetwork(ctx, caller, request.networkId);
  if (!network.external) throw badRequest('router', `Network ${network.id} is not an external network`);
  const subnets = await ctx.records.listSubnets({ networkIds: [network.id] });
  for (const ip of request.fixedIps ?? []) {
    if (ip.ipAddress !== undefined && subnets.some((s) => s.gatewayIp === ip.ipAddress)) {
      throw badRequest('router', `External IP ${ip.ipAddress} is the same as the gateway IP`);
    }
  }
  const enableSnat = request.enableSnat ?? true;
  if (current && router.gatewayNetworkId === network.id) {
    // Same network: the port stays, and takes the requested addresses if they differ.
    if (request.fixedIps && externalIpsChange(current, request.fixedIps)) await readdressGateway(ctx, network, current, request.fixedIps);
    return {
      fields: { gatewayNetworkId: network.id, gatewayPortId: current.id, enableSnat },
      createdPort: undefined,
      obsoletePort: undefined,
      networks: [network.id],
    };
  }
  if (router.gatewayNetworkId) await refuseIfFloatingIps(ctx, router);
  await refuseOverlaps(ctx, interfaces, subnets);
  await validateRoutes(ctx, router.routes, interfaces, subnets);
  const port = await createServicePort(
    ctx,
    network,
    { projectId: '', deviceOwner: DEVICE_OWNER_ROUTER_GATEWAY, deviceId: router.id, status: 'ACTIVE' },
    request.fixedIps,
  );
  return {
    fields: { gatewayNetworkId: network.id, gatewayPortId: port.id, enableSnat },
    createdPort: port,
    obsoletePort: current,
    networks: [network.id, ...(router.gatewayNetworkId ? [router.gatewayNetworkId] : [])],
  };
}

/** Neutron's _check_for_external_ip_change: compares requested subnets and addresses with the port's. */
function externalIpsChange(port: Port, requested: IpRequest[]): boolean {
  if (requested.length === 0) return false;
  const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
  const subnets = new Set(requested.flatMap((r) => (r.subnetId ? [r.subnetId] : [])));
  if (!same(subnets, new Set(port.fixedIps.map((f) => f.subnetId)))) return true;
  const addresses = new Set(requested.flatMap((r) => (r.ipAddress ? [r.ipAddress] : [])));
  return !same(addresses, new Set(port.fixedIps.map((f) => f.ipAddress)));
}

/** Gives the gateway port the requested addresses, keeping those it already holds. */
async function readdressGateway(ctx: NetworkContext, network: Network, port: Port, requests: IpRequest[]): Promise<void> {
  const subnets = await ctx.records.listSubnets({ networkIds: [network.id] });
  const kept: FixedIp[] = [];
  const fresh: IpRequest[] = [];
  for (const request of requests) {
    const existing = port.fixedIps.find(
      (f) => (request.ipAddress === undefined || f.ipAddress === request.ipAddress) && (request.subnetId === undefined || f.subnetId === request.subnetId),
    );
    if (existing && !kept.includes(existing)) kept.push(existing);
    else fresh.push(request);
  }
  const fixedIps = [...kept];
  for (const request of fresh) fixedIps.push(await allocate(ctx, network, subnets, request, port.macAddress, fixedIps));
  try {
    await ctx.records.updatePort({ ...port, fixedIps, updatedAt: now(), revisionNumber: port.revisionNumber + 1 }, { fixedIps: true, securityGroups: false });
  } catch (error) {
    if (ctx.records.database.isUniqueViolation(error)) throw new NeutronError(409, 'IpAddressAlreadyAllocated', 'A requested IP address is already allocated.');
    throw error;
  }
}

/** Neutron's RouterExternalGatewayInUseByFloatingIp: floating IPs NAT through this gateway. */
export async function refuseIfFloatingIps(ctx: NetworkContext, router: Router): Promise<void> {
  if ((await ctx.l3.listFloatingIps({ routerId: router.id })).length > 0) {
    throw new NeutronError(
      409,
      'RouterExternalGatewayInUseByFloatingIp',
      `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${router.gatewayNetworkId} is required by one or more floating IPs.`,
    );
  }
}

