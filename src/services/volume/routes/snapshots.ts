import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom } from '../context.js';
import { renderSnapshot } from '../render.js';
import type { VolumeService } from '../service.js';
import { checkMetadata, nextLink, q, sortAndPage, truthy } from './listing.js';

type IdParams = { id: string };
type KeyParams = { id: string; key: string };
const SORT_KEYS = ['id', 'name', 'status', 'size', 'created_at', 'updated_at', 'volume_id', 'project_id'] as const;

const createSchema = {
  body: {
    type: 'object',
    required: ['snapshot'],
    properties: {
      snapshot: {
        type: 'object',
        required: ['volume_id'],
        properties: {
          // Cinder's uuid_allow_null: a null volume is looked up, and not found (404).
          volume_id: { type: ['string', 'null'], maxLength: 36 },
          name: { type: ['string', 'null'], maxLength: 255 },
          display_name: { type: ['string', 'null'], maxLength: 255 },
          description: { type: ['string', 'null'], maxLength: 255 },
          display_description: { type: ['string', 'null'], maxLength: 255 },
          force: {},
          metadata: { type: ['object', 'null'] },
        },
      },
    },
  },
} as const;

export function snapshotRoutes(app: FastifyInstance, svc: VolumeService): void {
  const { volumes } = svc;
  const list = async (request: import('fastify').FastifyRequest, detailed: boolean) => {
    const caller = callerFrom(request);
    let rows = await volumes.listSnapshots(caller, truthy(q(request.query, 'all_tenants')));
    const name = q(request.query, 'name');
    const status = q(request.query, 'status');
    const volumeId = q(request.query, 'volume_id');
    rows = rows.filter((r) => (name === undefined || r.name === name) && (status === undefined || r.status === status) && (volumeId === undefined || r.volume_id === volumeId));
    const page = sortAndPage(rows, request.query, SORT_KEYS);
    return {
      ...(page.next ? { snapshots_links: [{ rel: 'next', href: nextLink(svc.ctx.config.publicUrl, request.url, request.query, page.next) }] } : {}),
      snapshots: page.rows.map((r) => {
        const full = renderSnapshot(r, request.volumeVersion, caller.isAdmin);
        return detailed ? full : { id: full.id, name: full.name, volume_id: full.volume_id, status: full.status, size: full.size, created_at: full.created_at, description: full.description, metadata: full.metadata, updated_at: full.updated_at };
      }),
    };
  };
  app.get('/snapshots', async (request) => list(request, false));
  app.get('/snapshots/detail', async (request) => list(request, true));

  app.post<{ Body: { snapshot: Record<string, unknown> } }>('/snapshots', { schema: createSchema }, async (request, reply) => {
    const caller = callerFrom(request);
    const s = request.body.snapshot;
    const row = await volumes.createSnapshot(caller, {
      volume_id: String(s.volume_id ?? 'None'),
      name: (s.name ?? s.display_name ?? null) as string | null,
      description: (s.description ?? s.display_description ?? null) as string | null,
      ...(s.force !== undefined && s.force !== null ? { force: s.force as boolean | string } : {}),
      ...(s.metadata ? { metadata: checkMetadata(s.metadata) } : {}),
    });
    reply.code(202);
    return { snapshot: renderSnapshot(row, request.volumeVersion, caller.isAdmin, false) };
  });

  app.get<{ Params: IdParams }>('/snapshots/:id', async (request) => {
    const caller = callerFrom(request);
    return { snapshot: renderSnapshot(await volumes.findSnapshot(caller, request.params.id), request.volumeVersion, caller.isAdmin) };
  });

  app.put<{ Params: IdParams; Body: { snapshot: Record<string, string | null> } }>(
    '/snapshots/:id',
    { schema: { body: { type: 'object', required: ['snapshot'], properties: { snapshot: { type: 'object', minProperties: 1 } } } } },
    async (request) => {
      const caller = callerFrom(request);
      return { snapshot: renderSnapshot(await volumes.updateSnapshot(caller, request.params.id, request.body.snapshot), request.volumeVersion, caller.isAdmin, false) };
    },
  );

  app.delete<{ Params: IdParams }>('/snapshots/:id', async (request, reply) => {
    await volumes.deleteSnapshot(callerFrom(request), request.params.id);
    reply.code(202);
    return null;
  });

  app.post<{ Params: IdParams; Body: Record<string, unknown> }>('/snapshots/:id/action', { schema: { body: { type: 'object', minProperties: 1 } } }, async (request, reply) => {
    const caller = callerFrom(request);
    const [action, raw] = Object.entries(request.body)[0] as [string, unknown];
    reply.code(202);
    if (action === 'os-reset_status') {
      const status = (raw as { status?: unknown } | null)?.status;
      if (typeof status !== 'string') throw new ApiError(400, 'Invalid input received: Must specify a status.');
      await volumes.resetSnapshotStatus(caller, request.params.id, status);
      return null;
    }
    if (action === 'os-force_delete') {
      await volumes.deleteSnapshot(caller, request.params.id, true);
      return null;
    }
    throw new ApiError(400, `There is no such action: ${action}`);
  });

  app.get<{ Params: IdParams }>('/snapshots/:id/metadata', async (request) => ({
    metadata: JSON.parse((await volumes.findSnapshot(callerFrom(request), request.params.id, 'volume:get_snapshot_metadata')).metadata) as Record<string, string>,
  }));
  const metadataSchema = { body: { type: 'object', required: ['metadata'], properties: { metadata: { type: 'object' } } } } as const;
  app.post<{ Params: IdParams; Body: { metadata: unknown } }>('/snapshots/:id/metadata', { schema: metadataSchema }, async (request) => ({
    metadata: await volumes.setSnapshotMetadata(callerFrom(request), request.params.id, checkMetadata(request.body.metadata), false),
  }));
  app.put<{ Params: IdParams; Body: { metadata: unknown } }>('/snapshots/:id/metadata', { schema: metadataSchema }, async (request) => ({
    metadata: await volumes.setSnapshotMetadata(callerFrom(request), request.params.id, checkMetadata(request.body.metadata), true),
  }));
  app.get<{ Params: KeyParams }>('/snapshots/:id/metadata/:key', async (request) => {
    const metadata = JSON.parse((await volumes.findSnapshot(callerFrom(request), request.params.id, 'volume:get_snapshot_metadata')).metadata) as Record<string, string>;
    if (!(request.params.key in metadata)) throw new ApiError(404, `Snapshot ${request.params.id} has no metadata with key ${request.params.key}.`);
    return { meta: { [request.params.key]: metadata[request.params.key] } };
  });
  app.put<{ Params: KeyParams; Body: { meta: unknown } }>('/snapshots/:id/metadata/:key', async (request) => {
    const meta = checkMetadata(request.body?.meta, 'meta');
    if (!(request.params.key in meta) || Object.keys(meta).length !== 1) throw new ApiError(400, 'Invalid input received: Request body and URI mismatch.');
    await volumes.setSnapshotMetadata(callerFrom(request), request.params.id, meta, false);
    return { meta };
  });
  app.delete<{ Params: KeyParams }>('/snapshots/:id/metadata/:key', async (request) => {
    await volumes.setSnapshotMetadata(callerFrom(request), request.params.id, {}, false, request.params.key);
    return null;
  });
}
