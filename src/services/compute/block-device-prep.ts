import type { HostBlockDeviceMapping } from '../../contracts/compute-host.js';
import { VolumeClientError, type VolumeClient } from '../../contracts/volume.js';
import type { Logger } from '../../core/log.js';
import type { ComputeHosts } from './hosts.js';
import type { BlockDevices } from './store/block-devices.js';
import type { Instance } from './instances/model.js';

/** How long a boot waits for a volume it made (from an image, a snapshot, or blank) to be available. */
const VOLUME_READY_TIMEOUT_MS = 600_000;
const POLL_MS = 500;

/** A boot's volume could not be made ready: the build ends in ERROR with this (Nova's BuildAbortException). */
export class BlockDeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockDeviceError';
  }
}

/**
 * Nova's _prep_block_device for a boot placed on `host`: each volume of the instance is made
 * ready (a volume the boot created must first become available), attached for this host
 * (attachment create -> update with the host's connector -> complete), and its connection
 * info goes to the host with the build. A reschedule to another host starts its attachments
 * afresh, since connection info is per host.
 */
export async function prepareBlockDevices(
  deps: { volumes: VolumeClient | undefined; blockDevices: BlockDevices; hosts: ComputeHosts; log: Logger },
  instance: Instance,
  host: string,
): Promise<HostBlockDeviceMapping[]> {
  const devices = await deps.blockDevices.list(instance.id);
  if (devices.length === 0) return [];
  const volumes = deps.volumes;
  if (!volumes) throw new BlockDeviceError('Block Storage is not available in this cloud.');
  // As compute does on its own behalf for the instance (the user's rights were checked at the API).
  const who = { userId: instance.userId, projectId: instance.projectId, roles: ['admin', 'member', 'reader'], isAdmin: true };
  const row = await deps.hosts.get(host);
  const connector = { host, ...(row?.host_ip ? { ip: row.host_ip } : {}), platform: 'x86_64', os_type: 'linux', multipath: false, instance: instance.id };
  const out: HostBlockDeviceMapping[] = [];
  const ordered = [...devices].sort((a, b) => (a.bootIndex ?? 1000) - (b.bootIndex ?? 1000));
  for (const device of ordered) {
    const volumeId = device.volumeId;
    if (!volumeId) throw new BlockDeviceError(`Block device ${device.id} has no volume.`);
    try {
      if (device.status === 'creating') await waitAvailable(volumes, who, volumeId);
      if (device.attachmentId && device.status !== 'creating' && device.connectionInfo) {
        // Attached for another host (a reschedule): that connection is of no use here.
        await volumes.attachmentDelete(who, device.attachmentId).catch(() => undefined);
        await deps.blockDevices.update(device.id, { attachment_id: null, connection_info: null });
        device.attachmentId = null;
      }
      const attachmentId = device.attachmentId ?? (await volumes.attachmentCreate(who, { volumeId, instanceId: instance.id, mode: 'rw' })).id;
      await deps.blockDevices.update(device.id, { attachment_id: attachmentId, status: 'attaching' });
      const updated = await volumes.attachmentUpdate(who, attachmentId, connector);
      if (!updated.connection_info) throw new Error('the volume service gave no connection info');
      await volumes.attachmentComplete(who, attachmentId);
      await deps.blockDevices.update(device.id, { status: 'attached', connection_info: JSON.stringify(updated.connection_info) });
      out.push({ volumeId, deviceName: device.deviceName, bootIndex: device.bootIndex, deleteOnTermination: device.deleteOnTermination, connectionInfo: updated.connection_info });
    } catch (error) {
      if (error instanceof BlockDeviceError) throw error;
      const reason = error instanceof VolumeClientError ? error.message : (error as Error).message;
      throw new BlockDeviceError(`Volume ${volumeId} could not be attached: ${reason}`);
    }
  }
  return out;
}

async function waitAvailable(volumes: VolumeClient, who: Parameters<VolumeClient['getVolume']>[0], volumeId: string): Promise<void> {
  const deadline = Date.now() + VOLUME_READY_TIMEOUT_MS;
  for (;;) {
    const volume = await volumes.getVolume(who, volumeId);
    if (volume.status === 'available') return;
    if (volume.status === 'error' || volume.status.startsWith('error')) throw new BlockDeviceError(`Volume ${volumeId} did not finish being created (status ${volume.status}).`);
    if (Date.now() > deadline) throw new BlockDeviceError(`Volume ${volumeId} did not finish being created within ${VOLUME_READY_TIMEOUT_MS / 1000} s (status ${volume.status}).`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
