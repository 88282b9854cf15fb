import type { Json } from '../../core/http/body.js';
import { authorize, authorizeAttributes, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, int, invalidInput, now, str, newResource } from './common.js';
import type { Segment, SegmentRequest } from './ml2/driver.js';
import { DEVICE_OWNER_ROUTER_GATEWAY, type Network } from './model.js';
import { checkQuota } from './quotas.js';
import { WILDCARD } from './rbac-store.js';
import { syncFlagEntries } from './rbac-policies.js';


/** A network as the caller sees it, and whether it may see it at all. */
interface Granted {
  network: Network;
  visible: boolean;
}

/**
 * The networks as a caller sees them, from the RBAC entries that name its project or `*`:
 * `shared` is true when the network is shared with everyone or with the caller's project
 * (Neutron computes it per request), and a network is visible to its owner, to admins, and
 * to the projects an entry (access_as_shared or access_as_external) targets.
 * `router:external` is the network's own: true while any access_as_external entry exists.
 */
export async function grantedNetworks(ctx: NetworkContext, caller: Caller, networks: Network[]): Promise<Granted[]> {
  const entries = await ctx.rbac.list({ objectType: 'network', objectIds: networks.map((n) => n.id), targets: [WILDCARD, caller.projectId] });
  return networks.map((network) => {
    const mine = entries.filter((e) => e.object_id === network.id);
    const shared = network.shared || mine.some((e) => e.action === 'access_as_shared');
    return { network: { ...network, shared }, visible: caller.isAdmin || network.projectId === caller.projectId || mine.length > 0 || network.shared };
  });
}

/** The networks a caller may see: their own, and those shared or made external for it (admins see all). */
export async function visibleNetwork(ctx: NetworkContext, caller: Caller, id: string): Promise<Network> {
  const network = await ctx.records.getNetwork(id);
  const granted = network && (await grantedNetworks(ctx, caller, [network]))[0];
  if (!granted?.visible) throw notFound('Network', id);
  return granted.network;
}

/** Every network the caller may see, as it sees them. */
export async function visibleNetworks(ctx: NetworkContext, caller: Caller): Promise<Network[]> {
  const networks = await ctx.records.listNetworks(caller.isAdmin ? {} : { visibleTo: caller.projectId });
  return (await grantedNetworks(ctx, caller, networks)).filter((g) => g.visible).map((g) => g.network);
}

/**
 * Neutron's check before any rule (base.py `_validate_network_project_ownership`): a port or
 * subnet goes on a network shared with everyone, or on its own project's; on any other network
 * the caller may see (an external one) it is not found, as a network it may not see would be.
 */
export function requireNetworkOwnership(caller: Caller, network: Network, projectId: string): void {
  if (caller.isAdmin || network.shared || network.projectId === projectId) return;
  throw new NeutronError(404, 'NotFound', 'The resource could not be found.');
}

/**
 * Neutron's InvalidSharedSetting: a network stops being shared with everyone only when no
 * other project, left without an entry of its own, still has ports on it.
 */
async function refuseUnshareInUse(ctx: NetworkContext, network: Network): Promise<void> {
  const targeted = new Set((await ctx.rbac.list({ objectType: 'network', objectIds: [network.id] })).filter((e) => e.action === 'access_as_shared').map((e) => e.target_project));
  const ports = await ctx.records.listPorts({ networkIds: [network.id] });
  if (ports.some((p) => p.projectId !== network.projectId && !p.deviceOwner.startsWith('network:') && !targeted.has(p.projectId))) {
    throw new NeutronError(409, 'InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${network.id}. Multiple tenants are using it.`);
  }
}

export async function createNetwork(ctx: NetworkContext, caller: Caller, body: Json): Promise<Network> {
  const projectId = str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId;
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_network', target);
  const setAttributes = Object.fromEntries(
    Object.entries(body).filter(([k, v]) => v !== undefined && !(k === 'shared' && v === false) && !(k === 'router:external' && v === false)),
  );
  // Naming one's own project is no request for another's: only a different one is checked.
  if (projectId !== caller.projectId) setAttributes.project_id = projectId;
  else delete setAttributes.project_id;
  delete setAttributes.tenant_id;
  authorizeAttributes(ctx, caller, 'create_network', setAttributes, target);
  await checkQuota(ctx, projectId, 'network');

  const requested = providerRequest(body);
  const segmentRequest: SegmentRequest = requested ?? { networkType: ctx.settings.tenantNetworkType };
  const validated = ctx.types.validate(segmentRequest);
  const base: Omit<Network, 'segment' | 'mtu'> = {
    ...newResource(body, projectId),
    adminStateUp: bool(body, 'admin_state_up') ?? true,
    shared: bool(body, 'shared') ?? false,
    external: bool(body, 'router:external') ?? false,
    portSecurityEnabled: bool(body, 'port_security_enabled') ?? true,
    status: 'ACTIVE',
  };
  const requestedMtu = int(body, 'mtu');
  const network = await allocateAndCreate(ctx, base, validated, requested === undefined, requestedMtu);
  await syncFlagEntries(ctx, network, { shared: false, external: false });
  ctx.changed([network.id]);
  return network;
}

function providerRequest(body: Json): SegmentRequest | undefined {
  const type = str(body, 'provider:network_type');
  const physnet = str(body, 'provider:physical_network');
  const segmentationId = int(body, 'provider:segmentation_id');
  if (type === undefined) {
    if (physnet !== undefined || segmentationId !== undefined) {
      throw invalidInput('provider:network_type required when provider attributes are given.');
    }
    return undefined;
  }
  return { networkType: type, physicalNetwork: physnet ?? null, segmentationId: segmentationId ?? null };
}

/**
 * Picks a segment and inserts network and segment together. A unique violation means a
 * concurrent request took that segment first: look again, never hand one id out twice.
 */
async function allocateAndCreate(
  ctx: NetworkContext,
  base: Omit<Network, 'segment' | 'mtu'>,
  request: SegmentRequest,
  tenant: boolean,
  requestedMtu: number | undefined,
): Promise<Network> {
  const driver = ctx.types.driver(request.networkType);
  if (tenant && !driver.allocatable) {
    throw new NeutronError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const used = await ctx.records.usedSegments(request.networkType);
    const candidates = ctx.types.candidates(request, used, 8);
    if (candidates.length === 0) {
      throw new NeutronError(503, 'NoNetworkAvailable', 'Unable to create the network. No tenant network is available for allocation.');
    }
    const segment = candidates[Math.floor(Math.random() * candidates.length)] as Segment;
    const maxMtu = ctx.types.mtu(segment.networkType, ctx.settings.physicalMtu);
    if (requestedMtu !== undefined && (requestedMtu < 68 || requestedMtu > maxMtu)) {
      throw invalidInput(`Requested MTU is too big, maximum is ${maxMtu}.`);
    }
    const network: Network = { ...base, segment, mtu: requestedMtu ?? maxMtu };
    try {
      await ctx.records.createNetwork(network);
      return network;
    } catch (error) {
      // Taken by a concurrent request: look again. An explicitly requested segment is then
      // in `used`, and its driver answers with the conflict (VlanIdInUse, FlatNetworkInUse, ...).
      if (!ctx.records.database.isUniqueViolation(error)) throw error;
    }
  }
  throw new NeutronError(503, 'NoNetworkAvailable', 'Unable to create the network: segment allocation kept colliding, try again.');
}

export async function updateNetwork(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Network> {
  const network = await visibleNetwork(ctx, caller, id);
  const target = { project_id: network.projectId };
  authorize(ctx, caller, 'update_network', target);
  if (caller.projectId !== network.projectId && !caller.isAdmin) throw notFound('Network', id);
  authorizeAttributes(ctx, caller, 'update_network', body, target);
  const mtu = int(body, 'mtu');
  const maxMtu = ctx.types.mtu(network.segment.networkType, ctx.settings.physicalMtu);
  if (mtu !== undefined && (mtu < 68 || mtu > maxMtu)) throw invalidInput(`Requested MTU is too big, maximum is ${maxMtu}.`);
  const updated: Network = {
    ...network,
    name: str(body, 'name') ?? network.name,
    description: str(body, 'description') ?? network.description,
    adminStateUp: bool(body, 'admin_state_up') ?? network.adminStateUp,
    shared: bool(body, 'shared') ?? network.shared,
    external: bool(body, 'router:external') ?? network.external,
    portSecurityEnabled: bool(body, 'port_security_enabled') ?? network.portSecurityEnabled,
    mtu: mtu ?? network.mtu,
    updatedAt: now(),
    revisionNumber: network.revisionNumber + 1,
  };
  // Routers' gateways need the network to stay external (Neutron's ExternalNetworkInUse).
  if (network.external && !updated.external && (await ctx.records.listPorts({ networkIds: [id], deviceOwner: DEVICE_OWNER_ROUTER_GATEWAY })).length > 0) {
    throw new NeutronError(409, 'ExternalNetworkInUse', `External network ${id} cannot be updated to be made non-external, since it has existing gateway ports.`);
  }
  const stored = (await ctx.records.getNetwork(id)) ?? network;
  if (updated.shared === false && stored.shared) await refuseUnshareInUse(ctx, stored);
  await ctx.records.updateNetwork({ ...updated, shared: bool(body, 'shared') ?? stored.shared });
  await syncFlagEntries(ctx, { ...updated, shared: bool(body, 'shared') ?? stored.shared }, stored);
  ctx.changed([network.id]);
  return { ...updated, shared: bool(body, 'shared') ?? network.shared };
}

export async function deleteNetwork(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const network = await visibleNetwork(ctx, caller, id);
  authorize(ctx, caller, 'delete_network', { project_id: network.projectId });
  if (caller.projectId !== network.projectId && !caller.isAdmin) throw notFound('Network', id);
  // Neutron's _before_network_delete_handler: floating IPs nobody uses go with their network.
  for (const fip of await ctx.l3.listFloatingIps({ floatingNetworkId: id })) {
    if (fip.portId !== null || fip.routerId !== null) continue;
    await ctx.l3.deleteFloatingIp(fip.id);
    await ctx.records.deletePort(fip.floatingPortId);
  }
  const ports = await ctx.records.listPorts({ networkIds: [id] });
  // DHCP ports belong to the network itself and go with it; any other port keeps it in use.
  const inUse = ports.filter((p) => p.deviceOwner !== 'network:dhcp');
  if (inUse.length > 0) {
    throw new NeutronError(409, 'NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
  }
  for (const port of ports) await ctx.records.deletePort(port.id);
  for (const subnet of await ctx.records.listSubnets({ networkIds: [id] })) await ctx.records.deleteSubnet(subnet.id);
  await ctx.records.deleteNetwork(id);
  await ctx.rbac.deleteFor('network', id);
  ctx.changed([id]);
}
