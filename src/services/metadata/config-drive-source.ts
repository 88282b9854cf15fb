import type { ConfigDriveSource } from '../compute/client.js';
import { configDriveFiles } from './config-drive.js';
import { instanceMetadata } from './content.js';
import type { InstanceNetworkSource, InstanceSource } from './sources.js';

/** The metadata service in the same process, read by a compute agent writing a config drive. */
export class InProcessConfigDrive implements ConfigDriveSource {
  constructor(
    private readonly instances: InstanceSource,
    private readonly network: InstanceNetworkSource,
  ) {}

  async files(instanceId: string, options: { adminPass?: string } = {}): Promise<ReadonlyMap<string, Buffer>> {
    const instance = await this.instances.instance(instanceId);
    if (!instance) throw new Error(`Instance ${instanceId} could not be found.`);
    const [network, keypairType] = await Promise.all([
      this.network.forInstance(instance),
      instance.keyName ? this.instances.keypairType(instance.userId, instance.keyName) : Promise.resolve(undefined),
    ]);
    return configDriveFiles(
      instanceMetadata({
        instance,
        network,
        ...(keypairType ? { keypairType } : {}),
        ...(options.adminPass !== undefined ? { adminPass: options.adminPass } : {}),
      }),
    );
  }
}
