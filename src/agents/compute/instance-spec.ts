import type { HostFlavor, HostImageMeta, HostInstance } from '../../contracts/compute-host.js';
import type { DirectBoot, InstanceSpec } from './virt/driver.js';

/** Nova's libvirt driver's command line for a direct boot whose image names none (root device and CONSOLE). */
export const DEFAULT_KERNEL_CMDLINE = 'root=/dev/vda console=tty0 console=ttyS0,115200';

/**
 * An AMI-style image's direct boot, from its Glance properties as Nova reads them: kernel_id
 * (without it, none), ramdisk_id, and os_command_line, which Nova honours only with a kernel.
 */
export function directBootOf(image: HostImageMeta | null | undefined): DirectBoot | undefined {
  const properties = image?.properties ?? {};
  const kernelId = properties.kernel_id;
  if (typeof kernelId !== 'string' || kernelId === '') return undefined;
  const ramdiskId = properties.ramdisk_id;
  const cmdline = properties.os_command_line;
  return {
    kernelId,
    ...(typeof ramdiskId === 'string' && ramdiskId !== '' ? { ramdiskId } : {}),
    cmdline: typeof cmdline === 'string' && cmdline !== '' ? cmdline : DEFAULT_KERNEL_CMDLINE,
  };
}

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
