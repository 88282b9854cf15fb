import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, notFound, type Caller, type ComputeContext } from '../context.js';
import type { ComputeSecurityGroup, ComputeSecurityGroupRule, SecurityGroupProxy } from '../peers.js';
import { buildIngressRule, type RuleRequest } from '../security-group-rules.js';
import { queryValue } from '../validate.js';
import { listSecurityGroupsQuery, securityGroupBody, securityGroupRuleBody } from '../schemas/security-groups.js';
import { bodyByVersion } from '../schemas/validation.js';

type IdParams = { id: string };

/** A group as Nova's os-security-groups shows it; a rule naming a group shows that group. */
export function renderSecurityGroup(group: ComputeSecurityGroup, all: ComputeSecurityGroup[]): Record<string, unknown> {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    tenant_id: group.projectId,
    rules: group.rules.map((r) => renderRule(group.id, r, r.remoteGroupId ? all.find((g) => g.id === r.remoteGroupId) : undefined)),
  };
}

/** One rule as Nova's _format_security_group_rule shows it: the remote group by name and owner, else the CIDR. */
function renderRule(parentId: string, r: ComputeSecurityGroupRule, remote: ComputeSecurityGroup | undefined): Record<string, unknown> {
  return {
    id: r.id,
    parent_group_id: parentId,
    ip_protocol: r.protocol,
    from_port: r.portMin,
    to_port: r.portMax,
    group: remote ? { name: remote.name, tenant_id: remote.projectId } : {},
    ip_range: !r.remoteGroupId && r.remoteIpPrefix ? { cidr: r.remoteIpPrefix } : {},
  };
}

type GroupBody = { security_group: { name: string; description: string } };

/**
 * Past the schema, Nova with Neutron passes name and description on as they are: a blank one
 * is Neutron's to judge (it takes an empty description; gophercloud's TestSecGroupsCRUD
 * clears one). Only nova-network refused blanks.
 */
function groupBody(body: GroupBody): { name: string; description: string } {
  const { name, description } = body.security_group;
  return { name, description };
}

/**
 * /os-security-groups: Nova's proxy to Neutron's security groups (removed in 2.36), for
 * clouds that run the network service.
 */
export function securityGroupRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  /** Neutron's groups, once Nova's rule for the proxy `action` lets the caller (acting on its own project) that far. */
  const proxy = (request: FastifyRequest, caller: Caller, action: 'get' | 'show' | 'create' | 'update' | 'delete' | 'rule:create' | 'rule:delete'): SecurityGroupProxy => {
    if (request.computeVersion.atLeast('2.36') || !ctx.network?.securityGroups) throw notFound('The resource could not be found.');
    authorize(ctx, caller, `os_compute_api:os-security-groups:${action}`);
    return ctx.network.securityGroups;
  };

  app.get('/os-security-groups', { schema: { querystring: listSecurityGroupsQuery } }, async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'get');
    const all = await groups.list(caller, ['1', 'true', 'True'].includes(queryValue(request.query, 'all_tenants') ?? ''));
    return { security_groups: all.map((g) => renderSecurityGroup(g, all)) };
  });
  // The proxy is gone from 2.36 (its handler answers 404): no schema there.
  const bodies = { '2.1': securityGroupBody, '2.36': null };
  app.post<{ Body: GroupBody }>('/os-security-groups', bodyByVersion(bodies), async (request) => {
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
  app.put<{ Params: IdParams; Body: GroupBody }>('/os-security-groups/:id', bodyByVersion(bodies), async (request) => {
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

  // os-security-group-rules: Nova builds the ingress rule itself, then asks Neutron for it.
  const ruleBodies = { '2.1': securityGroupRuleBody, '2.36': null };
  app.post<{ Body: { security_group_rule: RuleRequest } }>('/os-security-group-rules', bodyByVersion(ruleBodies), async (request) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'rule:create');
    const wanted = request.body.security_group_rule;
    const parent = await groups.get(caller, wanted.parent_group_id);
    const remote = wanted.group_id ? await groups.get(caller, wanted.group_id) : undefined;
    const rule = buildIngressRule(wanted);
    if (!rule) throw badRequest('Not enough parameters to build a valid rule.');
    const created = await groups.addRule(caller, parent.id, rule);
    return { security_group_rule: renderRule(parent.id, created, remote) };
  });
  app.delete<{ Params: IdParams }>('/os-security-group-rules/:id', async (request, reply) => {
    const caller = callerFrom(request);
    const groups = proxy(request, caller, 'rule:delete');
    await groups.deleteRule(caller, request.params.id);
    reply.code(202).send();
  });
}
