import { isObject, type Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, invalidInput, now, onlyAttributes, str, uuidOrThrow, newResource } from './common.js';
import { canonicalAddress, contains, isAddress, parseCidr, toBig, versionOf } from './ipam.js';
import {
  DEVICE_OWNER_ROUTER_GATEWAY,
  DEVICE_OWNER_ROUTER_INTERFACE,
  type FixedIp,
  type HostRoute,
  type Network,
  type Port,
  type Router,
  type Subnet,
} from './model.js';
import { visibleNetwork } from './networks.js';
import { allocate, createServicePort, visiblePort, type IpRequest } from './ports.js';
import { checkQuota } from './quotas.js';
import { visibleSubnet } from './subnets.js';

const CREATE_ATTRIBUTES = ['name', 'admin_state_up', 'external_gateway_info', 'description', 'tenant_id', 'project_id'];
const UPDATE_ATTRIBUTES = ['name', 'admin_state_up', 'external_gateway_info', 'description', 'routes', 'tenant_id', 'project_id'];
const GATEWAY_KEYS = ['network_id', 'enable_snat', 'external_fixed_ips'];
/** Neutron's max_routes default. */
const MAX_ROUTES = 30;
/** How often an update is retried when a concurrent one changed the router in between. */
const ATTEMPTS = 5;

/** Neutron's BadRequest: `Bad router request: ...`. */
export const badRequest = (resource: string, message: string) => new NeutronError(400, 'BadRequest', `Bad ${resource} request: ${message}.`);

export async function visibleRouter(ctx: NetworkContext, caller: Caller, id: string): Promise<Router> {
  const router = await ctx.l3.getRouter(id);
  if (!router || (!caller.isAdmin && router.projectId !== caller.projectId)) throw notFound('Router', id);
  return router;
}

/** The project a create is for; naming another one takes an admin, as Neutron's populate_project_id says. */
export function requestedProject(body: Json, caller: Caller): string {
  const project = str(body, 'project_id', 64);
  const tenant = str(body, 'tenant_id', 64);
  if (project !== undefined && tenant !== undefined && project !== tenant) {
    throw new NeutronError(400, 'HTTPBadRequest', "'project_id' and 'tenant_id' do not match");
  }
  const projectId = project ?? tenant ?? caller.projectId;
  if (projectId !== caller.projectId && !caller.isAdmin) {
    throw new NeutronError(400, 'HTTPBadRequest', "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges");
  }
  return projectId;
}

/** `project_id`/`tenant_id` may be repeated on an update, never changed. */
function refuseReadOnly(body: Json, keys: Array<[string, unknown]>): void {
  for (const [key, current] of keys) {
    if (body[key] !== undefined && body[key] !== current) throw new NeutronError(400, 'HTTPBadRequest', `Cannot update read-only attribute ${key}`);
  }
}

// --- ports the L3 service owns ---

/** The router's ports: its interfaces and its gateway. */
export async function routerPorts(ctx: NetworkContext, routerId: string): Promise<Port[]> {
  const ports = await ctx.records.listPorts({ deviceId: routerId });
  return ports.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE || p.deviceOwner === DEVICE_OWNER_ROUTER_GATEWAY);
}

// --- routers ---

export async function createRouter(ctx: NetworkContext, caller: Caller, body: Json): Promise<Router> {
  if (body.routes !== undefined) throw new NeutronError(400, 'HTTPBadRequest', "Attribute 'routes' not allowed in POST");
  onlyAttributes(body, CREATE_ATTRIBUTES, 'router');
  const projectId = requestedProject(body, caller);
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_router', target);
  const gateway = readGateway(body.external_gateway_info);
  authorizeGateway(ctx, caller, 'create_router', gateway, target);
  await checkQuota(ctx, projectId, 'router');
  const router: Router = {
    ...newResource(body, projectId),
    adminStateUp: bool(body, 'admin_state_up') ?? true,
    status: 'ACTIVE',
    gatewayNetworkId: null,
    gatewayPortId: null,
    enableSnat: true,
    routes: [],
  };
  await ctx.l3.createRouter(router);
  if (!gateway) return router;
  try {
    // The gateway goes through the same path as an update, on the router just written.
    return await applyUpdate(ctx, caller, router.id, {}, gateway);
  } catch (error) {
    // Neutron's safe_creation: a router whose gateway failed is not left behind.
    await ctx.l3.deleteRouter(router.id);
    throw error;
  }
}

export async function updateRouter(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Router> {
  onlyAttributes(body, UPDATE_ATTRIBUTES, 'router');
  const router = await visibleRouter(ctx, caller, id);
  const target = { project_id: router.projectId };
  authorize(ctx, caller, 'update_router', target);
  refuseReadOnly(body, [
    ['project_id', router.projectId],
    ['tenant_id', router.projectId],
  ]);
  const gateway = readGateway(body.external_gateway_info);
  authorizeGateway(ctx, caller, 'update_router', gateway, target);
  return applyUpdate(ctx, caller, id, body, gateway);
}

/**
 * Writes the body's attributes and, when given, the new gateway. The row is written only if
 * nobody changed the router meanwhile; otherwise the port made for this attempt goes and
 * the update starts over on what the other request left.
 */
async function applyUpdate(ctx: NetworkContext, caller: Caller, id: string, body: Json, gateway: GatewayRequest | null | undefined): Promise<Router> {
  // Parsed before the gateway is touched, so a malformed route changes nothing.
  const routes = body.routes === undefined ? undefined : readRoutes(body.routes, id);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const router = await ctx.l3.getRouter(id);
    if (!router) throw notFound('Router', id);
    let next: Router = {
      ...router,
      name: str(body, 'name') ?? router.name,
      description: str(body, 'description') ?? router.description,
      adminStateUp: bool(body, 'admin_state_up') ?? router.adminStateUp,
      updatedAt: now(),
      revisionNumber: router.revisionNumber + 1,
    };
    let plan: GatewayPlan = { createdPort: undefined, obsoletePort: undefined, networks: [] };
    if (gateway !== undefined) {
      plan = await planGateway(ctx, caller, router, gateway);
      next = { ...next, ...plan.fields };
    }
    let written: boolean;
    try {
      if (routes !== undefined) {
        const ports = (await routerPorts(ctx, router.id)).filter((p) => p.id !== plan.obsoletePort?.id);
        if (plan.createdPort) ports.push(plan.createdPort);
        await validateRoutes(ctx, routes, ports, []);
        next = { ...next, routes };
      }
      written = await ctx.l3.updateRouter(next, router.revisionNumber);
    } catch (error) {
      // A refused update leaves no gateway port behind.
      if (plan.createdPort) await ctx.records.deletePort(plan.createdPort.id);
      throw error;
    }
    if (written) {
      if (plan.obsoletePort) await ctx.records.deletePort(plan.obsoletePort.id);
      const networks = [...plan.networks, ...(next.gatewayNetworkId ? [next.gatewayNetworkId] : [])];
      if (networks.length > 0 || body.routes !== undefined || body.admin_state_up !== undefined) {
        ctx.changed(new Set([...networks, ...(await routerPorts(ctx, id)).map((p) => p.networkId)]));
      }
      return next;
    }
    if (plan.createdPort) await ctx.records.deletePort(plan.createdPort.id);
  }
  throw new NeutronError(409, 'Conflict', `Router ${id} was changed by concurrent requests; try again.`);
}

export async function deleteRouter(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'delete_router', { project_id: router.projectId });
  const ports = await routerPorts(ctx, id);
  const interfaces = ports.filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE);
  if (interfaces.length > 0) {
    throw new NeutronError(409, 'RouterInUse', `Router ${id} has ports still attached: ${interfaces.map((p) => p.id).join(', ')}`);
  }
  if (router.gatewayNetworkId) await refuseIfFloatingIps(ctx, router);
  await ctx.l3.deleteRouter(id);
  // The gateway port, and any left by an interrupted request, go with the router (if this
  // stops half-way, the port API lets such orphans be deleted since their router is gone).
  for (const port of ports) await ctx.records.deletePort(port.id);
  ctx.changed(new Set(ports.map((p) => p.networkId)));
}

// --- the external gateway ---

interface GatewayRequest {
  networkId: string;
  enableSnat?: boolean;
  fixedIps?: IpRequest[];
}

/** `external_gateway_info`: undefined when absent, null to clear it (`null` or `{}`). */
function readGateway(value: unknown): GatewayRequest | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (!isObject(value)) throw invalidInput(`'${JSON.stringify(value)?.slice(0, 40)}' is not a dictionary for external_gateway_info.`);
  const keys = Object.keys(value);
  if (keys.length === 0) return null;
  if (keys.some((k) => !GATEWAY_KEYS.includes(k)) || value.network_id === undefined) {
    throw invalidInput(
      `Validation of dictionary's keys failed. Expected keys: {'network_id'} Optional keys: {'enable_snat', 'external_fixed_ips'} Provided keys: {${keys
        .map((k) => `'${k.slice(0, 40)}'`)
        .join(', ')}}`,
    );
  }
  const request: GatewayRequest = { networkId: uuidOrThrow(value.network_id, 'network_id') };
  const snat = bool(value, 'enable_snat');
  if (snat !== undefined) request.enableSnat = snat;
  if (value.external_fixed_ips !== undefined && value.external_fixed_ips !== null) {
    if (!Array.isArray(value.external_fixed_ips)) throw invalidInput('external_fixed_ips must be a list.');
    request.fixedIps = value.external_fixed_ips.map((entry: unknown) => {
      if (!isObject(entry) || Object.keys(entry).some((k) => k !== 'subnet_id' && k !== 'ip_address')) {
        throw invalidInput('external_fixed_ips entries are {subnet_id, ip_address} objects.');
      }
      const ip: IpRequest = {};
      if (entry.subnet_id === undefined && entry.ip_address === undefined) throw invalidInput('external_fixed_ips entries need subnet_id or ip_address.');
      if (entry.subnet_id !== undefined) ip.subnetId = uuidOrThrow(entry.subnet_id, 'subnet_id');
      if (entry.ip_address !== undefined) {
        if (typeof entry.ip_address !== 'string' || !isAddress(entry.ip_address)) {
          throw invalidInput(`'${String(entry.ip_address).slice(0, 64)}' is not a valid IP address.`);
        }
        ip.ipAddress = canonicalAddress(entry.ip_address);
      }
      return ip;
    });
  }
  return request;
}

/** The sub-attribute rules (`create_router:external_gateway_info:enable_snat`, ...) for the keys the request sets. */
function authorizeGateway(ctx: NetworkContext, caller: Caller, action: string, gateway: GatewayRequest | null | undefined, target: Record<string, unknown>): void {
  if (!gateway) return;
  if (gateway.enableSnat !== undefined) authorize(ctx, caller, `${action}:external_gateway_info:enable_snat`, target);
  if (gateway.fixedIps !== undefined) authorize(ctx, caller, `${action}:external_gateway_info:external_fixed_ips`, target);
}

interface GatewayPlan {
  fields?: Pick<Router, 'gatewayNetworkId' | 'gatewayPortId' | 'enableSnat'>;
  /** Made for this attempt: removed again if the router row cannot be written. */
  createdPort: Port | undefined;
  /** The previous gateway port, removed once the new state is written. */
  obsoletePort: Port | undefined;
  networks: string[];
}

/** Neutron's _update_router_gw_info: what the gateway becomes, with its port made ready. */
async function planGateway(ctx: NetworkContext, caller: Caller, router: Router, request: GatewayRequest | null): Promise<GatewayPlan> {
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
async function refuseIfFloatingIps(ctx: NetworkContext, router: Router): Promise<void> {
  if ((await ctx.l3.listFloatingIps({ routerId: router.id })).length > 0) {
    throw new NeutronError(
      409,
      'RouterExternalGatewayInUseByFloatingIp',
      `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${router.gatewayNetworkId} is required by one or more floating IPs.`,
    );
  }
}

/**
 * Neutron's _check_for_dup_router_subnets: one port per subnet on a router, and no two of
 * its subnets overlapping (the gateway counts with every subnet of its network).
 */
async function refuseOverlaps(ctx: NetworkContext, ports: Port[], newSubnets: Subnet[]): Promise<void> {
  const newIds = new Set(newSubnets.map((s) => s.id));
  const attached = new Set<string>();
  for (const port of ports) {
    for (const ip of port.fixedIps) {
      if (newIds.has(ip.subnetId)) throw badRequest('router', `Router already has a port on subnet ${ip.subnetId}`);
      if (port.deviceOwner !== DEVICE_OWNER_ROUTER_GATEWAY) attached.add(ip.subnetId);
    }
    if (port.deviceOwner === DEVICE_OWNER_ROUTER_GATEWAY) {
      for (const s of await ctx.records.listSubnets({ networkIds: [port.networkId] })) attached.add(s.id);
    }
  }
  for (const existing of await ctx.records.listSubnets({ ids: [...attached] })) {
    const a = parseCidr(existing.cidr);
    for (const subnet of newSubnets) {
      const b = parseCidr(subnet.cidr);
      if (a.version === b.version && a.first <= b.last && b.first <= a.last) {
        throw badRequest('router', `Cidr ${subnet.cidr} of subnet ${subnet.id} overlaps with cidr ${existing.cidr} of subnet ${existing.id}`);
      }
    }
  }
}

// --- static routes (extraroute, extraroute-atomic) ---

const formatRoutes = (routes: HostRoute[]) => `[${routes.map((r) => `{'destination': '${r.destination}', 'nexthop': '${r.nexthop}'}`).join(', ')}]`;

function readRoutes(value: unknown, routerId: string): HostRoute[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw invalidInput(`Invalid data format for hostroute: '${JSON.stringify(value)?.slice(0, 64)}'`);
  const routes = value.map((r: unknown) => {
    if (!isObject(r) || typeof r.destination !== 'string' || typeof r.nexthop !== 'string' || Object.keys(r).length !== 2) {
      throw invalidInput(`Invalid data format for hostroute: '${JSON.stringify(r)?.slice(0, 64)}'`);
    }
    if (!isAddress(r.nexthop)) throw invalidInput(`'${r.nexthop.slice(0, 64)}' is not a valid IP address`);
    const destination = parseCidr(r.destination);
    if (destination.version !== versionOf(r.nexthop)) throw invalidInput(`host route ${r.destination} via ${r.nexthop} mixes IP versions.`);
    return { destination: destination.text, nexthop: canonicalAddress(r.nexthop) };
  });
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.destination}|${r.nexthop}`;
    if (seen.has(key)) throw invalidInput(`Duplicate hostroute '${JSON.stringify({ destination: r.destination, nexthop: r.nexthop })}'`);
    seen.add(key);
  }
  if (routes.length > MAX_ROUTES) {
    throw new NeutronError(400, 'RoutesExhausted', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
  }
  return routes;
}

/**
 * Neutron's _validate_routes: each nexthop lies on a subnet of one of the router's ports
 * (plus `extraSubnets`, a gateway network being set) and is not one of the router's own addresses.
 */
async function validateRoutes(ctx: NetworkContext, routes: HostRoute[], ports: Port[], extraSubnets: Subnet[]): Promise<void> {
  if (routes.length === 0) return;
  const subnets = [...(await ctx.records.listSubnets({ ids: [...new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.subnetId)))] })), ...extraSubnets];
  const cidrs = subnets.map((s) => parseCidr(s.cidr));
  const own = new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.ipAddress)));
  for (const route of routes) {
    if (!cidrs.some((c) => contains(c, route.nexthop))) {
      throw new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${formatRoutes(routes)}, the nexthop is not connected with router`);
    }
    if (own.has(route.nexthop)) {
      throw new NeutronError(400, 'InvalidRoutes', `Invalid format for routes: ${formatRoutes(routes)}, the nexthop is used by router`);
    }
  }
}

/** PUT /routers/{id}/add_extraroutes and remove_extraroutes: `{"router": {"routes": [...]}}`. */
export async function changeExtraRoutes(ctx: NetworkContext, caller: Caller, id: string, body: unknown, add: boolean): Promise<Router> {
  const inner = isObject(body) && isObject(body.router) ? body.router : undefined;
  if (!inner || inner.routes === undefined) throw badRequest('router', 'Body must be {"router": {"routes": [...]}}');
  onlyAttributes(inner, ['routes'], 'router');
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, add ? 'add_extraroutes' : 'remove_extraroutes', { project_id: router.projectId });
  const given = readRoutes(inner.routes, id);
  const key = (r: HostRoute) => `${r.destination}|${r.nexthop}`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = await ctx.l3.getRouter(id);
    if (!current) throw notFound('Router', id);
    const drop = new Set(given.map(key));
    const routes = add
      ? [...current.routes, ...given.filter((r) => !current.routes.some((c) => key(c) === key(r)))]
      : current.routes.filter((r) => !drop.has(key(r)));
    if (routes.length > MAX_ROUTES) {
      throw new NeutronError(400, 'RoutesExhausted', `Unable to complete operation for ${id}. The number of routes exceeds the maximum ${MAX_ROUTES}.`);
    }
    if (add) await validateRoutes(ctx, given, await routerPorts(ctx, id), []);
    const next: Router = { ...current, routes, updatedAt: now(), revisionNumber: current.revisionNumber + 1 };
    if (await ctx.l3.updateRouter(next, current.revisionNumber)) {
      ctx.changed(new Set((await routerPorts(ctx, id)).map((p) => p.networkId)));
      return next;
    }
  }
  throw new NeutronError(409, 'Conflict', `Router ${id} was changed by concurrent requests; try again.`);
}

// --- interfaces ---

export interface RouterInterfaceInfo {
  routerId: string;
  projectId: string;
  portId: string;
  networkId: string;
  subnetIds: string[];
}

/** `{subnet_id}` or `{port_id}`, as Neutron's _validate_interface_info reads them. */
function readInterfaceInfo(body: unknown, removal: boolean): { portId?: string; subnetId?: string } {
  const info = isObject(body) ? body : {};
  const hasPort = info.port_id !== undefined;
  const hasSubnet = info.subnet_id !== undefined;
  if (!hasPort && !hasSubnet) throw badRequest('router', 'Either subnet_id or port_id must be specified');
  const uuid = (v: unknown) => {
    if (typeof v !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
      throw badRequest('router', `'${String(v).slice(0, 64)}' is not a valid UUID`);
    }
    return v.toLowerCase();
  };
  const out: { portId?: string; subnetId?: string } = {};
  if (hasPort) out.portId = uuid(info.port_id);
  if (hasSubnet) out.subnetId = uuid(info.subnet_id);
  if (!removal && hasPort && hasSubnet) throw badRequest('router', 'Cannot specify both subnet-id and port-id');
  return out;
}

export async function addRouterInterface(ctx: NetworkContext, caller: Caller, id: string, body: unknown): Promise<RouterInterfaceInfo> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'add_router_interface', { project_id: router.projectId });
  const info = readInterfaceInfo(body, false);
  const ports = await routerPorts(ctx, id);
  let port: Port;
  let subnets: Subnet[];
  if (info.portId) {
    ({ port, subnets } = await attachPort(ctx, caller, router, info.portId, ports));
  } else {
    const subnet = await visibleSubnet(ctx, caller, info.subnetId as string);
    if (!subnet.gatewayIp) throw badRequest('router', 'Subnet for router interface must have a gateway IP');
    if (subnet.projectId !== caller.projectId && !caller.isAdmin) {
      throw badRequest('router', `Cannot add interface to router because subnet ${subnet.id} is not owned by project making the request`);
    }
    refuseExternallyAddressed(subnet);
    await refuseOverlaps(ctx, ports, [subnet]);
    const network = await visibleNetwork(ctx, caller, subnet.networkId);
    // The router takes the subnet's gateway address; a port already holding it is a 409 from IPAM.
    port = await createServicePort(
      ctx,
      network,
      { projectId: router.projectId, deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE, deviceId: router.id, status: 'ACTIVE' },
      [{ subnetId: subnet.id, ipAddress: subnet.gatewayIp }],
    );
    subnets = [subnet];
  }
  // A router deleted while this request ran must not keep an interface.
  if (!(await ctx.l3.getRouter(id))) {
    if (info.portId) await ctx.records.updatePort({ ...port, deviceId: '', deviceOwner: '' }, { fixedIps: false, securityGroups: false });
    else await ctx.records.deletePort(port.id);
    throw notFound('Router', id);
  }
  ctx.changed(new Set([port.networkId, ...(router.gatewayNetworkId ? [router.gatewayNetworkId] : [])]));
  return { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds: subnets.map((s) => s.id) };
}

/** Neutron's _validate_subnet_address_mode: a subnet addressed by an outside router's RAs cannot join. */
function refuseExternallyAddressed(subnet: Subnet): void {
  if (subnet.ipVersion === 6 && subnet.ipv6RaMode === null && subnet.ipv6AddressMode !== null) {
    throw badRequest('router', `IPv6 subnet ${subnet.id} configured to receive RAs from an external router cannot be added to Neutron Router.`);
  }
}

async function attachPort(ctx: NetworkContext, caller: Caller, router: Router, portId: string, ports: Port[]): Promise<{ port: Port; subnets: Subnet[] }> {
  const port = await visiblePort(ctx, caller, portId);
  if (port.deviceId !== '') {
    throw new NeutronError(
      409,
      'PortInUse',
      `Unable to complete operation on port ${port.id} for network ${port.networkId}. Port already has an attached device ${port.deviceId}.`,
    );
  }
  if (port.fixedIps.length === 0) throw badRequest('router', 'Router port must have at least one fixed IP');
  if (port.fixedIps.length > 1) throw badRequest('router', 'Router port must have exactly one fixed IP');
  const subnets = await ctx.records.listSubnets({ ids: port.fixedIps.map((f) => f.subnetId) });
  for (const subnet of subnets) refuseExternallyAddressed(subnet);
  await refuseOverlaps(ctx, ports, subnets);
  // Neutron's _validate_port_in_range_or_admin: an address outside the pools is the subnet owner's to give.
  if (!caller.isAdmin) {
    for (const ip of port.fixedIps) {
      const subnet = subnets.find((s) => s.id === ip.subnetId);
      if (subnet && subnet.projectId !== caller.projectId && !inPools(subnet, ip.ipAddress)) {
        throw badRequest(
          'router',
          `Cannot add interface to router because specified port ${port.id} has an IP address out of the allocation pool of subnet ${subnet.id}, which is not owned by the project making the request`,
        );
      }
    }
  }
  const updated: Port = {
    ...port,
    deviceId: router.id,
    deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE,
    status: 'ACTIVE',
    updatedAt: now(),
    revisionNumber: port.revisionNumber + 1,
  };
  await ctx.records.updatePort(updated, { fixedIps: false, securityGroups: false });
  return { port: updated, subnets };
}

function inPools(subnet: Subnet, address: string): boolean {
  if (!contains(parseCidr(subnet.cidr), address)) return false;
  const n = toBig(address);
  return subnet.allocationPools.some((p) => toBig(p.start) <= n && n <= toBig(p.end));
}

export async function removeRouterInterface(ctx: NetworkContext, caller: Caller, id: string, body: unknown): Promise<RouterInterfaceInfo> {
  const router = await visibleRouter(ctx, caller, id);
  authorize(ctx, caller, 'remove_router_interface', { project_id: router.projectId });
  const info = readInterfaceInfo(body, true);
  const interfaces = (await routerPorts(ctx, id)).filter((p) => p.deviceOwner === DEVICE_OWNER_ROUTER_INTERFACE);
  let result: RouterInterfaceInfo;
  if (info.portId) {
    const port = interfaces.find((p) => p.id === info.portId);
    if (!port) throw new NeutronError(404, 'RouterInterfaceNotFound', `Router ${id} does not have an interface with id ${info.portId}`);
    const subnetIds = port.fixedIps.map((f) => f.subnetId);
    if (info.subnetId && !subnetIds.includes(info.subnetId)) {
      throw new NeutronError(400, 'SubnetMismatchForPort', `Subnet on port ${port.id} does not match the requested subnet ${info.subnetId}.`);
    }
    const subnets = await ctx.records.listSubnets({ ids: subnetIds });
    for (const subnet of subnets) await refuseIfInUse(ctx, router, subnet);
    await ctx.records.deletePort(port.id);
    result = { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds };
  } else {
    const subnet = await visibleSubnet(ctx, caller, info.subnetId as string);
    const port = interfaces.find((p) => p.networkId === subnet.networkId && p.fixedIps.some((f) => f.subnetId === subnet.id));
    if (!port) throw new NeutronError(404, 'RouterInterfaceNotFoundForSubnet', `Router ${id} has no interface on subnet ${subnet.id}`);
    await refuseIfInUse(ctx, router, subnet);
    const remaining = port.fixedIps.filter((f) => f.subnetId !== subnet.id);
    // A port with addresses on several subnets only gives this one up.
    if (remaining.length > 0) {
      await ctx.records.updatePort({ ...port, fixedIps: remaining, updatedAt: now(), revisionNumber: port.revisionNumber + 1 }, { fixedIps: true, securityGroups: false });
    } else {
      await ctx.records.deletePort(port.id);
    }
    result = { routerId: id, projectId: port.projectId, portId: port.id, networkId: port.networkId, subnetIds: [subnet.id] };
  }
  ctx.changed(new Set([result.networkId, ...(router.gatewayNetworkId ? [router.gatewayNetworkId] : [])]));
  return result;
}

/** Neutron's _confirm_router_interface_not_in_use, with extraroute's check of the nexthops. */
async function refuseIfInUse(ctx: NetworkContext, router: Router, subnet: Subnet): Promise<void> {
  const cidr = parseCidr(subnet.cidr);
  for (const fip of await ctx.l3.listFloatingIps({ routerId: router.id })) {
    if (!fip.fixedIpAddress || !fip.portId || !contains(cidr, fip.fixedIpAddress)) continue;
    const port = await ctx.records.getPort(fip.portId);
    if (port?.fixedIps.some((f) => f.subnetId === subnet.id)) {
      throw new NeutronError(
        409,
        'RouterInterfaceInUseByFloatingIP',
        `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`,
      );
    }
  }
  if (router.routes.some((r) => contains(cidr, r.nexthop))) {
    throw new NeutronError(
      409,
      'RouterInterfaceInUseByRoute',
      `Router interface for subnet ${subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`,
    );
  }
}
