import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, notFound, type Caller, type ComputeContext } from '../context.js';
import type { ComputeSecurityGroup, SecurityGroupProxy } from '../peers.js';
import { queryValue } from '../validate.js';

type IdParams = { id: string };

/** A group as Nova's os-security-groups shows it; a rule naming a group shows that group. */
export function renderSecurityGroup(group: ComputeSecurityGroup, all: ComputeSecurityGroup[]): Record<string, unknown> {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    tenant_id: group.projectId,
    rules: group.rules.map((r) => {
      const remote = r.remoteGroupId ? all.find((g) => g.id === r.remoteGroupId) : undefined;
      return {
        id: r.id,
        parent_group_id: group.id,
        ip_protocol: r.protocol,
        from_port: r.portMin,
        to_port: r.portMax,
        group: remote ? { name: remote.name, tenant_id: remote.projectId } : {},
        ip_range: !r.remoteGroupId && r.remoteIpPrefix ? { cidr: r.remoteIpPrefix } : {},
      };
    }),
  };
}

/** Nova's checks of a group's name and description: strings, not blank, at most 255 characters. */
function property(value: unknown, what: 'name' | 'description'): string {
  if (typeof value !== 'string') throw badRequest(`Security group ${what} is not a string or unicode`);
  if (value.trim() === '') throw badRequest(`Security group ${what} cannot be empty.`);
  if (value.length > 255) throw badRequest(`Security group ${what} should not be greater than 255 characters.`);
  return value;
}

function groupBody(body: unknown): { name: string; description: string } {
  const group = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).security_group : undefined;
  if (typeof group !== 'object' || group === null) throw badRequest('security_group not specified');
  const g = group as Record<string, unknown>;
  return { name: property(g.name, 'name'), description: property(g.description, 'description') };
}

/**
 * /os-security-groups: Nova's proxy to Neutron's security groups (removed in 2.36), for
 * clouds that run the network service.
 */
export function securityGroupRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  /** Neutron's groups, once Nova's rule for the proxy `action` lets the caller (acting on its own project) that far. */
  const proxy = (request: FastifyRequest, caller: Caller, action: 'get' | 'show' | 'create' | 'update' | 'delete'): SecurityGroupProxy => {
    if (request.computeVersion.atLeast('2.36') || !ctx.network?.securityGroups) throw notFound('The resource could not be found.');
    authorize(ctx, caller, `os_compute_api:os-security-groups:${action}`);
    return ctx.network.securityGroups;
  };

  app.get('/os-security-groups', async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'get');
    const all = await groups.list(caller, ['1', 'true', 'True'].includes(queryValue(request.query, 'all_tenants') ?? ''));
    return { security_groups: all.map((g) => renderSecurityGroup(g, all)) };
  });
  app.post('/os-security-groups', async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'create');
    const { name, description } = groupBody(request.body);
    const created = await groups.create(caller, name, description);
    return { security_group: renderSecurityGroup(created, [created]) };
  });
  app.get<{ Params: IdParams }>('/os-security-groups/:id', async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'show');
    const group = await groups.get(caller, request.params.id);
    return { security_group: renderSecurityGroup(group, await groups.list(caller, caller.isAdmin)) };
  });
  app.put<{ Params: IdParams }>('/os-security-groups/:id', async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'update');
    const { name, description } = groupBody(request.body);
    const updated = await groups.update(caller, request.params.id, name, description);
    return { security_group: renderSecurityGroup(updated, await groups.list(caller, caller.isAdmin)) };
  });
  app.delete<{ Params: IdParams }>('/os-security-groups/:id', async (request, reply) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'delete');
    // Neutron refuses a group still on a port (409, Nova's 400), as it is the ports that hold groups.
    await groups.delete(caller, request.params.id);
    reply.code(202).send();
  });
}
