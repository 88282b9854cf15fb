import type { HostFlavor, HostInstance } from '../../contracts/compute-host.js';
import type { InstanceSpec } from './virt/driver.js';

/** What the driver gets to know about an instance: its shape, never the control plane's record. */
export function instanceSpec(instance: HostInstance, nics: InstanceSpec['nics'] = [], flavor: HostFlavor = instance.flavor): InstanceSpec {
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
    configDrive: instance.configDrive,
  };
}
