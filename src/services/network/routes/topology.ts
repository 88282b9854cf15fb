import type { FastifyInstance } from 'fastify';
import { deleteAutoAllocatedTopology, getAutoAllocatedTopology } from '../auto-allocated-topology.js';
import { callerFrom, type NetworkContext } from '../context.js';
import { listIpAvailability, showIpAvailability } from '../ip-availability.js';
import { isObject, type Json } from '../../../core/http/body.js';
import { listQuery, selectFields } from '../query.js';

const projectParams = {
  type: 'object',
  properties: { project: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } },
  required: ['project'],
} as const;

/**
 * What Neutron answers about the cloud's networking as a whole: IP availability (admin),
 * availability zones, service providers, and each project's auto-allocated topology.
 */
export function topologyRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  // `ip_version` (the CLI always sends it) keeps the networks with a subnet of that version.
  app.get('/v2.0/network-ip-availabilities', async (request) => {
    const { ip_version: ipVersion, ...rest } = isObject(request.query) ? request.query : {};
    let all = await listIpAvailability(ctx, callerFrom(request));
    if (ipVersion !== undefined) {
      const wanted = (Array.isArray(ipVersion) ? ipVersion : [ipVersion]).map(String);
      all = all.filter((a) => (a.subnet_ip_availability as Json[]).some((s) => wanted.includes(String(s.ip_version))));
    }
    const { items, links } = await listQuery(all, rest, `${baseUrl()}/v2.0/network-ip-availabilities`);
    return { network_ip_availabilities: items, ...(links.length > 0 ? { network_ip_availabilities_links: links } : {}) };
  });
  app.get<{ Params: { id: string } }>('/v2.0/network-ip-availabilities/:id', async (request) => ({
    network_ip_availability: selectFields(await showIpAvailability(ctx, callerFrom(request), request.params.id), request.query),
  }));

  // One zone, `nova` (Neutron's default_availability_zones), where every network and router is.
  app.get('/v2.0/availability_zones', async () => ({
    availability_zones: ['network', 'router'].map((resource) => ({ name: 'nova', resource, state: 'available' })),
  }));

  // The L3 providers Neutron's router plugin registers by itself (its "legacy plus" set), as a
  // router's `ha`/`distributed` attributes name them; the network node's routers are single_node.
  app.get('/v2.0/service-providers', async () => ({
    service_providers: [
      { service_type: 'L3_ROUTER_NAT', name: 'single_node', default: true },
      ...['ha', 'dvr', 'dvrha'].map((name) => ({ service_type: 'L3_ROUTER_NAT', name, default: false })),
    ],
  }));

  app.get<{ Params: { project: string }; Querystring: { fields?: string | string[] } }>(
    '/v2.0/auto-allocated-topology/:project',
    { schema: { params: projectParams } },
    async (request) => {
      const fields = request.query.fields;
      const dryRun = (Array.isArray(fields) ? fields : [fields]).includes('dry-run');
      return { auto_allocated_topology: await getAutoAllocatedTopology(ctx, callerFrom(request), request.params.project, dryRun) };
    },
  );
  app.delete<{ Params: { project: string } }>('/v2.0/auto-allocated-topology/:project', { schema: { params: projectParams } }, async (request, reply) => {
    await deleteAutoAllocatedTopology(ctx, callerFrom(request), request.params.project);
    reply.code(204).send();
  });
}
