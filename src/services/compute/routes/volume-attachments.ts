import type { FastifyInstance } from 'fastify';
import { isUuidLike } from '../../../core/ids.js';
import { callerFrom, notFound, type ComputeContext } from '../context.js';
import type { BlockDevice } from '../instances/block-devices.js';
import { checkActionAllowed, visibleInstance } from '../servers/access.js';
import type { ServerServices } from '../servers/services.js';
import { attachVolume, detachVolume } from '../servers/volumes.js';
import { attachVolume as attachVolumeBody } from '../schemas/server-resources.js';

type IdParams = { id: string };
type VolumeParams = IdParams & { volumeId: string };

/** Nova's volumeAttachment body before 2.70 (no tag) and 2.79 (no delete_on_termination). */
export function renderVolumeAttachment(device: BlockDevice): Record<string, unknown> {
  return { id: device.volumeId, serverId: device.instanceId, volumeId: device.volumeId, device: device.deviceName };
}

/** Only volumes the guest has (or is getting) are listed: a mapping still creating its volume is not one yet. */
export const listedDevices = (devices: BlockDevice[]) => devices.filter((d) => d.volumeId !== null);

/** /servers/{id}/os-volume_attachments: the volumes of a server. */
export function volumeAttachmentRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices): void {
  app.get<{ Params: IdParams }>('/servers/:id/os-volume_attachments', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-volumes-attachments:index');
    return { volumeAttachments: listedDevices(await svc.blockDevices.list(instance.id)).map(renderVolumeAttachment) };
  });

  app.get<{ Params: VolumeParams }>('/servers/:id/os-volume_attachments/:volumeId', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-volumes-attachments:show');
    const volumeId = request.params.volumeId;
    const device = isUuidLike(volumeId) ? await svc.blockDevices.byVolume(instance.id, volumeId.toLowerCase()) : undefined;
    if (!device) throw notFound(`Instance ${instance.id} is not attached to volume ${volumeId}.`);
    return { volumeAttachment: renderVolumeAttachment(device) };
  });

  // Nova answers the attach with 200 and the attachment (its device is where the guest gets it).
  type AttachBody = { volumeAttachment: { volumeId: string; device?: string | null } };
  app.post<{ Params: IdParams; Body: AttachBody }>('/servers/:id/os-volume_attachments', { schema: { body: attachVolumeBody } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-volumes-attachments:create');
    const { volumeId, device } = request.body.volumeAttachment;
    checkActionAllowed(instance, caller, 'other');
    const attached = await attachVolume(ctx, svc, caller, instance, volumeId.toLowerCase(), device ?? null);
    return { volumeAttachment: renderVolumeAttachment(attached) };
  });

  app.delete<{ Params: VolumeParams }>('/servers/:id/os-volume_attachments/:volumeId', async (request, reply) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-volumes-attachments:delete');
    const volumeId = request.params.volumeId;
    if (!isUuidLike(volumeId)) throw notFound(`Volume ${volumeId} is not attached to instance ${instance.id}.`);
    checkActionAllowed(instance, caller, 'other');
    await detachVolume(ctx, svc, caller, instance, volumeId.toLowerCase());
    reply.code(202).send();
  });
}
