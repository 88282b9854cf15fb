import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, int, invalidInput, now, str, uuidOf, newResource } from './common.js';
import { canonicalAddress, contains, defaultGateway, defaultPools, isAddress, parseCidr, toBig, validatePools, versionOf, type ParsedCidr } from './ipam.js';
import type { AllocationPool, HostRoute, Network, Subnet } from './model.js';
import { grantedNetworks, requireNetworkOwnership, visibleNetwork } from './networks.js';
import { ensureDhcpAddress, releaseDhcpAddress } from './ports.js';
import { checkQuota } from './quotas.js';
import { allocateFromPool, poolForSubnet } from './subnet-pools.js';


export async function visibleSubnet(ctx: NetworkContext, caller: Caller, id: string): Promise<Subnet> {
  const subnet = await ctx.records.getSubnet(id);
  const stored = subnet && (await ctx.records.getNetwork(subnet.networkId));
  const network = stored && (await grantedNetworks(ctx, caller, [stored]))[0]?.network;
  if (!subnet || !network || !subnetsVisible(network, caller)) throw notFound('Subnet', id);
  return subnet;
}

/**
 * An external network is visible to every project, its subnets are not: as in Neutron,
 * only the owner, admins and the projects it is shared with see them (`network` as the
 * caller sees it, its `shared` computed from the RBAC entries).
 */
export function subnetsVisible(network: Network, caller: Caller): boolean {
  return caller.isAdmin || network.projectId === caller.projectId || network.shared;
}

export async function createSubnet(ctx: NetworkContext, caller: Caller, body: Json): Promise<Subnet> {
  const networkId = uuidOf(body.network_id);
  const network = await visibleNetwork(ctx, caller, networkId);
  requireNetworkOwnership(caller, network, str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId);
  authorize(ctx, caller, 'create_subnet', { project_id: caller.projectId, 'network:project_id': network.projectId });
  if (network.projectId !== caller.projectId && !caller.isAdmin) {
    throw new NeutronError(403, 'PolicyNotAuthorized', '(rule:create_subnet) is disallowed by policy');
  }
  const projectId = str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId;
  const cidrText = str(body, 'cidr');
  const requestedVersion = int(body, 'ip_version');
  const prefixlen = int(body, 'prefixlen');
  const pool = await poolForSubnet(ctx, caller, body, requestedVersion, projectId);
  if (!pool && prefixlen !== undefined) throw invalidInput('prefixlen is only valid with a subnet pool (subnetpool_id or use_default_subnetpool).');
  if (!pool && !cidrText) throw invalidInput("Failed to parse request. Required attribute 'cidr' not specified");
  await checkQuota(ctx, projectId, 'subnet');
  // Two requests may carve the same block from a pool at once: the (pool, cidr) index refuses the second, which carves again.
  for (let attempt = 0; ; attempt++) {
    // Neutron's IPAM takes the network of what it is given: 10.0.0.5/24 is 10.0.0.0/24.
    const cidr = pool ? await allocateFromPool(ctx, pool, projectId, cidrText, prefixlen) : parseCidr(cidrText as string, { hostBits: true });
    const ipVersion = requestedVersion ?? cidr.version;
    if (ipVersion !== cidr.version) throw invalidInput(`Cannot use IPv${cidr.version} subnet ${cidr.text} with ip_version ${ipVersion}.`);
    try {
      return await insertSubnet(ctx, body, network, projectId, cidr, pool?.id ?? null);
    } catch (error) {
      if (!pool || cidrText || attempt >= 5 || !ctx.records.database.isUniqueViolation(error)) throw error;
    }
  }
}

async function insertSubnet(ctx: NetworkContext, body: Json, network: Network, projectId: string, cidr: ParsedCidr, subnetpoolId: string | null): Promise<Subnet> {
  const networkId = network.id;

  const siblings = await ctx.records.listSubnets({ networkIds: [networkId] });
  for (const other of siblings) {
    const o = parseCidr(other.cidr);
    if (o.version === cidr.version && o.first <= cidr.last && cidr.first <= o.last) {
      throw invalidInput(`Requested subnet with cidr: ${cidr.text} for network: ${networkId} overlaps with another subnet.`);
    }
  }
  const gatewayIp = readGateway(body, cidr, true) ?? null;
  const pools = body.allocation_pools === undefined ? defaultPools(cidr, gatewayIp) : readPools(body.allocation_pools);
  validatePools(cidr, pools, gatewayIp);
  const { raMode, addressMode } = readIpv6Modes(body, cidr.version);
  const subnet: Subnet = {
    ...newResource(body, projectId, 0),
    networkId,
    ipVersion: cidr.version,
    cidr: cidr.text,
    gatewayIp,
    enableDhcp: bool(body, 'enable_dhcp') ?? true,
    ipv6RaMode: raMode ?? null,
    ipv6AddressMode: addressMode ?? null,
    allocationPools: pools,
    dnsNameservers: readNameservers(body.dns_nameservers, cidr) ?? [],
    hostRoutes: readRoutes(body.host_routes, cidr) ?? [],
    subnetpoolId,
  };
  await ctx.records.createSubnet(subnet);
  if (subnet.enableDhcp && needsDhcpAddress(subnet)) await ensureDhcpAddress(ctx, network, subnet);
  ctx.changed([networkId]);
  return subnet;
}

export async function updateSubnet(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Subnet> {
  const subnet = await visibleSubnet(ctx, caller, id);
  const network = await visibleNetwork(ctx, caller, subnet.networkId);
  authorize(ctx, caller, 'update_subnet', { project_id: subnet.projectId, 'network:project_id': network.projectId });
  const cidr = parseCidr(subnet.cidr);
  const gatewayIp = body.gateway_ip === undefined ? subnet.gatewayIp : (readGateway(body, cidr, false) ?? null);
  const pools = body.allocation_pools === undefined ? subnet.allocationPools : readPools(body.allocation_pools);
  validatePools(cidr, pools, gatewayIp);
  const updated: Subnet = {
    ...subnet,
    name: str(body, 'name') ?? subnet.name,
    description: str(body, 'description') ?? subnet.description,
    gatewayIp,
    allocationPools: pools,
    enableDhcp: bool(body, 'enable_dhcp') ?? subnet.enableDhcp,
    dnsNameservers: readNameservers(body.dns_nameservers, cidr) ?? subnet.dnsNameservers,
    hostRoutes: readRoutes(body.host_routes, cidr) ?? subnet.hostRoutes,
    updatedAt: now(),
    revisionNumber: subnet.revisionNumber + 1,
  };
  await ctx.records.updateSubnet(updated);
  if (updated.enableDhcp && !subnet.enableDhcp && needsDhcpAddress(updated)) await ensureDhcpAddress(ctx, network, updated);
  if (!updated.enableDhcp && subnet.enableDhcp) await releaseDhcpAddress(ctx, updated);
  ctx.changed([subnet.networkId]);
  return updated;
}

export async function deleteSubnet(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const subnet = await visibleSubnet(ctx, caller, id);
  const network = await visibleNetwork(ctx, caller, subnet.networkId);
  authorize(ctx, caller, 'delete_subnet', { project_id: subnet.projectId, 'network:project_id': network.projectId });
  if ((await ctx.records.countPortsOnSubnet(id, ['network:dhcp'])) > 0) {
    throw new NeutronError(409, 'SubnetInUse', `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`);
  }
  await releaseDhcpAddress(ctx, subnet);
  await ctx.records.deleteSubnet(id);
  ctx.changed([subnet.networkId]);
}

/** DHCP serves IPv4 subnets and stateful DHCPv6 ones; SLAAC needs no server address. */
function needsDhcpAddress(subnet: Subnet): boolean {
  return subnet.ipVersion === 4 || subnet.ipv6AddressMode === 'dhcpv6-stateful' || subnet.ipv6AddressMode === 'dhcpv6-stateless';
}

function readGateway(body: Json, cidr: ParsedCidr, defaulting: boolean): string | null | undefined {
  const value = body.gateway_ip;
  if (value === undefined) return defaulting ? defaultGateway(cidr) : undefined;
  if (value === null) return null;
  if (typeof value !== 'string' || !isAddress(value)) throw invalidInput(`'${String(value).slice(0, 64)}' is not a valid IP address.`);
  if (versionOf(value) !== cidr.version) throw invalidInput(`Gateway ${value} is not an IPv${cidr.version} address.`);
  if (cidr.version === 4 && cidr.prefix < 31 && contains(cidr, value)) {
    const gateway = toBig(value);
    if (gateway === cidr.first || gateway === cidr.last) {
      throw invalidInput(`Gateway is not valid on subnet: ${value} is the network or broadcast address.`);
    }
  }
  return canonicalAddress(value);
}

/** The schema let through `[{start, end}]` of strings; validatePools checks the addresses. */
function readPools(value: unknown): AllocationPool[] {
  return (value as AllocationPool[]).map((p) => ({ start: p.start, end: p.end }));
}

function readNameservers(value: unknown, cidr: ParsedCidr): string[] | undefined {
  if (value === undefined) return undefined;
  if (value === null) return [];
  const list = value as string[];
  if (list.some((v) => !isAddress(v))) throw invalidInput('dns_nameservers must be a list of IP addresses.');
  if (new Set(list).size !== list.length) throw invalidInput('Duplicate nameserver in dns_nameservers.');
  if (list.length > 5) throw new NeutronError(400, 'DNSNameServersExhausted', `Unable to complete operation for ${cidr.text}. The number of DNS nameservers exceeds the limit 5.`);
  return list;
}

function readRoutes(value: unknown, cidr: ParsedCidr): HostRoute[] | undefined {
  if (value === undefined) return undefined;
  if (value === null) return [];
  const routes = (value as HostRoute[]).map((r) => {
    if (!isAddress(r.nexthop)) throw invalidInput(`'${r.nexthop.slice(0, 64)}' is not a valid IP address.`);
    const destination = parseCidr(r.destination);
    if (destination.version !== cidr.version || versionOf(r.nexthop) !== cidr.version) {
      throw invalidInput(`host route ${r.destination} via ${r.nexthop} is not IPv${cidr.version}.`);
    }
    return { destination: destination.text, nexthop: r.nexthop };
  });
  if (routes.length > 20) throw new NeutronError(400, 'HostRoutesExhausted', `Unable to complete operation for ${cidr.text}. The number of host routes exceeds the limit 20.`);
  return routes;
}

function readIpv6Modes(body: Json, version: 4 | 6): { raMode?: string; addressMode?: string } {
  const raMode = str(body, 'ipv6_ra_mode');
  const addressMode = str(body, 'ipv6_address_mode');
  if (version === 4 && (raMode || addressMode)) throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4');
  if (raMode && addressMode && raMode !== addressMode) {
    throw invalidInput(`ipv6_ra_mode set to '${raMode}' with ipv6_address_mode set to '${addressMode}' is not valid. If both attributes are set, they must be the same value`);
  }
  return { ...(raMode ? { raMode } : {}), ...(addressMode ? { addressMode } : {}) };
}
