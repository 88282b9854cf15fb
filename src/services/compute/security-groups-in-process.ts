import { ApiError } from '../../core/http/errors.js';
import { badRequest, forbidden, notFound } from './context.js';
import type { ComputeSecurityGroup, SecurityGroupCaller, SecurityGroupProxy } from './peers.js';
import type { NetworkContext } from '../network/context.js';
import { createSecurityGroup, defaultSecurityGroup, deleteSecurityGroup, updateSecurityGroup, visibleGroup } from '../network/security-groups.js';
import type { SecurityGroupRow } from '../network/tables.js';

/**
 * Neutron's security groups in the same process, as Nova's neutron security-group driver
 * uses them: with the user's rights, Neutron's 404/409 turned into Nova's 404/400.
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
      rules: rules
        .filter((r) => r.direction === 'ingress')
        .map((r) => ({ id: r.id, protocol: r.protocol, portMin: r.port_range_min, portMax: r.port_range_max, remoteIpPrefix: r.remote_ip_prefix, remoteGroupId: r.remote_group_id })),
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
}
