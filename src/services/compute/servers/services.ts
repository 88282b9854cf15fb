import type { Caller, ComputeContext } from '../context.js';
import { badRequest } from '../context.js';
import { ComputeHosts } from '../hosts.js';
import { InstanceActions } from '../store/instance-actions.js';
import { BlockDevices } from '../store/block-devices.js';
import { InstanceRecords } from '../store/instances.js';
import { checkQuota } from '../quotas.js';
import { KeypairRecords } from '../store/keypairs.js';
import { ServerGroupRecords } from '../store/server-groups.js';

/**
 * What the servers API uses besides the context: the records it writes and the checks other
 * compute resources (keypairs, server groups, quotas) make for a boot.
 */
export class ServerServices {
  readonly instances: InstanceRecords;
  readonly actions: InstanceActions;
  readonly hosts: ComputeHosts;
  readonly blockDevices: BlockDevices;
  private readonly keypairs: KeypairRecords;
  private readonly groups: ServerGroupRecords;

  constructor(private readonly ctx: ComputeContext) {
    this.instances = new InstanceRecords(ctx.db);
    this.actions = new InstanceActions(ctx.db);
    this.hosts = new ComputeHosts(ctx.db);
    this.blockDevices = new BlockDevices(ctx.db);
    this.keypairs = new KeypairRecords(ctx.db);
    this.groups = new ServerGroupRecords(ctx.db);
  }

  /** The public key of the caller's keypair, or Nova's 400 for a boot naming an unknown one. */
  async keypairPublicKey(userId: string, name: string): Promise<string> {
    const row = await this.keypairs.get(userId, name);
    if (!row) throw badRequest(`Invalid key_name provided.`);
    return row.public_key;
  }

  /** The group must exist in the caller's project and have room for the new members. */
  async requireGroup(caller: Caller, groupId: string, adding: number): Promise<void> {
    const group = await this.groups.get(groupId);
    if (!group || (group.project_id !== caller.projectId && !caller.isAdmin)) throw badRequest(`Invalid server group ${groupId}.`);
    await checkQuota(this.ctx, caller.projectId, caller.userId, { server_group_members: adding }, { serverGroupId: groupId });
  }

  async addGroupMembers(groupId: string, instanceIds: string[]): Promise<void> {
    await this.groups.addMembers(groupId, instanceIds);
  }

  /**
   * How many of min..max instances the project's quota allows: max when it fits, else min
   * when that fits, else Nova's 403 for the smallest request.
   */
  async instancesAllowed(caller: Caller, min: number, max: number, each: { vcpus: number; memoryMb: number }): Promise<number> {
    const ask = (n: number) => checkQuota(this.ctx, caller.projectId, caller.userId, { instances: n, cores: n * each.vcpus, ram: n * each.memoryMb });
    if (max !== min) {
      try {
        await ask(max);
        return max;
      } catch {
        // fall through to the smallest acceptable count, whose refusal is the one to report
      }
    }
    await ask(min);
    return min;
  }
}

