import type { ConnectionInfo, ImageSource, ImageTarget, VolumeConnector } from '../../../contracts/volume.js';

/** What a backend says about its storage (Cinder's get_volume_stats, the parts the scheduler reads). */
export interface BackendStats {
  driver: string;
  storageProtocol: string;
  totalCapacityGb: number;
  freeCapacityGb: number;
  reservedPercentage: number;
  thinProvisioning: boolean;
  maxOverSubscriptionRatio: number;
  onlineExtend: boolean;
  multiattach: boolean;
  volumeCount: number;
}

/**
 * A storage backend, modelled on cinder/volume/driver.py. Every method is idempotent where
 * Cinder's is (delete of a missing volume succeeds) and leaves nothing half-made behind: a
 * volume exists under its name only once its data is complete.
 */
export interface VolumeBackend {
  readonly name: string;
  /** Prepares the backend after a (re)start: removes what an interrupted task left half-made. */
  setup(): Promise<void>;
  /** Ends what the backend runs beside the agent (the nbd backend's storage daemon), on agent stop. */
  stop?(): Promise<void>;
  createVolume(volumeId: string, sizeGb: number): Promise<void>;
  /** create_volume_from_snapshot: a volume with the snapshot's data, grown to sizeGb. */
  createFromSnapshot(volumeId: string, snapshotId: string, sizeGb: number): Promise<void>;
  /** create_cloned_volume. */
  cloneVolume(volumeId: string, sourceVolumeId: string, sizeGb: number): Promise<void>;
  /** copy_image_to_volume: the image's data, fetched from the Image API. */
  copyImageToVolume(volumeId: string, image: ImageSource, sizeGb: number): Promise<void>;
  /** copy_volume_to_image: uploads the volume's data to the Image API. */
  copyVolumeToImage(volumeId: string, image: ImageTarget): Promise<void>;
  deleteVolume(volumeId: string): Promise<void>;
  /** extend_volume; `attached` volumes are grown by the guest's QEMU (block_resize) when the backend can. */
  extendVolume(volumeId: string, newSizeGb: number, attached: boolean): Promise<void>;
  createSnapshot(snapshotId: string, volumeId: string): Promise<void>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  initializeConnection(volumeId: string, connector: VolumeConnector, accessMode: 'rw' | 'ro'): Promise<ConnectionInfo>;
  terminateConnection(volumeId: string, connector: VolumeConnector): Promise<void>;
  /** Ids of the volumes the backend holds (complete ones only). */
  listVolumes(): Promise<string[]>;
  /** The virtual size in GiB of a volume it holds, or null when it has none by that id. */
  volumeSizeGb(volumeId: string): Promise<number | null>;
  stats(): Promise<BackendStats>;
}

/** Volume and snapshot ids are UUIDs: anything else never reaches a path or a command. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkId(id: string, what = 'volume'): string {
  if (!UUID.test(id)) throw new Error(`invalid ${what} id ${JSON.stringify(id)}`);
  return id;
}
