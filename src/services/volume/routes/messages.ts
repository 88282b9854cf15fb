import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerFrom } from '../context.js';
import { eventId, userMessage } from '../messages.js';
import { requireVersion } from '../microversion.js';
import { cinderTime, volumeLinks } from '../render.js';
import type { VolumeService } from '../service.js';
import type { MessageRow } from '../tables.js';
import { q, truthy } from './listing.js';

type IdParams = { id: string };

/** Cinder's user messages (3.3 on; filtering by resource from 3.5, which Horizon asks for). */
export function messageRoutes(app: FastifyInstance, svc: VolumeService, base: () => string): void {
  const { messages } = svc;
  const render = (row: MessageRow) => ({
    id: row.id,
    action_id: row.action_id,
    detail_id: row.detail_id,
    event_id: eventId(row),
    message_level: row.message_level,
    resource_type: row.resource_type,
    resource_uuid: row.resource_uuid,
    user_message: userMessage(row),
    request_id: row.request_id,
    created_at: cinderTime(row.created_at),
    guaranteed_until: cinderTime(row.expires_at),
    links: volumeLinks(base(), row.project_id, row.id, 'messages'),
  });

  app.get('/messages', async (request: FastifyRequest) => {
    requireVersion(request, '3.3');
    const filtering = request.volumeVersion.atLeast('3.5');
    const rows = await messages.list(callerFrom(request), {
      allTenants: truthy(q(request.query, 'all_tenants')),
      resourceType: filtering ? q(request.query, 'resource_type') : undefined,
      resourceUuid: filtering ? q(request.query, 'resource_uuid') : undefined,
    });
    return { messages: rows.map(render) };
  });
  app.get<{ Params: IdParams }>('/messages/:id', async (request) => {
    requireVersion(request, '3.3');
    return { message: render(await messages.find(callerFrom(request), request.params.id)) };
  });
  app.delete<{ Params: IdParams }>('/messages/:id', async (request, reply) => {
    requireVersion(request, '3.3');
    await messages.delete(callerFrom(request), request.params.id);
    reply.code(204);
    return null;
  });
}
