import type { BlockDeviceMappingRow } from '../tables.js';

/** One volume of an instance (Nova's BlockDeviceMapping object). */
export interface BlockDevice {
  id: string;
  instanceId: string;
  volumeId: string | null;
  attachmentId: string | null;
  deviceName: string | null;
  sourceType: 'image' | 'volume' | 'snapshot' | 'blank';
  destinationType: 'volume';
  bootIndex: number | null;
  deleteOnTermination: boolean;
  volumeSize: number | null;
  imageId: string | null;
  snapshotId: string | null;
  tag: string | null;
  connectionInfo: Record<string, unknown> | null;
  status: 'creating' | 'attaching' | 'attached' | 'detaching';
  createdAt: string;
}

export type NewBlockDevice = Pick<BlockDevice, 'instanceId' | 'sourceType' | 'bootIndex' | 'deleteOnTermination'> &
  Partial<Pick<BlockDevice, 'volumeId' | 'attachmentId' | 'deviceName' | 'volumeSize' | 'imageId' | 'snapshotId' | 'tag' | 'status'>>;

export type BlockDeviceChanges = Partial<Pick<BlockDeviceMappingRow, 'volume_id' | 'attachment_id' | 'device_name' | 'connection_info' | 'status' | 'delete_on_termination'>>;

/** The guest's device names in order: vda is the root disk (the image's, or a boot volume). */
export function nextDeviceName(taken: Array<string | null>): string {
  const used = new Set(taken.filter((n): n is string => n !== null));
  for (let i = 1; i < 26; i += 1) {
    const name = `/dev/vd${String.fromCharCode(97 + i)}`;
    if (!used.has(name)) return name;
  }
  throw new Error('no free device name');
}
