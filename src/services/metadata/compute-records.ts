import type { ComputeContext } from '../compute/context.js';
import { findKeypair } from '../compute/keypairs.js';
import { InstancePasswords } from '../compute/instances/passwords.js';
import { InstanceRecords } from '../compute/instances/store.js';
import type { Instance } from '../compute/instances/model.js';
import type { InstanceSource } from './sources.js';

/** The metadata service is part of Nova: it reads the compute tables through compute's own classes. */
export class ComputeInstanceSource implements InstanceSource {
  private readonly instances: InstanceRecords;
  private readonly passwords: InstancePasswords;

  constructor(private readonly ctx: ComputeContext) {
    this.instances = new InstanceRecords(ctx.db);
    this.passwords = new InstancePasswords(ctx.database);
  }

  async instance(id: string): Promise<Instance | undefined> {
    const instance = await this.instances.get(id);
    return instance && !instance.deleted ? instance : undefined;
  }

  async keypairType(userId: string, name: string): Promise<string | undefined> {
    return (await findKeypair(this.ctx, userId, name))?.type;
  }

  password(instanceId: string): Promise<string | undefined> {
    return this.passwords.get(instanceId);
  }

  setPasswordOnce(instanceId: string, password: string): Promise<boolean> {
    return this.passwords.setOnce(instanceId, password);
  }
}
