import type { FastifyInstance } from 'fastify';
import { deleteAutoAllocatedTopology, getAutoAllocatedTopology } from '../auto-allocated-topology.js';
import { callerFrom, type NetworkContext } from '../context.js';
import { listIpAvailability, showIpAvailability } from '../ip-availability.js';
import { resourceRoutes } from './resource.js';

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
  resourceRoutes(app, baseUrl, {
    collection: 'network_ip_availabilities',
    member: 'network_ip_availability',
    path: 'network-ip-availabilities',
    list: (caller) => listIpAvailability(ctx, caller),
    show: (caller, id) => showIpAvailability(ctx, caller, id),
  });

  // One zone, `nova` (Neutron's default_availability_zones), where every network and router is.
  app.get('/v2.0/availability_zones', async () => ({
    availability_zones: ['network', 'router'].map((resource) => ({ name: 'nova', resource, state: 'available' })),
  }));

  // The one L3 provider this cloud has: the network node's routers.
  app.get('/v2.0/service-providers', async () => ({
    service_providers: [{ service_type: 'L3_ROUTER_NAT', name: 'single_node', default: true }],
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
