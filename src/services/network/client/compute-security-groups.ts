import { ApiError } from '../../../core/http/errors.js';
import type { ComputeSecurityGroup, ComputeSecurityGroupRule, InstanceRef, NewSecurityGroupRule, SecurityGroupCaller, SecurityGroupProxy } from '../../compute/client.js';
import { groupsOnPorts, instancePorts } from './instance-ports.js';
import { badRequest, conflict, forbidden, notFound } from './nova-errors.js';
import type { NetworkContext } from '../context.js';
import type { Port } from '../model.js';
import { updatePort } from '../ports.js';
import { createRule, createSecurityGroup, defaultSecurityGroup, deleteRule, deleteSecurityGroup, updateSecurityGroup, visibleGroup } from '../security-groups.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../tables.js';

/**
 * Neutron's security groups in the same process, as Nova's neutron security-group driver
 * uses them: with the user's rights, Neutron's 404/409 turned into Nova's 404/400. A server's
 * groups are those of its ports, changed on the ports (so the dataplane follows), as Nova's
 * security_group_api.add_to_instance and remove_from_instance do.
 */
export class InProcessSecurityGroups implements SecurityGroupProxy {
  constructor(private readonly ctx: NetworkContext) {}

  private async view(group: SecurityGroupRow): Promise<ComputeSecurityGroup> {
    const rules = await this.ctx.groups.rules({ groupIds: [group.id] });
    return {
      id: group.id,
      name: group.name,
      description: group.description,
      projectId: group.project_id,
      rules: rules.filter((r) => r.direction === 'ingress').map(ruleView),
    };
  }

  private async translated<T>(id: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 404) throw notFound(`Security group ${id} not found.`);
      if (error.status === 409 || error.status === 400) throw badRequest(error.message);
      if (error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }

  async list(caller: SecurityGroupCaller, allProjects: boolean): Promise<ComputeSecurityGroup[]> {
    // Neutron makes the project's default group the first time the project looks.
    await defaultSecurityGroup(this.ctx, caller.projectId);
    const groups = await this.ctx.groups.list(caller.isAdmin && allProjects ? {} : { projectId: caller.projectId });
    return Promise.all(groups.map((g) => this.view(g)));
  }

  async get(caller: SecurityGroupCaller, id: string): Promise<ComputeSecurityGroup> {
    return this.translated(id, async () => this.view(await visibleGroup(this.ctx, caller, id)));
  }

  async create(caller: SecurityGroupCaller, name: string, description: string): Promise<ComputeSecurityGroup> {
    return this.translated(name, async () => this.view(await createSecurityGroup(this.ctx, caller, { name, description })));
  }

  async update(caller: SecurityGroupCaller, id: string, name: string, description: string): Promise<ComputeSecurityGroup> {
    return this.translated(id, async () => this.view(await updateSecurityGroup(this.ctx, caller, id, { name, description })));
  }

  async delete(caller: SecurityGroupCaller, id: string): Promise<void> {
    await this.translated(id, () => deleteSecurityGroup(this.ctx, caller, id));
  }

  async addRule(caller: SecurityGroupCaller, groupId: string, rule: NewSecurityGroupRule): Promise<ComputeSecurityGroupRule & { groupId: string }> {
    return this.translated(groupId, async () => {
      // Nova looks the parent (and a remote group) up as the user first: one it may not see is not found.
      await visibleGroup(this.ctx, caller, groupId);
      if (rule.remoteGroupId) await visibleGroup(this.ctx, caller, rule.remoteGroupId);
      // Nova's neutron driver: ICMP's -1 is "any", which Neutron says by leaving the range out.
      const port = (value: number | null) => (value === -1 ? null : value);
      const body = {
        security_group_id: groupId,
        direction: 'ingress',
        ethertype: rule.cidr?.includes(':') ? 'IPv6' : 'IPv4',
        protocol: rule.protocol?.toLowerCase() ?? null,
        port_range_min: port(rule.portMin),
        port_range_max: port(rule.portMax),
        remote_ip_prefix: rule.cidr,
        remote_group_id: rule.remoteGroupId,
      };
      try {
        return { ...ruleView(await createRule(this.ctx, caller, body)), groupId };
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) throw badRequest(`This rule already exists in group ${groupId}`);
        throw error;
      }
    });
  }

  async deleteRule(caller: SecurityGroupCaller, ruleId: string): Promise<void> {
    try {
      await deleteRule(this.ctx, caller, ruleId);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) throw notFound(`Security group rule ${ruleId} could not be found.`);
      if (error instanceof ApiError && error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }

  /**
   * Nova's find_resourceid_by_name_or_id: a group the caller may see by that id, else the one
   * group of that name in the caller's project (409 when two share it).
   */
  private async find(caller: SecurityGroupCaller, nameOrId: string): Promise<SecurityGroupRow | undefined> {
    try {
      return await visibleGroup(this.ctx, caller, nameOrId);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    // Neutron makes the project's default group the first time the project looks for it.
    if (nameOrId === 'default') await defaultSecurityGroup(this.ctx, caller.projectId);
    const named = await this.ctx.groups.list({ projectId: caller.projectId, name: nameOrId });
    if (named.length > 1) throw conflict(`Multiple security_group matches found for name '${nameOrId}', use an ID to be more specific.`);
    return named[0];
  }

  async resolveForBoot(caller: SecurityGroupCaller, requested: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const entry of requested) {
      if (entry === 'default') {
        ids.push(entry);
        continue;
      }
      const group = await this.find(caller, entry);
      // The instance is the caller's project's: its ports may only carry that project's groups
      // (an admin sees every group, but Nova's allocation would not find another project's).
      if (!group || group.project_id !== caller.projectId) throw badRequest(`Unable to find security_group with name or id '${entry}'`);
      ids.push(group.id);
    }
    return [...new Set(ids)];
  }

  async onInstance(caller: SecurityGroupCaller, instance: InstanceRef): Promise<ComputeSecurityGroup[]> {
    const rows = await groupsOnPorts(this.ctx, caller, await instancePorts(this.ctx, instance));
    const views = new Map<string, Promise<ComputeSecurityGroup>>();
    for (const row of rows) if (!views.has(row.id)) views.set(row.id, this.view(row));
    return Promise.all(rows.map((row) => views.get(row.id) as Promise<ComputeSecurityGroup>));
  }

  /** The group and the instance's ports for add/remove, with Nova's 404s for either missing. */
  private async groupAndPorts(caller: SecurityGroupCaller, instance: InstanceRef, nameOrId: string): Promise<{ group: SecurityGroupRow; ports: Port[] }> {
    const group = await this.find(caller, nameOrId);
    if (!group) throw notFound(`Security group ${nameOrId} is not found for project ${caller.projectId}`);
    const ports = await instancePorts(this.ctx, instance);
    if (ports.length === 0) throw notFound(`instance_id ${instance.id} could not be found as device id on any ports`);
    return { group, ports };
  }

  async addToInstance(caller: SecurityGroupCaller, instance: InstanceRef, nameOrId: string): Promise<void> {
    const { group, ports } = await this.groupAndPorts(caller, instance, nameOrId);
    // Every port is checked before any changes, so a refusal leaves the instance as it was.
    for (const port of ports) {
      if (!port.portSecurityEnabled || port.fixedIps.length === 0) {
        throw badRequest('Network requires port_security_enabled and subnet associated in order to apply security groups.');
      }
      if (port.securityGroups.includes(group.id)) throw badRequest(`Security group ${nameOrId} is already associated with the instance ${instance.id}`);
    }
    for (const port of ports) await this.setPortGroups(caller, port, [...port.securityGroups, group.id]);
  }

  async removeFromInstance(caller: SecurityGroupCaller, instance: InstanceRef, nameOrId: string): Promise<void> {
    const { group, ports } = await this.groupAndPorts(caller, instance, nameOrId);
    const holding = ports.filter((p) => p.securityGroups.includes(group.id));
    if (holding.length === 0) throw notFound(`Security group ${nameOrId} not associated with the instance ${instance.id}`);
    for (const port of holding) await this.setPortGroups(caller, port, port.securityGroups.filter((id) => id !== group.id));
  }

  /** A port update as the user: Neutron checks the port and every group against the caller. */
  private async setPortGroups(caller: SecurityGroupCaller, port: Port, groupIds: string[]): Promise<void> {
    try {
      await updatePort(this.ctx, caller, port.id, { security_groups: groupIds });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 404) throw notFound(error.message);
      if (error.status === 400) throw badRequest(error.message);
      if (error.status === 409) throw conflict(error.message);
      if (error.status === 403) throw forbidden(error.message);
      throw error;
    }
  }
}

function ruleView(r: SecurityGroupRuleRow): ComputeSecurityGroupRule {
  return { id: r.id, protocol: r.protocol, portMin: r.port_range_min, portMax: r.port_range_max, remoteIpPrefix: r.remote_ip_prefix, remoteGroupId: r.remote_group_id };
}
