import { randomBytes } from 'node:crypto';
import type { Json } from '../../core/http/body.js';
import { authorize, authorizeAttributes, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, invalidInput, newUuid, now, str, uuidOf, newResource } from './common.js';
import { canonicalAddress, contains, eui64, isAddress, parseCidr, pickAddress, randomCandidates } from './ipam.js';
import { DEVICE_OWNER_DHCP, DEVICE_OWNER_FLOATINGIP, DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_ROUTER_INTERFACE, type AddressPair, type FixedIp, type Network, type Port, type Subnet } from './model.js';
import { bindPort, VIF_TYPE_BINDING_FAILED } from './ml2/binding.js';
import { requireNetworkOwnership, visibleNetwork } from './networks.js';
import { mergeExtraDhcpOpts, readExtraDhcpOpts } from './extra-dhcp-opts.js';
import { checkQuota } from './quotas.js';
import { defaultSecurityGroup, requireSecurityGroups } from './security-groups.js';


/** A port the caller may see: their own, or any on a network they own (admins see all). */
export async function visiblePort(ctx: NetworkContext, caller: Caller, id: string): Promise<Port> {
  const port = await ctx.records.getPort(id);
  if (!port) throw notFound('Port', id);
  if (!caller.isAdmin && port.projectId !== caller.projectId) {
    const network = await ctx.records.getNetwork(port.networkId);
    if (!network || network.projectId !== caller.projectId) throw notFound('Port', id);
  }
  return port;
}

export function newMac(): string {
  const tail = randomBytes(3);
  return `fa:16:3e:${[...tail].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

/** `{subnet_id?, ip_address?}` requests, as the body gave them. */
export interface IpRequest {
  subnetId?: string;
  ipAddress?: string;
}

export async function createPort(ctx: NetworkContext, caller: Caller, body: Json): Promise<Port> {
  const networkId = uuidOf(body.network_id);
  const network = await visibleNetwork(ctx, caller, networkId);
  const projectId = str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId;
  requireNetworkOwnership(caller, network, projectId);
  const target = portTarget(projectId, network);
  authorize(ctx, caller, 'create_port', target);
  authorizeAttributes(ctx, caller, 'create_port', judgedAttributes(body, projectId === caller.projectId ? undefined : projectId), target);
  const deviceOwner = str(body, 'device_owner') ?? '';
  const deviceId = str(body, 'device_id') ?? '';
  await refuseForeignRouter(ctx, caller, deviceOwner, deviceId, projectId);
  await checkQuota(ctx, projectId, 'port');

  const portSecurity = bool(body, 'port_security_enabled') ?? network.portSecurityEnabled;
  const securityGroups = await readSecurityGroups(ctx, caller, body.security_groups, projectId, portSecurity, deviceOwner);
  const pairs = readAddressPairs(body.allowed_address_pairs);
  if (pairs.length > 0 && !portSecurity) {
    throw new NeutronError(409, 'AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
  const macAddress = (str(body, 'mac_address') ?? newMac()).toLowerCase();
  const vnicType = str(body, 'binding:vnic_type') ?? 'normal';
  const profile = body['binding:profile'];
  const hostId = str(body, 'binding:host_id') ?? '';
  const resource = newResource(body, projectId);
  const port: Port = {
    ...resource,
    networkId,
    macAddress,
    adminStateUp: bool(body, 'admin_state_up') ?? true,
    deviceOwner,
    deviceId,
    ...(await bindPort(ctx, network, hostId, resource.id, vnicType)),
    bindingVnicType: vnicType,
    bindingProfile: (profile as Record<string, unknown> | undefined) ?? {},
    portSecurityEnabled: portSecurity,
    allowedAddressPairs: pairs,
    fixedIps: [],
    securityGroups,
    extraDhcpOpts: readExtraDhcpOpts(body.extra_dhcp_opts),
  };
  const subnets = await ctx.records.listSubnets({ networkIds: [networkId] });
  const requests = readFixedIps(body.fixed_ips, subnets);
  refuseTooManyAddresses(ctx, requests, deviceOwner);
  const created = await insertWithAddresses(ctx, port, network, subnets, requests, body.mac_address !== undefined);
  ctx.changed([networkId]);
  return created;
}

/** What the port rules see: the port's project, and its network's owner and sharing. */
function portTarget(projectId: string, network: Network): Record<string, unknown> {
  return { project_id: projectId, 'network:project_id': network.projectId, 'network:shared': network.shared };
}

/**
 * The attributes the field rules judge: `device_owner` only when it names a `network:` owner
 * (Neutron's `not rule:network_device`), and the project only when it is another than the
 * caller's (`otherProject`), however the body spelled it.
 */
function judgedAttributes(body: Json, otherProject: string | undefined): Record<string, unknown> {
  const judged: Record<string, unknown> = { ...body };
  const owner = body.device_owner;
  if (typeof owner !== 'string' || !owner.startsWith('network:')) delete judged.device_owner;
  delete judged.tenant_id;
  delete judged.project_id;
  if (otherProject !== undefined) judged.project_id = otherProject;
  return judged;
}

/**
 * Neutron's _enforce_device_owner_not_router_intf_or_device_id: a non-admin's network-owned
 * port may not name another project's router, which would give that router a leg on the
 * caller's network (and keep its owner from deleting it). Kumo applies it to every
 * `network:` owner, not only router interfaces: its routers also claim gateway ports by id.
 */
async function refuseForeignRouter(ctx: NetworkContext, caller: Caller, deviceOwner: string, deviceId: string, projectId: string): Promise<void> {
  if (caller.isAdmin || !deviceOwner.startsWith('network:') || deviceId === '') return;
  const router = await ctx.l3.getRouter(deviceId);
  if (router && router.projectId !== projectId) {
    throw new NeutronError(409, 'DeviceIDNotOwnedByTenant', `The following device_id ${deviceId} is not owned by your tenant or matches another tenants router.`);
  }
}

/** Neutron's max_fixed_ips_per_port; ports the network itself owns (router, DHCP) have no cap. */
function refuseTooManyAddresses(ctx: NetworkContext, requests: IpRequest[], deviceOwner: string): void {
  if (deviceOwner.startsWith('network:')) return;
  if (requests.length > ctx.settings.maxFixedIpsPerPort) throw invalidInput('Exceeded maximum amount of fixed ips per port.');
}

/**
 * Allocates the requested addresses and inserts the port. The (subnet, address) key is
 * unique, so a concurrent request that took an address fails this insert; then pick again.
 */
export async function insertWithAddresses(
  ctx: NetworkContext,
  port: Port,
  network: Network,
  subnets: Subnet[],
  requests: IpRequest[],
  requestedMac = false,
): Promise<Port> {
  let mac = port.macAddress;
  for (let attempt = 0; attempt < 40; attempt++) {
    const fixedIps: FixedIp[] = [];
    for (const request of requests) fixedIps.push(await allocate(ctx, network, subnets, request, mac, fixedIps));
    const candidate = { ...port, macAddress: mac, fixedIps };
    try {
      await ctx.records.createPort(candidate);
      return candidate;
    } catch (error) {
      if (!ctx.records.database.isUniqueViolation(error)) throw error;
      // A fixed address someone else now holds, or (rarely) a MAC collision: re-check and retry.
      for (const request of requests) {
        if (request.ipAddress && request.subnetId) {
          const used = await ctx.records.allocatedAddresses(request.subnetId);
          if (used.has(request.ipAddress)) throw ipInUse(request.ipAddress, request.subnetId);
        }
      }
      if (await ctx.records.macInUse(mac)) {
        // A MAC the caller chose is theirs to change; one we drew at random, we draw again.
        if (requestedMac) throw macAddressInUse(port.networkId, mac);
        mac = newMac();
      }
    }
  }
  throw new NeutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available on network ${network.id}.`);
}

/** MACs are unique across all networks here (Neutron: per network), so the answer names the MAC, not the network's ports. */
const macAddressInUse = (networkId: string, mac: string) =>
  new NeutronError(409, 'MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);

const ipInUse = (ip: string, subnetId: string) =>
  new NeutronError(409, 'IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnetId}`);

export async function allocate(ctx: NetworkContext, network: Network, subnets: Subnet[], request: IpRequest, mac: string, taken: FixedIp[]): Promise<FixedIp> {
  const subnet = request.subnetId
    ? subnets.find((s) => s.id === request.subnetId)
    : subnets.find((s) => request.ipAddress !== undefined && contains(parseCidr(s.cidr), request.ipAddress));
  if (!subnet) {
    throw invalidInput(request.ipAddress ? `IP address ${request.ipAddress} is not a valid IP for any subnet on network ${network.id}.` : `subnet ${request.subnetId} is not on network ${network.id}.`);
  }
  const takenHere = taken.filter((t) => t.subnetId === subnet.id).map((t) => t.ipAddress);
  if (request.ipAddress) {
    if (!contains(parseCidr(subnet.cidr), request.ipAddress)) throw invalidInput(`IP address ${request.ipAddress} is not a valid IP for the specified subnet.`);
    const inUse = await ctx.records.allocatedAmong(subnet.id, [request.ipAddress]);
    if (inUse.size > 0 || takenHere.includes(request.ipAddress)) throw ipInUse(request.ipAddress, subnet.id);
    return { subnetId: subnet.id, ipAddress: request.ipAddress };
  }
  if (subnet.ipVersion === 6 && (subnet.ipv6AddressMode === 'slaac' || subnet.ipv6AddressMode === 'dhcpv6-stateless')) {
    return { subnetId: subnet.id, ipAddress: eui64(parseCidr(subnet.cidr), mac) };
  }
  // Random candidates first: one small query while the pool has room.
  const candidates = randomCandidates(subnet, 32).filter((c) => !takenHere.includes(c));
  const usedAmong = await ctx.records.allocatedAmong(subnet.id, candidates);
  const free = candidates.filter((c) => !usedAmong.has(c));
  if (free.length > 0) return { subnetId: subnet.id, ipAddress: free[Math.floor(Math.random() * free.length)] as string };
  // Nearly full: scan every allocation, which also tells exhaustion for certain.
  const used = await ctx.records.allocatedAddresses(subnet.id);
  for (const t of takenHere) used.add(t);
  const address = pickAddress(subnet, used);
  if (!address) throw new NeutronError(409, 'IpAddressGenerationFailure', `No more IP addresses available on network ${network.id}.`);
  return { subnetId: subnet.id, ipAddress: address };
}

/** Neutron's default: one address from the first IPv4 subnet and one from the first IPv6 subnet. */
function readFixedIps(value: unknown, subnets: Subnet[]): IpRequest[] {
  if (value === undefined || value === null) {
    const v4 = subnets.filter((s) => s.ipVersion === 4).sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
    const v6 = subnets.filter((s) => s.ipVersion === 6).sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
    return [v4, v6].filter((s): s is Subnet => s !== undefined).map((s) => ({ subnetId: s.id }));
  }
  // The schema let through `[{subnet_id?, ip_address?}]`, one of them at least.
  return (value as Array<{ subnet_id?: string; ip_address?: string }>).map(({ subnet_id: subnetId, ip_address: ipAddress }) => {
    if (ipAddress !== undefined && !isAddress(ipAddress)) throw invalidInput(`'${ipAddress.slice(0, 64)}' is not a valid IP address.`);
    return { ...(subnetId !== undefined ? { subnetId: uuidOf(subnetId) } : {}), ...(ipAddress !== undefined ? { ipAddress: canonicalAddress(ipAddress) } : {}) };
  });
}

function readAddressPairs(value: unknown): AddressPair[] {
  if (value === undefined || value === null) return [];
  // The schema let through `[{ip_address, mac_address?}]`; the address may be a CIDR.
  const pairs = (value as Array<{ ip_address: string; mac_address?: string }>).map(({ ip_address: ip, mac_address: mac }) => {
    if (!isAddress(ip)) parseCidr(ip);
    return { ipAddress: ip, macAddress: mac?.toLowerCase() ?? '' };
  });
  if (pairs.length > 10) throw new NeutronError(400, 'AllowedAddressPairExhausted', 'The number of allowed address pair exceeds the maximum 10.');
  return pairs;
}

async function readSecurityGroups(
  ctx: NetworkContext,
  caller: Caller,
  value: unknown,
  projectId: string,
  portSecurity: boolean,
  deviceOwner: string,
): Promise<string[]> {
  if (value === undefined || value === null) {
    // Network-owned ports (router, DHCP) and ports without port security get no groups.
    if (!portSecurity || deviceOwner.startsWith('network:')) return [];
    return [await defaultSecurityGroup(ctx, projectId)];
  }
  const ids = [...new Set((value as string[]).map(uuidOf))];
  if (ids.length > 0 && !portSecurity) {
    throw new NeutronError(400, 'PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
  }
  await requireSecurityGroups(ctx, caller, ids);
  return ids;
}

export async function updatePort(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Port> {
  const port = await visiblePort(ctx, caller, id);
  const network = await ctx.records.getNetwork(port.networkId);
  if (!network) throw notFound('Network', port.networkId);
  const target = portTarget(port.projectId, network);
  authorize(ctx, caller, 'update_port', target);
  authorizeAttributes(ctx, caller, 'update_port', judgedAttributes(body, undefined), target);
  for (const key of ['network_id', 'tenant_id', 'project_id']) {
    if (body[key] !== undefined && body[key] !== (key === 'network_id' ? port.networkId : port.projectId)) {
      throw invalidInput(`Cannot update read-only attribute ${key}`);
    }
  }
  const portSecurity = bool(body, 'port_security_enabled') ?? port.portSecurityEnabled;
  let securityGroups = port.securityGroups;
  if (body.security_groups !== undefined) {
    securityGroups = await readSecurityGroups(ctx, caller, body.security_groups ?? [], port.projectId, portSecurity, port.deviceOwner);
  } else if (!portSecurity && port.securityGroups.length > 0) {
    throw new NeutronError(409, 'PortSecurityPortHasSecurityGroup', 'Port has security group associated. Cannot disable port security or ip address until security group is removed');
  }
  const pairs = body.allowed_address_pairs !== undefined ? readAddressPairs(body.allowed_address_pairs) : port.allowedAddressPairs;
  if (pairs.length > 0 && !portSecurity) {
    throw new NeutronError(409, 'AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
  }
  const deviceOwner = str(body, 'device_owner') ?? port.deviceOwner;
  const deviceId = str(body, 'device_id') ?? port.deviceId;
  if (deviceOwner !== port.deviceOwner || deviceId !== port.deviceId) await refuseForeignRouter(ctx, caller, deviceOwner, deviceId, port.projectId);
  const hostId = body['binding:host_id'] !== undefined ? (str(body, 'binding:host_id') ?? '') : port.bindingHostId;
  const vnicType = str(body, 'binding:vnic_type') ?? port.bindingVnicType;
  // A new host binds again, and so do a new vNIC type and naming the host of a failed binding again (Nova's retry).
  const rebind = hostId !== port.bindingHostId || vnicType !== port.bindingVnicType || (body['binding:host_id'] !== undefined && port.bindingVifType === VIF_TYPE_BINDING_FAILED);
  const mac = str(body, 'mac_address')?.toLowerCase() ?? port.macAddress;
  if (mac !== port.macAddress) {
    if (port.bindingHostId) {
      throw new NeutronError(409, 'PortBound', `Unable to complete operation on port ${id}, port is already bound, port type: ${port.bindingVifType}, old_mac ${port.macAddress}, new_mac ${mac}.`);
    }
    if (await ctx.records.macInUse(mac)) throw macAddressInUse(port.networkId, mac);
  }
  let updated: Port = {
    ...port,
    macAddress: mac,
    name: str(body, 'name') ?? port.name,
    description: str(body, 'description') ?? port.description,
    adminStateUp: bool(body, 'admin_state_up') ?? port.adminStateUp,
    deviceOwner,
    deviceId,
    ...(rebind ? await bindPort(ctx, network, hostId, port.id, vnicType) : {}),
    bindingVnicType: vnicType,
    portSecurityEnabled: portSecurity,
    securityGroups,
    allowedAddressPairs: pairs,
    extraDhcpOpts: mergeExtraDhcpOpts(port.extraDhcpOpts, body.extra_dhcp_opts),
    updatedAt: now(),
    revisionNumber: port.revisionNumber + 1,
  };
  const fixedIpsChanged = body.fixed_ips !== undefined;
  if (fixedIpsChanged) {
    const subnets = await ctx.records.listSubnets({ networkIds: [port.networkId] });
    const requests = readFixedIps(body.fixed_ips ?? [], subnets);
    refuseTooManyAddresses(ctx, requests, deviceOwner);
    const kept: FixedIp[] = [];
    for (const request of requests) {
      const existing = port.fixedIps.find((f) => f.ipAddress === request.ipAddress && (!request.subnetId || f.subnetId === request.subnetId));
      if (existing) kept.push(existing);
      else kept.push(await allocate(ctx, network, subnets, request, port.macAddress, kept));
    }
    updated = { ...updated, fixedIps: kept };
    // Neutron's prevent_internal_ip_change_for_fip: the associated address must stay on the port.
    for (const fip of await ctx.l3.listFloatingIps({ portId: port.id })) {
      if (fip.fixedIpAddress && !kept.some((f) => f.ipAddress === fip.fixedIpAddress)) {
        throw new NeutronError(400, 'BadRequest', `Bad port request: Cannot update the fixed_ips of the port ${port.id}, because its original fixed_ip has been associated to a floating ip.`);
      }
    }
  }
  try {
    await ctx.records.updatePort(updated, { fixedIps: fixedIpsChanged, securityGroups: body.security_groups !== undefined });
  } catch (error) {
    if (ctx.records.database.isUniqueViolation(error)) throw new NeutronError(409, 'IpAddressAlreadyAllocated', 'A requested IP address is already allocated.');
    throw error;
  }
  ctx.changed([port.networkId]);
  return updated;
}

export async function deletePort(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const port = await visiblePort(ctx, caller, id);
  const network = await ctx.records.getNetwork(port.networkId);
  authorize(ctx, caller, 'delete_port', network ? portTarget(port.projectId, network) : { project_id: port.projectId, 'network:project_id': '' });
  // Routers and floating IPs own these; their own APIs remove them with the checks that go with it.
  if ([DEVICE_OWNER_ROUTER_INTERFACE, DEVICE_OWNER_ROUTER_GATEWAY, DEVICE_OWNER_FLOATINGIP].includes(port.deviceOwner) && (await ownerExists(ctx, port))) {
    throw new NeutronError(409, 'ServicePortInUse', `Port ${id} cannot be deleted directly via the port API: has device owner ${port.deviceOwner}.`);
  }
  await ctx.records.deletePort(id);
  // As Neutron's disassociate_floatingips: the floating IPs stay with the project, unassociated.
  const released = await ctx.l3.disassociatePort(id, now());
  if (released.length > 0) ctx.changed(released.map((f) => f.floatingNetworkId));
  ctx.changed([port.networkId]);
}

/** As Neutron's prevent_l3_port_deletion: a port whose router or floating IP is gone (an interrupted request) may go. */
async function ownerExists(ctx: NetworkContext, port: Port): Promise<boolean> {
  if (port.deviceOwner === DEVICE_OWNER_FLOATINGIP) return (await ctx.l3.getFloatingIp(port.deviceId)) !== undefined;
  return (await ctx.l3.getRouter(port.deviceId)) !== undefined;
}

/** Gives the network's DHCP port an address on `subnet`, creating the port if the network has none. */
export async function ensureDhcpAddress(ctx: NetworkContext, network: Network, subnet: Subnet): Promise<void> {
  const existing = (await ctx.records.listPorts({ networkIds: [network.id], deviceOwner: DEVICE_OWNER_DHCP }))[0];
  const subnets = await ctx.records.listSubnets({ networkIds: [network.id] });
  if (existing) {
    if (existing.fixedIps.some((f) => f.subnetId === subnet.id)) return;
    const address = await allocate(ctx, network, subnets, { subnetId: subnet.id }, existing.macAddress, existing.fixedIps);
    await ctx.records.updatePort({ ...existing, fixedIps: [...existing.fixedIps, address], updatedAt: now() }, { fixedIps: true, securityGroups: false });
    return;
  }
  await createServicePort(ctx, network, { projectId: network.projectId, deviceOwner: DEVICE_OWNER_DHCP, deviceId: `dhcp-${network.id}`, status: 'ACTIVE' }, [
    { subnetId: subnet.id },
  ]);
}

/** Takes the DHCP port's address on `subnet` back; the port goes with its last address. */
export async function releaseDhcpAddress(ctx: NetworkContext, subnet: Subnet): Promise<void> {
  const port = (await ctx.records.listPorts({ networkIds: [subnet.networkId], deviceOwner: DEVICE_OWNER_DHCP }))[0];
  if (!port) return;
  const remaining = port.fixedIps.filter((f) => f.subnetId !== subnet.id);
  if (remaining.length === 0) await ctx.records.deletePort(port.id);
  else await ctx.records.updatePort({ ...port, fixedIps: remaining, updatedAt: now() }, { fixedIps: true, securityGroups: false });
}


/**
 * A port the router or floating IP service owns (gateway, interface, floating IP). Its
 * addresses come from `requests`, or when there are none from the first IPv4 subnet with
 * room (plus the first IPv6 one unless `ipv4Only`), as Neutron's IPAM does for such ports.
 */
export async function createServicePort(
  ctx: NetworkContext,
  network: Network,
  owner: { projectId: string; deviceOwner: string; deviceId: string; status: string },
  requests: IpRequest[] | undefined,
  ipv4Only = false,
): Promise<Port> {
  const stamp = now();
  const port: Port = {
    id: newUuid(),
    projectId: owner.projectId,
    name: '',
    description: '',
    createdAt: stamp,
    updatedAt: stamp,
    revisionNumber: 1,
    tags: [],
    networkId: network.id,
    macAddress: newMac(),
    adminStateUp: true,
    status: owner.status,
    deviceOwner: owner.deviceOwner,
    deviceId: owner.deviceId,
    bindingHostId: '',
    bindingVifType: 'unbound',
    bindingVifDetails: {},
    bindingVnicType: 'normal',
    bindingProfile: {},
    // Network-owned ports get no security groups and no port security, as the DHCP port.
    portSecurityEnabled: false,
    allowedAddressPairs: [],
    fixedIps: [],
    securityGroups: [],
    extraDhcpOpts: [],
  };
  const subnets = (await ctx.records.listSubnets({ networkIds: [network.id] })).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (requests !== undefined && requests.length > 0) return insertWithAddresses(ctx, port, network, subnets, requests);
  const v4 = subnets.filter((s) => s.ipVersion === 4);
  const v6 = ipv4Only ? [] : subnets.filter((s) => s.ipVersion === 6).slice(0, 1);
  const extra = v6.map((s) => ({ subnetId: s.id }));
  if (v4.length === 0) return insertWithAddresses(ctx, port, network, subnets, extra);
  let lastError: unknown;
  for (const subnet of v4) {
    try {
      return await insertWithAddresses(ctx, port, network, subnets, [{ subnetId: subnet.id }, ...extra]);
    } catch (error) {
      // This subnet is full: the next one may have room.
      if (!(error instanceof NeutronError) || error.kind !== 'IpAddressGenerationFailure') throw error;
      lastError = error;
    }
  }
  throw lastError;
}
