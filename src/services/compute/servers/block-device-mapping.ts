import { isUuidLike } from '../../../core/ids.js';
import { VolumeClientError } from '../../../contracts/volume.js';
import { badRequest, type Caller, type ComputeContext } from '../context.js';
import type { BlockDevice } from '../instances/block-devices.js';
import type { Instance } from '../instances/model.js';
import { pyRepr } from '../schemas/messages.js';
import { toBoolean, toInteger } from '../validate.js';
import type { ServerServices } from './services.js';
import { volumeCaller, volumeError, volumeService } from './volumes.js';

/**
 * block_device_mapping_v2 at boot (nova/block_device.py and compute/api.py's checks): which
 * volumes an instance gets, and whether it boots from one. Destination `volume` only: the
 * flavor's own disks (destination `local`) are not mapped here, except the image itself as
 * the boot disk (source image, destination local, boot_index 0), which is what imageRef says.
 */

/** One block_device_mapping_v2 entry as its schema (schemas/servers.ts) lets it through. */
interface BdmEntry {
  source_type?: RequestedBlockDevice['sourceType'];
  destination_type?: 'local' | 'volume';
  uuid?: string;
  volume_id?: string;
  snapshot_id?: string;
  image_id?: string;
  boot_index?: number | string | null;
  delete_on_termination?: boolean | string;
  volume_size?: number | string | null;
  device_name?: string;
}
const invalidBdm = (reason: string) => badRequest(`Block Device Mapping is Invalid: ${reason}`);

export interface RequestedBlockDevice {
  sourceType: 'volume' | 'image' | 'snapshot' | 'blank';
  uuid: string | null;
  bootIndex: number | null;
  deleteOnTermination: boolean;
  volumeSize: number | null;
  deviceName: string | null;
}

/** The parsed mappings with destination volume, and whether the image is mapped as a local boot disk. */
export interface ParsedBlockDevices {
  volumes: RequestedBlockDevice[];
  /** The image to boot from as a local disk (source image, destination local, boot_index 0). */
  localImage: string | null;
}

function bootIndexOf(value: BdmEntry['boot_index']): number | null {
  if (value === undefined || value === null) return null;
  const n = toInteger(value);
  // A negative boot index means "not bootable", as Nova reads it.
  return n < 0 ? null : n;
}

/** Nova's schema and _validate_bdm shape checks; existence is checked by `checkBlockDevices`. */
export function parseBlockDevices(value: unknown, hasImageRef = false): ParsedBlockDevices {
  if (value === undefined) return { volumes: [], localImage: null };
  const out: ParsedBlockDevices = { volumes: [], localImage: null };
  (value as BdmEntry[]).forEach((e) => {
    const source = e.source_type ?? (e.volume_id ? 'volume' : e.snapshot_id ? 'snapshot' : e.image_id ? 'image' : undefined);
    if (source === undefined) throw invalidBdm('source_type is required');
    const destination = e.destination_type ?? (source === 'volume' || source === 'snapshot' ? 'volume' : 'local');
    const uuidValue = e.uuid ?? e.volume_id ?? e.snapshot_id ?? e.image_id ?? null;
    // The schema allows any id-like string in `uuid`; Kumo's volumes and images are UUIDs.
    if (uuidValue !== null && !isUuidLike(uuidValue)) throw invalidBdm(`uuid ${pyRepr(uuidValue)} is not a UUID`);
    const uuid = uuidValue === null ? null : uuidValue.toLowerCase();
    if (source !== 'blank' && uuid === null) throw invalidBdm(`missing uuid for source type ${source}`);
    if (source === 'blank' && uuid !== null) throw invalidBdm('a blank volume has no uuid');
    const bootIndex = bootIndexOf(e.boot_index);
    const deleteOnTermination = e.delete_on_termination !== undefined && toBoolean(e.delete_on_termination);
    const volumeSize = e.volume_size === undefined || e.volume_size === null ? null : toInteger(e.volume_size);
    const deviceName = e.device_name ?? null;
    if (destination === 'local') {
      if (source === 'image' && bootIndex === 0) {
        out.localImage = uuid;
        return;
      }
      throw invalidBdm(`source ${source} with destination local is not supported by this cloud (only volumes, or the image as the boot disk)`);
    }
    if ((source === 'image' || source === 'blank') && !volumeSize) throw invalidBdm(`Images with destination_type 'volume' need to have a non-zero size specified`);
    if (source === 'blank' && bootIndex === 0) throw invalidBdm('a blank volume cannot be the boot disk');
    out.volumes.push({ sourceType: source as RequestedBlockDevice['sourceType'], uuid, bootIndex, deleteOnTermination, volumeSize, deviceName });
  });
  // imageRef without a boot mapping of its own is the boot disk (boot index 0), as in Nova.
  const imageBoots = out.localImage !== null || (hasImageRef && !out.volumes.some((v) => v.bootIndex === 0));
  const indexes = [...out.volumes.map((v) => v.bootIndex), ...(imageBoots ? [0] : [])].filter((b): b is number => b !== null).sort((a, b) => a - b);
  if (indexes.some((b, i) => b !== i)) throw invalidBdm('Boot sequence for the instance and image/block device mapping combination is not valid.');
  const volumeIds = out.volumes.filter((v) => v.sourceType === 'volume').map((v) => v.uuid);
  if (new Set(volumeIds).size !== volumeIds.length) throw invalidBdm('a volume is mapped twice');
  return out;
}

/** The boot volume (boot_index 0, destination volume), when the server boots from one. */
export const bootVolumeOf = (parsed: ParsedBlockDevices) => parsed.volumes.find((v) => v.bootIndex === 0);

/**
 * Before anything is recorded: each volume exists, is the caller's and available (one
 * instance only), each image is active; the volume service says so with the caller's rights.
 */
export async function checkBlockDevices(ctx: ComputeContext, caller: Caller, parsed: ParsedBlockDevices, count: number): Promise<void> {
  if (parsed.volumes.length === 0) return;
  const volumes = volumeService(ctx);
  const who = volumeCaller(caller);
  for (const device of parsed.volumes) {
    if (device.sourceType === 'volume') {
      if (count > 1) throw badRequest('Cannot attach one or more volumes to multiple instances');
      const volume = await volumes.getVolume(who, device.uuid as string).catch((error: unknown) => {
        // Nova's InvalidBDMVolume: the volume is not found for this caller (another project's too).
        if (error instanceof VolumeClientError && error.status === 404) throw invalidBdm(`failed to get volume ${device.uuid}.`);
        throw volumeError(error, device.uuid as string);
      });
      if (volume.status !== 'available' && !(volume.multiattach && volume.status === 'in-use')) {
        throw badRequest(`Invalid volume: volume '${volume.id}' status must be 'available'. Currently in '${volume.status}'`);
      }
    } else if (device.sourceType === 'image') {
      const image = await ctx.images.get(caller.projectId, device.uuid as string, caller);
      if (!image || image.status !== 'active') throw invalidBdm(`failed to get image ${device.uuid}.`);
      const minGb = Math.max(image.minDisk, Math.ceil((image.size ?? 0) / 1024 ** 3));
      if ((device.volumeSize ?? 0) < minGb) throw invalidBdm(`Volume is smaller than the minimum size specified in image metadata. Volume size is ${device.volumeSize} GiB; minimum size is ${minGb} GiB.`);
    }
  }
}

/**
 * After the instances are recorded: the mappings, with the volumes a boot makes requested
 * from the volume service (quota and type are its to check) and existing volumes reserved.
 * On a refusal what was made is undone and the refusal is the answer.
 */
export async function recordBlockDevices(ctx: ComputeContext, svc: ServerServices, caller: Caller, instances: Instance[], parsed: ParsedBlockDevices): Promise<void> {
  if (parsed.volumes.length === 0) return;
  const volumes = volumeService(ctx);
  const who = volumeCaller(caller);
  const made: BlockDevice[] = [];
  try {
    for (const instance of instances) {
      let next = 1;
      for (const device of parsed.volumes) {
        const deviceName = device.bootIndex === 0 ? '/dev/vda' : `/dev/vd${String.fromCharCode(97 + next++ + (instance.configDrive ? 1 : 0))}`;
        let volumeId: string;
        let attachmentId: string | null = null;
        let status: BlockDevice['status'];
        if (device.sourceType === 'volume') {
          volumeId = device.uuid as string;
          attachmentId = (await volumes.attachmentCreate(who, { volumeId, instanceId: instance.id, mode: 'rw' })).id;
          status = 'attaching';
        } else {
          const created = await volumes.createVolume(who, {
            size: device.volumeSize ?? 0,
            name: `${instance.name}-${device.bootIndex === 0 ? 'root' : 'volume'}`,
            ...(device.sourceType === 'image' ? { imageId: device.uuid as string } : {}),
            ...(device.sourceType === 'snapshot' ? { snapshotId: device.uuid as string } : {}),
          });
          volumeId = created.id;
          status = 'creating';
        }
        const mapping = await svc.blockDevices.create(
          {
            instanceId: instance.id,
            volumeId,
            attachmentId,
            sourceType: device.sourceType,
            bootIndex: device.bootIndex,
            deleteOnTermination: device.deleteOnTermination,
            volumeSize: device.volumeSize,
            deviceName,
            ...(device.sourceType === 'image' ? { imageId: device.uuid as string } : {}),
            ...(device.sourceType === 'snapshot' ? { snapshotId: device.uuid as string } : {}),
            status,
          },
          (error) => ctx.database.isUniqueViolation(error),
        );
        if (mapping) made.push(mapping);
      }
    }
  } catch (error) {
    for (const mapping of made) {
      if (mapping.attachmentId) await volumes.attachmentDelete(who, mapping.attachmentId).catch(() => undefined);
      else if (mapping.volumeId) await volumes.deleteVolume(who, mapping.volumeId).catch(() => undefined);
      await svc.blockDevices.remove(mapping.id);
    }
    if (error instanceof VolumeClientError && error.status === 404) throw invalidBdm(error.message);
    throw volumeError(error, parsed.volumes[0]?.uuid ?? '');
  }
}
