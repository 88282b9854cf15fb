import type { FastifyInstance } from 'fastify';
import type { VolumeConnector } from '../../../contracts/volume.js';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom } from '../context.js';
import { requireVersion } from '../microversion.js';
import { renderAttachment } from '../render.js';
import type { VolumeService } from '../service.js';
import { q, sortAndPage, truthy } from './listing.js';

type IdParams = { id: string };
const SORT_KEYS = ['id', 'created_at', 'status', 'volume_id'] as const;

const createSchema = {
  body: {
    type: 'object',
    required: ['attachment'],
    properties: {
      attachment: {
        type: 'object',
        required: ['volume_uuid'],
        properties: {
          volume_uuid: { type: 'string', maxLength: 36 },
          instance_uuid: { type: ['string', 'null'], maxLength: 36 },
          connector: { type: ['object', 'null'] },
          mode: { type: 'string', enum: ['rw', 'ro'] },
        },
      },
    },
  },
} as const;

/** Cinder's attachments API (3.27+; complete from 3.44). */
export function attachmentRoutes(app: FastifyInstance, svc: VolumeService): void {
  const { attachments } = svc;
  const list = async (request: import('fastify').FastifyRequest, detailed: boolean) => {
    requireVersion(request, '3.27');
    const caller = callerFrom(request);
    let rows = await attachments.list(caller, truthy(q(request.query, 'all_tenants')));
    const volumeId = q(request.query, 'volume_id');
    const instanceId = q(request.query, 'instance_id');
    const status = q(request.query, 'status');
    rows = rows.filter((r) => (volumeId === undefined || r.volume_id === volumeId) && (instanceId === undefined || r.instance_uuid === instanceId) && (status === undefined || r.attach_status === status));
    const page = sortAndPage(rows.map((r) => ({ ...r, status: r.attach_status })), request.query, SORT_KEYS);
    return {
      attachments: page.rows.map((r) => {
        const full = renderAttachment(r, caller.isAdmin);
        return detailed ? full : { id: full.id, volume_id: full.volume_id, instance: full.instance, status: full.status };
      }),
    };
  };
  app.get('/attachments', async (request) => list(request, false));
  app.get('/attachments/detail', async (request) => list(request, true));
  app.get<{ Params: IdParams }>('/attachments/:id', async (request) => {
    requireVersion(request, '3.27');
    const caller = callerFrom(request);
    return { attachment: renderAttachment(await attachments.find(caller, request.params.id), caller.isAdmin) };
  });
  app.post<{ Body: { attachment: { volume_uuid: string; instance_uuid?: string | null; connector?: VolumeConnector | null; mode?: string } } }>(
    '/attachments',
    { schema: createSchema },
    async (request) => {
      requireVersion(request, '3.27');
      const a = request.body.attachment;
      if (a.mode !== undefined && !request.volumeVersion.atLeast('3.54')) throw new ApiError(400, 'Invalid input received: mode needs microversion 3.54.');
      const caller = callerFrom(request);
      const row = await attachments.create(caller, {
        volumeId: a.volume_uuid,
        instanceId: a.instance_uuid ?? null,
        ...(a.connector ? { connector: a.connector } : {}),
        ...(a.mode ? { mode: a.mode } : {}),
      });
      return { attachment: renderAttachment(row, caller.isAdmin) };
    },
  );
  app.put<{ Params: IdParams; Body: { attachment: { connector: VolumeConnector } } }>(
    '/attachments/:id',
    { schema: { body: { type: 'object', required: ['attachment'], properties: { attachment: { type: 'object', required: ['connector'], properties: { connector: { type: 'object' } } } } } } },
    async (request) => {
      requireVersion(request, '3.27');
      const caller = callerFrom(request);
      return { attachment: renderAttachment(await attachments.update(caller, request.params.id, request.body.attachment.connector), caller.isAdmin) };
    },
  );
  app.post<{ Params: IdParams; Body: Record<string, unknown> }>('/attachments/:id/action', { schema: { body: { type: 'object', minProperties: 1 } } }, async (request, reply) => {
    requireVersion(request, '3.44');
    if (!('os-complete' in request.body)) throw new ApiError(400, `There is no such action: ${Object.keys(request.body)[0]}`);
    await attachments.complete(callerFrom(request), request.params.id);
    reply.code(204);
    return null;
  });
  app.delete<{ Params: IdParams }>('/attachments/:id', async (request) => {
    requireVersion(request, '3.27');
    await attachments.delete(callerFrom(request), request.params.id);
    return { attachments: [] };
  });
}
