import type { Instance, InstanceFlavor } from '../../services/compute/instances/model.js';
import type { InstanceSpec } from './virt/driver.js';

/** What the driver gets to know about an instance: its shape, never the database row. */
export function instanceSpec(instance: Instance, nics: InstanceSpec['nics'] = [], flavor: InstanceFlavor = instance.flavor): InstanceSpec {
  return {
    id: instance.id,
    name: instance.name,
    projectId: instance.projectId,
    vcpus: flavor.vcpus,
    memoryMb: flavor.memoryMb,
    rootGb: flavor.rootGb,
    ephemeralGb: flavor.ephemeralGb,
    swapMb: flavor.swapMb,
    imageId: instance.imageRef,
    ...(instance.userData ? { userData: instance.userData } : {}),
    ...(instance.keyData ? { keyData: instance.keyData } : {}),
    metadata: instance.metadata,
    nics,
    configDrive: instance.configDrive === 'True' || instance.configDrive === 'true',
  };
}
