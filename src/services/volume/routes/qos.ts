import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom } from '../context.js';
import { qosSpecsOf } from '../qos.js';
import { volumeLinks } from '../render.js';
import type { VolumeService } from '../service.js';
import type { QosSpecsRow } from '../tables.js';
import { q, truthy } from './listing.js';

type IdParams = { id: string };

const bodyOf = (body: unknown): Record<string, unknown> => {
  const specs = (body as { qos_specs?: unknown } | null)?.qos_specs;
  if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) throw new ApiError(400, 'Missing required element qos_specs in request body.');
  return specs as Record<string, unknown>;
};

/** Cinder's qos-specs (admin only): the specs, their keys, and their associations with volume types. */
export function qosRoutes(app: FastifyInstance, svc: VolumeService, base: () => string): void {
  const { qos } = svc;
  const render = (row: QosSpecsRow) => ({ id: row.id, name: row.name, consumer: row.consumer, specs: qosSpecsOf(row) });
  const shown = (row: QosSpecsRow, projectId: string) => ({ qos_specs: render(row), links: volumeLinks(base(), projectId, row.id, 'qos-specs') });

  app.get('/qos-specs', async (request) => ({ qos_specs: (await qos.list(callerFrom(request))).map(render) }));
  app.post('/qos-specs', async (request) => {
    const caller = callerFrom(request);
    return shown(await qos.create(caller, bodyOf(request.body)), caller.projectId);
  });
  app.get<{ Params: IdParams }>('/qos-specs/:id', async (request) => {
    const caller = callerFrom(request);
    return shown(await qos.find(caller, request.params.id), caller.projectId);
  });
  app.put<{ Params: IdParams }>('/qos-specs/:id', async (request) => ({ qos_specs: await qos.update(callerFrom(request), request.params.id, bodyOf(request.body)) }));
  app.delete<{ Params: IdParams }>('/qos-specs/:id', async (request, reply) => {
    await qos.delete(callerFrom(request), request.params.id, truthy(q(request.query, 'force')));
    reply.code(202);
    return null;
  });
  app.put<{ Params: IdParams; Body: { keys?: unknown } }>('/qos-specs/:id/delete_keys', async (request, reply) => {
    const keys = request.body?.keys;
    if (!Array.isArray(keys) || !keys.every((key): key is string => typeof key === 'string')) throw new ApiError(400, 'Missing required element keys in request body.');
    await qos.deleteKeys(callerFrom(request), request.params.id, keys);
    reply.code(202);
    return null;
  });
  app.get<{ Params: IdParams }>('/qos-specs/:id/associations', async (request) => ({ qos_associations: await qos.associations(callerFrom(request), request.params.id) }));
  // Cinder changes associations with GETs (its API since the start); the answer is an empty 202.
  app.get<{ Params: IdParams }>('/qos-specs/:id/associate', async (request, reply) => {
    await qos.associate(callerFrom(request), request.params.id, q(request.query, 'vol_type_id'));
    reply.code(202);
    return null;
  });
  app.get<{ Params: IdParams }>('/qos-specs/:id/disassociate', async (request, reply) => {
    await qos.disassociate(callerFrom(request), request.params.id, q(request.query, 'vol_type_id'));
    reply.code(202);
    return null;
  });
  app.get<{ Params: IdParams }>('/qos-specs/:id/disassociate_all', async (request, reply) => {
    await qos.disassociateAll(callerFrom(request), request.params.id);
    reply.code(202);
    return null;
  });
}
