import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerFrom } from '../context.js';
import { requireVersion } from '../microversion.js';
import { cinderTime, volumeLinks } from '../render.js';
import type { VolumeService } from '../service.js';
import type { TransferRow } from '../tables.js';
import { q, truthy } from './listing.js';

type IdParams = { id: string };

const createSchema = {
  body: {
    type: 'object',
    required: ['transfer'],
    properties: {
      transfer: {
        type: 'object',
        required: ['volume_id'],
        properties: {
          volume_id: { type: 'string', maxLength: 36 },
          name: { type: ['string', 'null'], maxLength: 255 },
          no_snapshots: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const acceptSchema = {
  body: {
    type: 'object',
    required: ['accept'],
    properties: { accept: { type: 'object', required: ['auth_key'], properties: { auth_key: { type: 'string', minLength: 1, maxLength: 255 } } } },
  },
} as const;

/**
 * Cinder's transfers under both of its paths: os-volume-transfer (the extension, every
 * microversion) and volume-transfers (3.55 on, which adds no_snapshots; 3.57 adds who gave and
 * took, always "not yet" here since a transfer row lives only until it is accepted).
 */
export function transferRoutes(app: FastifyInstance, svc: VolumeService, base: () => string): void {
  const { transfers } = svc;
  const summary = (row: TransferRow, kind: string) => ({ id: row.id, name: row.name, volume_id: row.volume_id, links: volumeLinks(base(), row.project_id, row.id, kind) });
  const detail = (request: FastifyRequest, row: TransferRow, kind: string) => ({
    ...summary(row, kind),
    created_at: cinderTime(row.created_at),
    ...(request.volumeVersion.atLeast('3.55') ? { no_snapshots: row.no_snapshots === 1 } : {}),
    ...(request.volumeVersion.atLeast('3.57') ? { destination_project_id: null, source_project_id: row.project_id, accepted: false } : {}),
  });

  for (const kind of ['os-volume-transfer', 'volume-transfers']) {
    const gate = (request: FastifyRequest) => {
      if (kind === 'volume-transfers') requireVersion(request, '3.55');
    };
    const list = async (request: FastifyRequest, detailed: boolean) => {
      gate(request);
      const rows = await transfers.list(callerFrom(request), truthy(q(request.query, 'all_tenants')));
      return { transfers: rows.map((row) => (detailed ? detail(request, row, kind) : summary(row, kind))) };
    };
    app.get(`/${kind}`, async (request) => list(request, false));
    app.get(`/${kind}/detail`, async (request) => list(request, true));
    app.get<{ Params: IdParams }>(`/${kind}/:id`, async (request) => {
      gate(request);
      return { transfer: detail(request, await transfers.find(callerFrom(request), request.params.id), kind) };
    });
    app.post<{ Body: { transfer: { volume_id: string; name?: string | null; no_snapshots?: boolean } } }>(`/${kind}`, { schema: createSchema }, async (request, reply) => {
      gate(request);
      const body = request.body.transfer;
      const noSnapshots = request.volumeVersion.atLeast('3.55') && body.no_snapshots === true;
      const { row, authKey } = await transfers.create(callerFrom(request), body.volume_id, body.name ?? null, noSnapshots);
      reply.code(202);
      return { transfer: { ...detail(request, row, kind), auth_key: authKey } };
    });
    app.post<{ Params: IdParams; Body: { accept: { auth_key: string } } }>(`/${kind}/:id/accept`, { schema: acceptSchema }, async (request, reply) => {
      gate(request);
      const row = await transfers.accept(callerFrom(request), request.params.id, request.body.accept.auth_key);
      reply.code(202);
      return { transfer: summary(row, kind) };
    });
    app.delete<{ Params: IdParams }>(`/${kind}/:id`, async (request, reply) => {
      gate(request);
      await transfers.delete(callerFrom(request), request.params.id);
      reply.code(202);
      return null;
    });
  }
}
