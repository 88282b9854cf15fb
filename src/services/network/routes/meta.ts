import type { FastifyInstance } from 'fastify';
import { QUOTA } from '../attributes/resources.js';
import { resourceRoute } from '../attributes/schemas.js';
import { authorize, callerFrom, NeutronError, type Caller, type NetworkContext } from '../context.js';
import { DEFAULT_QUOTAS, quotaLimits, quotaUsage } from '../quotas.js';

/** The extensions this service implements, and only those (GET /v2.0/extensions). */
export const EXTENSIONS: Array<{ alias: string; name: string; description: string }> = [
  { alias: 'binding', name: 'Port Binding', description: 'Expose port bindings of a virtual port to external application' },
  { alias: 'external-net', name: 'Neutron external network', description: 'Adds external network attribute to network resource.' },
  { alias: 'provider', name: 'Provider Network', description: 'Expose mapping of virtual networks to physical networks' },
  { alias: 'net-mtu', name: 'Network MTU', description: 'Provides MTU attribute for a network resource.' },
  // A network's mtu is set on create and update (networks.ts), up to what its type allows.
  { alias: 'net-mtu-writable', name: 'Network MTU (writable)', description: 'Provides a writable MTU attribute for a network resource.' },
  { alias: 'security-group', name: 'security-group', description: 'The security groups extension.' },
  { alias: 'port-security', name: 'Port Security', description: 'Provides port security' },
  { alias: 'allowed-address-pairs', name: 'Allowed Address Pairs', description: 'Provides allowed address pairs' },
  { alias: 'quotas', name: 'Quota management support', description: 'Expose functions for quotas management per project' },
  { alias: 'quota_details', name: 'Quota details management support', description: 'Expose functions for quotas usage statistics per project' },
  { alias: 'standard-attr-description', name: 'standard-attr-description', description: 'Extension to add descriptions to standard attributes' },
  { alias: 'standard-attr-tag', name: 'Tag support for resources with standard attribute', description: 'Enables to set tag on resources with standard attribute.' },
  { alias: 'standard-attr-timestamp', name: 'Resource timestamps', description: 'Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.' },
  { alias: 'standard-attr-revisions', name: 'Resource revision numbers', description: 'This extension will display the revision number of neutron resources.' },
  { alias: 'project-id', name: 'project_id field enabled', description: 'Extension that indicates that project_id field is enabled.' },
  { alias: 'fields', name: 'Fields', description: 'Selecting the fields of a resource in responses.' },
  { alias: 'pagination', name: 'Pagination support', description: 'Extension that indicates that pagination is enabled.' },
  { alias: 'sorting', name: 'Sorting support', description: 'Extension that indicates that sorting is enabled.' },
  { alias: 'router', name: 'Neutron L3 Router', description: 'Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.' },
  { alias: 'ext-gw-mode', name: 'Neutron L3 Configurable external gateway mode', description: 'Extension of the router abstraction for specifying whether SNAT should occur on the external gateway' },
  { alias: 'extraroute', name: 'Neutron Extra Route', description: 'Extra routes configuration for L3 router' },
  { alias: 'extraroute-atomic', name: 'Atomically add/remove extra routes', description: 'Edit extra routes of a router on server side by atomically adding/removing extra routes' },
  { alias: 'dvr', name: 'Distributed Virtual Router', description: 'Enables configuration of Distributed Virtual Routers.' },
  { alias: 'l3-ha', name: 'HA Router extension', description: 'Adds HA capability to routers.' },
  { alias: 'extra_dhcp_opt', name: 'Neutron Extra DHCP options', description: 'Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)' },
  { alias: 'address-scope', name: 'Address scope', description: 'Address scopes extension.' },
  { alias: 'subnet_allocation', name: 'Subnet Allocation', description: 'Enables allocation of subnets from a subnet pool' },
  { alias: 'default-subnetpools', name: 'Default Subnetpools', description: 'Provides ability to mark and use a subnetpool as the default.' },
  { alias: 'rbac-policies', name: 'RBAC Policies', description: 'Allows creation and modification of policies that control tenant access to resources.' },
  { alias: 'network-ip-availability', name: 'Network IP Availability', description: 'Provides IP availability data for each network and subnet.' },
  { alias: 'auto-allocated-topology', name: 'Auto Allocated Topology Services', description: 'Auto Allocated Topology Services.' },
  { alias: 'availability_zone', name: 'Availability Zone', description: 'The availability zone extension.' },
  { alias: 'service-type', name: 'Neutron Service Type Management', description: 'API for retrieving service providers for Neutron advanced services' },
  { alias: 'agent', name: 'agent', description: 'The agent management extension.' },
  { alias: 'fip-port-details', name: 'Floating IP Port Details Extension', description: 'Add port_details attribute to Floating IP resource' },
];

export function metaRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  const versions = () => ({
    versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: `${baseUrl()}/v2.0/` }] }],
  });
  app.get('/', { config: { public: true } }, async () => versions());
  for (const path of ['/v2.0', '/v2.0/']) {
    app.get(path, { config: { public: true } }, async () => ({
      resources: ['networks', 'subnets', 'ports', 'security_groups', 'security_group_rules', 'routers', 'floatingips', 'quotas', 'agents', 'subnetpools', 'address_scopes', 'rbac_policies'].map((name) => ({
        name: name.replace(/ies$/, 'y').replace(/s$/, ''),
        collection: name,
        links: [{ rel: 'self', href: `${baseUrl()}/v2.0/${name.replaceAll('_', '-')}` }],
      })),
    }));
  }
  const render = (e: (typeof EXTENSIONS)[number]) => ({ ...e, updated: '2013-01-01T10:00:00-00:00', links: [] });
  app.get('/v2.0/extensions', async () => ({ extensions: EXTENSIONS.map(render) }));
  app.get<{ Params: { alias: string } }>('/v2.0/extensions/:alias', async (request) => {
    const found = EXTENSIONS.find((e) => e.alias === request.params.alias);
    if (!found) throw new NeutronError(404, 'ExtensionNotFound', `Extension with alias ${request.params.alias} does not exist`);
    return { extension: render(found) };
  });

  // Quotas
  app.get('/v2.0/quotas', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'get_quota', { project_id: caller.projectId });
    const projects = caller.isAdmin ? await ctx.records.projectsWithQuotas() : [caller.projectId];
    const quotas = [];
    for (const projectId of projects) quotas.push({ ...(await quotaLimits(ctx, projectId)), project_id: projectId, tenant_id: projectId });
    return { quotas };
  });
  // Neutron checks get_quota only for another project's quotas (against the caller's own project).
  const otherProjects = (caller: Caller, projectId: string) => {
    if (projectId !== caller.projectId) authorize(ctx, caller, 'get_quota', { project_id: caller.projectId });
  };
  app.get<{ Params: { project: string } }>('/v2.0/quotas/:project/default', async (request) => {
    otherProjects(callerFrom(request), request.params.project);
    return { quota: { ...DEFAULT_QUOTAS } };
  });
  app.get<{ Params: { project: string } }>('/v2.0/quotas/:project/details', async (request) => {
    const caller = callerFrom(request);
    // quota_details has no rule: another project's usage is an admin's alone.
    if (request.params.project !== caller.projectId && !caller.isAdmin) {
      throw new NeutronError(403, 'AdminRequired', 'User does not have admin privileges: Only admin is authorized to access quotas for another project.');
    }
    const limits = await quotaLimits(ctx, request.params.project);
    const used = await quotaUsage(ctx, request.params.project);
    return { quota: Object.fromEntries(Object.entries(limits).map(([k, limit]) => [k, { limit, used: used[k] ?? 0, reserved: 0 }])) };
  });
  app.get<{ Params: { project: string } }>('/v2.0/quotas/:project', async (request) => {
    otherProjects(callerFrom(request), request.params.project);
    return { quota: await quotaLimits(ctx, request.params.project) };
  });
  app.put<{ Params: { project: string }; Body: { quota: Record<string, number | string> } }>('/v2.0/quotas/:project', resourceRoute(QUOTA, 'update'), async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'update_quota', { project_id: request.params.project });
    for (const [resource, limit] of Object.entries(request.body.quota)) await ctx.records.setQuota(request.params.project, resource, Number(limit));
    return { quota: await quotaLimits(ctx, request.params.project) };
  });
  app.delete<{ Params: { project: string } }>('/v2.0/quotas/:project', async (request, reply) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'delete_quota', { project_id: request.params.project });
    await ctx.records.deleteQuotas(request.params.project);
    reply.code(204).send();
  });
}
