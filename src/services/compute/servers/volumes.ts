import { randomUUID } from 'node:crypto';
import { COMPUTE_TOPIC, ComputeMethods, type AttachVolumeArgs, type DetachVolumeArgs, type ExtendVolumeArgs } from '../../../contracts/compute.js';
import { VolumeClientError, type VolumeCaller, type VolumeClient, type VolumeConnector } from '../../../contracts/volume.js';
import { ApiError } from '../../../core/http/errors.js';
import { badRequest, conflict, forbidden, notFound, type Caller, type ComputeContext } from '../context.js';
import { nextDeviceName, type BlockDevice } from '../instances/block-devices.js';
import type { Instance } from '../instances/model.js';
import type { ServerServices } from './services.js';

/**
 * Nova's side of volumes (nova/compute/api.py attach/detach and nova/virt/block_device.py):
 * the attachment workflow against the volume service, in Nova's order, with the compute
 * host doing the hot-plug. Attach: attachment create (reserves the volume) -> update with
 * the host's connector (the volume service answers with connection info) -> the agent plugs
 * it in -> attachment complete (the volume is in-use). Detach is the reverse.
 */

/** How long the API waits for a host to plug a volume in (device_add returns at once). */
const ATTACH_CALL_TIMEOUT_MS = 60_000;
/** A detach waits for the guest to let go: Nova's 8 tries at 20 s; ours asks 3 times. */
const DETACH_CALL_TIMEOUT_MS = 90_000;
/** Nova's check_instance_state for attach/detach (minus shelving, which Kumo has not). */
const VOLUME_STATES = new Set(['active', 'paused', 'stopped', 'resized']);

export function volumeService(ctx: ComputeContext): VolumeClient {
  if (!ctx.volumes) throw badRequest('Block Storage is not available in this cloud.');
  return ctx.volumes;
}

/** The caller as the volume service checks it: Nova passes the user's token on to Cinder. */
export function volumeCaller(caller: Caller): VolumeCaller {
  return { userId: caller.userId, projectId: caller.projectId, roles: [...caller.credentials.roles], isAdmin: caller.isAdmin, ...(caller.token ? { token: caller.token } : {}) };
}

/**
 * What compute does on the volume service for an instance when no user is in the request
 * (a boot's later steps, a delete finishing on the host): the instance's project, as Nova's
 * compute does with the request context it kept (the user's roles were checked at the API).
 */
export function instanceVolumeCaller(instance: Instance): VolumeCaller {
  return { userId: instance.userId, projectId: instance.projectId, roles: ['admin', 'member', 'reader'], isAdmin: true };
}

/** Cinder's answers as Nova turns them into its own (nova/volume/cinder.py translate_*). */
export function volumeError(error: unknown, volumeId: string): unknown {
  if (!(error instanceof VolumeClientError)) return error;
  if (error.status === 404) return notFound(`Volume ${volumeId} could not be found.`);
  if (error.status === 403) return forbidden(error.message);
  if (error.status === 413) return forbidden(`Quota exceeded: ${error.message}`);
  if (error.status === 400 || error.status === 409) return badRequest(`Invalid volume: ${error.message}`);
  return error;
}

/** The compute host as an attacher (os-brick's connector properties). */
export async function connectorOf(svc: ServerServices, instance: Instance): Promise<VolumeConnector> {
  const host = instance.host as string;
  const row = await svc.hosts.get(host);
  return { host, ...(row?.host_ip ? { ip: row.host_ip } : {}), platform: 'x86_64', os_type: 'linux', multipath: false, instance: instance.id };
}

function checkVolumeState(instance: Instance, action: 'attach_volume' | 'detach_volume'): void {
  if (!VOLUME_STATES.has(instance.vmState) || !instance.host) {
    throw conflict(`Cannot '${action}' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
  }
  if (instance.taskState !== null) throw conflict(`Cannot '${action}' instance ${instance.id} while it is in task_state ${instance.taskState}`);
}

const DEVICE = /^(\/dev\/x?[a-z]?d?)([a-z]+)[0-9]*$/;

/**
 * POST /servers/{id}/os-volume_attachments: everything a user can get wrong is checked
 * before the volume is reserved; then the host plugs it in, and the mapping is `attached`.
 * A host that fails undoes the reservation, and the action's event says why.
 */
export async function attachVolume(ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance, volumeId: string, device: string | null): Promise<BlockDevice> {
  const volumes = volumeService(ctx);
  if (device !== null && !DEVICE.test(device)) throw badRequest(`The supplied device path (${device}) is invalid.`);
  checkVolumeState(instance, 'attach_volume');
  const who = volumeCaller(caller);
  const volume = await volumes.getVolume(who, volumeId).catch((error: unknown) => {
    throw volumeError(error, volumeId);
  });
  if (await svc.blockDevices.byVolume(instance.id, volume.id)) throw badRequest(`Invalid volume: volume ${volume.id} already attached`);
  if (volume.status !== 'available' && !(volume.multiattach && volume.status === 'in-use')) {
    throw badRequest(`Invalid volume: volume '${volume.id}' status must be 'available'. Currently in '${volume.status}'`);
  }
  const taken = (await svc.blockDevices.list(instance.id)).map((d) => d.deviceName);
  // vda is the root disk; a config drive is the next virtio disk.
  const reserved = ['/dev/vda', ...(instance.configDrive ? ['/dev/vdb'] : [])];
  const mapping = await svc.blockDevices.create(
    { instanceId: instance.id, volumeId: volume.id, sourceType: 'volume', bootIndex: null, deleteOnTermination: false, deviceName: nextDeviceName([...reserved, ...taken]), status: 'attaching' },
    (error) => ctx.database.isUniqueViolation(error),
  );
  if (!mapping) throw badRequest(`Invalid volume: volume ${volume.id} already attached`);
  await svc.actions.start(instance.id, 'attach_volume', caller);
  const finish = await svc.actions.event(instance.id, 'compute_attach_volume', instance.host);
  let attachmentId: string | undefined;
  try {
    const attachment = await volumes.attachmentCreate(who, { volumeId: volume.id, instanceId: instance.id, mode: 'rw' });
    attachmentId = attachment.id;
    await svc.blockDevices.update(mapping.id, { attachment_id: attachment.id });
    const updated = await volumes.attachmentUpdate(who, attachment.id, await connectorOf(svc, instance));
    if (!updated.connection_info) throw new Error(`the volume service gave no connection info for volume ${volume.id}`);
    const args: AttachVolumeArgs = { instanceId: instance.id, volume: { volumeId: volume.id, connectionInfo: updated.connection_info } };
    await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host as string }, ComputeMethods.attachVolume, args, { timeoutMs: ATTACH_CALL_TIMEOUT_MS });
    await volumes.attachmentComplete(who, attachment.id);
    await svc.blockDevices.update(mapping.id, { status: 'attached', connection_info: JSON.stringify(updated.connection_info) });
    await finish();
  } catch (error) {
    await finish(error);
    if (attachmentId) await volumes.attachmentDelete(who, attachmentId).catch((err: unknown) => ctx.log.warn({ err, volumeId }, 'could not undo a volume reservation'));
    await svc.blockDevices.remove(mapping.id);
    const mapped = volumeError(error, volume.id);
    if (mapped instanceof ApiError) throw mapped;
    ctx.log.error({ err: error, instanceId: instance.id, volumeId: volume.id }, 'volume attach failed');
    throw new ApiError(500, `Failed to attach volume ${volume.id} to instance ${instance.id}: ${(error as Error).message}`);
  }
  return { ...mapping, status: 'attached' };
}

/**
 * DELETE /servers/{id}/os-volume_attachments/{volume}: 202 once the mapping is `detaching`;
 * the guest is asked to let go in the background (it may take seconds), then the attachment
 * goes and the volume is available. A guest that does not let go keeps the volume, attached.
 */
export async function detachVolume(ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance, volumeId: string): Promise<void> {
  const volumes = volumeService(ctx);
  const mapping = await svc.blockDevices.byVolume(instance.id, volumeId);
  if (!mapping) throw notFound(`Volume ${volumeId} is not attached to instance ${instance.id}.`);
  if (mapping.bootIndex === 0) throw badRequest(`Can't detach root device volume`);
  checkVolumeState(instance, 'detach_volume');
  if (!(await svc.blockDevices.update(mapping.id, { status: 'detaching' }, ['attached']))) {
    throw badRequest(`Invalid volume: Unable to detach the volume ${volumeId}: it is ${mapping.status}`);
  }
  await svc.actions.start(instance.id, 'detach_volume', caller);
  const who = volumeCaller(caller);
  void (async () => {
    const finish = await svc.actions.event(instance.id, 'compute_detach_volume', instance.host);
    try {
      const args: DetachVolumeArgs = { instanceId: instance.id, volumeId };
      await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host as string }, ComputeMethods.detachVolume, args, { timeoutMs: DETACH_CALL_TIMEOUT_MS });
      if (mapping.attachmentId) await volumes.attachmentDelete(who, mapping.attachmentId);
      await svc.blockDevices.remove(mapping.id);
      await finish();
    } catch (error) {
      // Nova's roll_detaching: the volume stays attached and in-use.
      ctx.log.warn({ err: error, instanceId: instance.id, volumeId }, 'volume detach failed');
      await svc.blockDevices.update(mapping.id, { status: 'attached' }, ['detaching']);
      await finish(error);
    }
  })().catch((err: unknown) => ctx.log.error({ err, volumeId }, 'volume detach failed'));
}

/**
 * After an instance is gone from its host (or was never on one): its attachments are deleted
 * and the volumes it was to take with it are deleted (delete_on_termination), as Nova's
 * _cleanup_volumes. Repeatable: what is already gone is skipped.
 */
export async function releaseVolumes(ctx: ComputeContext, svc: ServerServices, instance: Instance): Promise<void> {
  const devices = await svc.blockDevices.list(instance.id);
  if (devices.length === 0 || !ctx.volumes) return;
  const who = instanceVolumeCaller(instance);
  for (const device of devices) {
    try {
      if (device.attachmentId) await ctx.volumes.attachmentDelete(who, device.attachmentId).catch(ignoreNotFound);
      if (device.deleteOnTermination && device.volumeId) await deleteWhenDetached(ctx.volumes, who, device.volumeId);
      await svc.blockDevices.remove(device.id);
    } catch (err) {
      ctx.log.warn({ err, instanceId: instance.id, volumeId: device.volumeId }, 'could not release a volume of a deleted instance');
    }
  }
}

const ignoreNotFound = (error: unknown) => {
  if (!(error instanceof VolumeClientError && error.status === 404)) throw error;
};

/** The attachment's deletion makes the volume available a moment later; then it can go. */
async function deleteWhenDetached(volumes: VolumeClient, who: VolumeCaller, volumeId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const volume = await volumes.getVolume(who, volumeId).catch((error: unknown) => {
      if (error instanceof VolumeClientError && error.status === 404) return undefined;
      throw error;
    });
    if (!volume || volume.status === 'deleting') return;
    if (volume.status === 'available' || volume.status === 'error' || Date.now() > deadline) {
      await volumes.deleteVolume(who, volumeId).catch(ignoreNotFound);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * A delete handed to the host: once the host has marked the instance deleted, its volumes
 * are released. In the background of the delete request (the host takes its time); what a
 * restart interrupts, `releaseVolumesOfDeletedInstances` finishes.
 */
export function releaseVolumesAfterDelete(ctx: ComputeContext, svc: ServerServices, instance: Instance, timeoutMs = 300_000): void {
  void (async () => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await svc.instances.get(instance.id);
      if (!now || now.deleted) break;
      // The host failed the delete (ERROR): the guest may still hold the volumes.
      if (now.taskState !== 'deleting' || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await releaseVolumes(ctx, svc, instance);
  })().catch((err: unknown) => ctx.log.warn({ err, instanceId: instance.id }, 'could not release the volumes of a deleted instance'));
}

/** Volumes still mapped to deleted instances (a restart came between the delete and the release). */
export async function releaseVolumesOfDeletedInstances(ctx: ComputeContext, svc: ServerServices): Promise<void> {
  if (!ctx.volumes) return;
  for (const id of await svc.blockDevices.deletedInstancesWithMappings()) {
    const instance = await svc.instances.get(id);
    if (instance) await releaseVolumes(ctx, svc, instance);
  }
}

const GIB = 1024 ** 3;

/**
 * Nova's volume-extended external event: an attached volume grew in the volume service, so
 * each instance that has it is told, and its host grows the disk the guest sees (QEMU's
 * block_resize), recorded as an `extend_volume` instance action.
 */
export async function volumeExtended(ctx: ComputeContext, svc: ServerServices, volumeId: string, instanceIds: string[], newSizeGb: number): Promise<void> {
  for (const instanceId of instanceIds) {
    const instance = await svc.instances.get(instanceId);
    if (!instance || instance.deleted || !instance.host) continue;
    if (!(await svc.blockDevices.byVolume(instance.id, volumeId))) continue;
    await svc.actions.start(instance.id, 'extend_volume', { projectId: instance.projectId, userId: instance.userId, requestId: `req-${randomUUID()}` });
    const finish = await svc.actions.event(instance.id, 'compute_extend_volume', instance.host);
    try {
      const args: ExtendVolumeArgs = { instanceId: instance.id, volumeId, newSizeBytes: newSizeGb * GIB };
      await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.extendVolume, args, { timeoutMs: ATTACH_CALL_TIMEOUT_MS });
      await finish();
    } catch (error) {
      ctx.log.warn({ err: error, instanceId, volumeId }, 'the guest could not be told that its volume grew');
      await finish(error);
    }
  }
}

/**
 * After a restart of the API: a detach whose background step was cut off leaves its mapping
 * `detaching`; it goes back to `attached` (Nova's roll_detaching), so the user may detach again.
 * An attach cut off (its mapping `attaching`, the instance not building) is undone: the host
 * lets go of it if it had plugged it in, and the reservation is deleted.
 */
export async function recoverVolumeMappings(ctx: ComputeContext, svc: ServerServices): Promise<void> {
  for (const row of await svc.blockDevices.inFlight()) {
    if (row.status === 'detaching') {
      await svc.blockDevices.update(row.id, { status: 'attached' }, ['detaching']);
      continue;
    }
    if (row.vmState === 'building') continue;
    const instance = await svc.instances.get(row.instanceId);
    const mapping = await svc.blockDevices.get(row.id);
    if (!instance || !mapping) continue;
    try {
      if (instance.host && mapping.volumeId) {
        const args: DetachVolumeArgs = { instanceId: instance.id, volumeId: mapping.volumeId };
        await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.detachVolume, args, { timeoutMs: DETACH_CALL_TIMEOUT_MS });
      }
      if (mapping.attachmentId && ctx.volumes) await ctx.volumes.attachmentDelete(instanceVolumeCaller(instance), mapping.attachmentId).catch(ignoreNotFound);
      await svc.blockDevices.remove(mapping.id);
    } catch (err) {
      ctx.log.warn({ err, instanceId: instance.id, volumeId: mapping.volumeId }, 'could not undo an interrupted volume attach');
    }
  }
}
