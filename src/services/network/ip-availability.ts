import type { Json } from '../../core/http/body.js';
import { authorize, notFound, type Caller, type NetworkContext } from './context.js';
import { parseCidr, toBig } from './ipam.js';
import type { Network, Subnet } from './model.js';

/**
 * Neutron's network-ip-availability (admin only): per network and subnet, how many addresses
 * the allocation pools hold (`total_ips`) and how many ports took (`used_ips`).
 */
function poolSize(subnet: Subnet): bigint {
  return subnet.allocationPools.reduce((sum, p) => sum + toBig(p.end) - toBig(p.start) + 1n, 0n);
}

/** IPv6 pools are far beyond a JSON number; Neutron's figures there are as big, clients take them as they come. */
const asNumber = (n: bigint) => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : Number.MAX_SAFE_INTEGER);

async function availability(ctx: NetworkContext, networks: Network[]): Promise<Json[]> {
  const subnets = await ctx.records.listSubnets({ networkIds: networks.map((n) => n.id) });
  const ports = await ctx.records.listPorts({ networkIds: networks.map((n) => n.id) });
  const used = new Map<string, number>();
  for (const port of ports) for (const ip of port.fixedIps) used.set(ip.subnetId, (used.get(ip.subnetId) ?? 0) + 1);
  return networks.map((network) => {
    const mine = subnets.filter((s) => s.networkId === network.id);
    const rows = mine.map((s) => ({
      subnet_id: s.id,
      subnet_name: s.name,
      cidr: parseCidr(s.cidr).text,
      ip_version: s.ipVersion,
      total_ips: asNumber(poolSize(s)),
      used_ips: used.get(s.id) ?? 0,
    }));
    return {
      network_id: network.id,
      network_name: network.name,
      project_id: network.projectId,
      tenant_id: network.projectId,
      total_ips: asNumber(mine.reduce((sum, s) => sum + poolSize(s), 0n)),
      used_ips: rows.reduce((sum, r) => sum + r.used_ips, 0),
      subnet_ip_availability: rows,
    };
  });
}

export async function listIpAvailability(ctx: NetworkContext, caller: Caller): Promise<Json[]> {
  authorize(ctx, caller, 'get_network_ip_availability', { project_id: caller.projectId });
  return availability(ctx, await ctx.records.listNetworks());
}

export async function showIpAvailability(ctx: NetworkContext, caller: Caller, id: string): Promise<Json> {
  authorize(ctx, caller, 'get_network_ip_availability', { project_id: caller.projectId });
  const network = await ctx.records.getNetwork(id);
  if (!network) throw notFound('Network', id);
  return (await availability(ctx, [network]))[0] as Json;
}
