import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { authorize, callerFrom, notFound, type Caller, type ComputeContext } from '../context.js';
import type { ComputeFloatingIp, ComputeNetwork } from '../peers.js';

type IdParams = { id: string };

/** Nova's _translate_floating_ip_view. */
const renderFloatingIp = (fip: ComputeFloatingIp) => ({ id: fip.id, ip: fip.address, fixed_ip: fip.fixedAddress, instance_id: fip.instanceId, pool: fip.pool });

/** os-networks' network_dict with Neutron: two fields known, the rest of nova-network's null (admins see more nulls). */
const NETWORK_FIELDS = ['cidr', 'netmask', 'gateway', 'broadcast', 'dns1', 'dns2', 'cidr_v6', 'gateway_v6', 'netmask_v6'];
const ADMIN_NETWORK_FIELDS = [
  'created_at', 'updated_at', 'deleted_at', 'deleted', 'injected', 'bridge', 'vlan', 'vpn_public_address', 'vpn_public_port', 'vpn_private_address',
  'dhcp_start', 'project_id', 'host', 'bridge_interface', 'multi_host', 'priority', 'rxtx_base', 'mtu', 'dhcp_server', 'enable_dhcp', 'share_address',
];
function renderNetwork(network: ComputeNetwork, caller: Caller): Record<string, unknown> {
  const fields = caller.isAdmin ? [...NETWORK_FIELDS, ...ADMIN_NETWORK_FIELDS] : NETWORK_FIELDS;
  return { id: network.id, label: network.name, ...Object.fromEntries(fields.map((f) => [f, null])) };
}

/** os-tenant-networks' network_dict: its historical `"None"` cidr included. */
const renderTenantNetwork = (network: ComputeNetwork) => ({ id: network.id, cidr: 'None', label: network.name });

/** nova-network's writes, removed in Ussuri: webob's HTTPGone at every microversion. */
const gone = () => new ApiError(410, 'This resource is no longer available.  No forwarding address is given.');

/**
 * Nova's proxies to Neutron for floating IPs and networks (removed in 2.36, as the
 * os-security-groups proxy): os-floating-ips, os-floating-ip-pools, os-networks and
 * os-tenant-networks, through the network service's client.
 */
export function networkProxyRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  /** The network client, once the microversion has the proxy and the caller passes `rule`. */
  const network = (request: FastifyRequest, caller: Caller, rule: string) => {
    const client = ctx.network;
    if (request.computeVersion.atLeast('2.36') || !client?.floatingIps || !client.networks) throw notFound('The resource could not be found.');
    authorize(ctx, caller, rule);
    return { floatingIps: client.floatingIps, networks: client.networks };
  };

  app.get('/os-floating-ips', async (request) => {
    const caller = callerFrom(request);
    const fips = await network(request, caller, 'os_compute_api:os-floating-ips:list').floatingIps.list(caller);
    return { floating_ips: fips.map(renderFloatingIp) };
  });
  app.get<{ Params: IdParams }>('/os-floating-ips/:id', async (request) => {
    const caller = callerFrom(request);
    const fip = await network(request, caller, 'os_compute_api:os-floating-ips:show').floatingIps.get(caller, request.params.id);
    return { floating_ip: renderFloatingIp(fip) };
  });
  // Nova's create schema: no body, null, or an object whose pool is a string or null.
  app.post<{ Body: { pool?: string | null } | null }>(
    '/os-floating-ips',
    { schema: { body: { type: ['object', 'null'], properties: { pool: { type: ['string', 'null'] } } } } },
    async (request) => {
      const caller = callerFrom(request);
      const { floatingIps } = network(request, caller, 'os_compute_api:os-floating-ips:create');
      const fip = await floatingIps.allocate(caller, request.body?.pool ?? undefined);
      return { floating_ip: renderFloatingIp(fip) };
    },
  );
  app.delete<{ Params: IdParams }>('/os-floating-ips/:id', async (request, reply) => {
    const caller = callerFrom(request);
    const { floatingIps } = network(request, caller, 'os_compute_api:os-floating-ips:delete');
    await floatingIps.release(caller, request.params.id);
    reply.code(202).send();
  });
  app.get('/os-floating-ip-pools', async (request) => {
    const caller = callerFrom(request);
    const pools = await network(request, caller, 'os_compute_api:os-floating-ip-pools').floatingIps.pools(caller);
    return { floating_ip_pools: pools.map((name) => ({ name })) };
  });

  app.get('/os-networks', async (request) => {
    const caller = callerFrom(request);
    const networks = await network(request, caller, 'os_compute_api:os-networks:list').networks.list(caller);
    return { networks: networks.map((n) => renderNetwork(n, caller)) };
  });
  app.get<{ Params: IdParams }>('/os-networks/:id', async (request) => {
    const caller = callerFrom(request);
    const found = await network(request, caller, 'os_compute_api:os-networks:show').networks.get(caller, request.params.id);
    return { network: renderNetwork(found, caller) };
  });
  app.get('/os-tenant-networks', async (request) => {
    const caller = callerFrom(request);
    const networks = await network(request, caller, 'os_compute_api:os-tenant-networks:list').networks.list(caller);
    return { networks: networks.map(renderTenantNetwork) };
  });
  app.get<{ Params: IdParams }>('/os-tenant-networks/:id', async (request) => {
    const caller = callerFrom(request);
    const found = await network(request, caller, 'os_compute_api:os-tenant-networks:show').networks.get(caller, request.params.id);
    return { network: renderTenantNetwork(found) };
  });

  // nova-network's writes: gone since Ussuri, whoever asks (the token is still checked first).
  for (const path of ['/os-networks', '/os-networks/add', '/os-networks/:id/action', '/os-tenant-networks']) {
    app.post(path, async (request) => {
      callerFrom(request);
      throw gone();
    });
  }
  for (const path of ['/os-networks/:id', '/os-tenant-networks/:id']) {
    app.delete(path, async (request) => {
      callerFrom(request);
      throw gone();
    });
  }
}
