import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { authorize, callerFrom } from '../context.js';
import type { VolumeService } from '../service.js';
import { changeAccess, createType, defaultType, deleteType, findType, listTypes, renderType, setSpecs, specsOf, typeAccess, unsetSpec, updateType } from '../types.js';
import { q } from './listing.js';

type IdParams = { id: string };
type KeyParams = { id: string; key: string };

const createSchema = {
  body: {
    type: 'object',
    required: ['volume_type'],
    properties: {
      volume_type: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 255 },
          description: { type: ['string', 'null'], maxLength: 255 },
          'os-volume-type-access:is_public': {},
          extra_specs: { type: 'object' },
        },
      },
    },
  },
} as const;

export function typeRoutes(app: FastifyInstance, svc: VolumeService): void {
  const ctx = svc.ctx;
  const showSpecs = (isAdmin: boolean) => isAdmin;
  app.get('/types', async (request) => {
    const caller = callerFrom(request);
    const rows = await listTypes(ctx, caller, q(request.query, 'is_public'));
    return { volume_types: rows.map((r) => renderType(r, true || showSpecs(caller.isAdmin))) };
  });
  app.get('/types/default', async (request) => {
    authorize(ctx, callerFrom(request), 'volume_extension:type_get');
    return { volume_type: renderType(await defaultType(ctx), true) };
  });
  app.get<{ Params: IdParams }>('/types/:id', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'volume_extension:type_get');
    return { volume_type: renderType(await findType(ctx, caller, request.params.id), true) };
  });
  app.post<{ Body: { volume_type: Parameters<typeof createType>[2] } }>('/types', { schema: createSchema }, async (request) => ({
    volume_type: renderType(await createType(ctx, callerFrom(request), request.body.volume_type), true),
  }));
  app.put<{ Params: IdParams; Body: { volume_type: { name?: string | null; description?: string | null; is_public?: boolean | null } } }>(
    '/types/:id',
    { schema: { body: { type: 'object', required: ['volume_type'], properties: { volume_type: { type: 'object', properties: { name: { type: ['string', 'null'], maxLength: 255 }, description: { type: ['string', 'null'], maxLength: 255 }, is_public: { type: ['boolean', 'null'] } } } } } } },
    async (request) => {
      // cinderclient sends every field, null for the ones it leaves alone.
      const { name, description, is_public: isPublic } = request.body.volume_type;
      const changes = { ...(name !== null && name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), ...(isPublic !== null && isPublic !== undefined ? { is_public: isPublic } : {}) };
      return { volume_type: renderType(await updateType(ctx, callerFrom(request), request.params.id, changes), true) };
    },
  );
  app.delete<{ Params: IdParams }>('/types/:id', async (request, reply) => {
    await deleteType(ctx, callerFrom(request), request.params.id);
    reply.code(202);
    return null;
  });

  // Kumo's volume backends encrypt nothing, so no type has an encryption spec: Cinder's answer
  // for such a type is an empty object (and 404 for a type there is not).
  app.get<{ Params: IdParams }>('/types/:id/encryption', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'volume_extension:volume_type_encryption:get');
    await findType(ctx, caller, request.params.id);
    return {};
  });
  app.get<{ Params: IdParams }>('/types/:id/extra_specs', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'volume_extension:types_extra_specs:index');
    return { extra_specs: specsOf(await findType(ctx, caller, request.params.id)) };
  });
  app.post<{ Params: IdParams; Body: { extra_specs: unknown } }>(
    '/types/:id/extra_specs',
    { schema: { body: { type: 'object', required: ['extra_specs'], properties: { extra_specs: { type: 'object' } } } } },
    async (request) => ({ extra_specs: await setSpecs(ctx, callerFrom(request), request.params.id, request.body.extra_specs) }),
  );
  app.get<{ Params: KeyParams }>('/types/:id/extra_specs/:key', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'volume_extension:types_extra_specs:show');
    const specs = specsOf(await findType(ctx, caller, request.params.id));
    if (!(request.params.key in specs)) throw new ApiError(404, `Volume Type ${request.params.id} has no extra specs with key ${request.params.key}.`);
    return { [request.params.key]: specs[request.params.key] };
  });
  app.put<{ Params: KeyParams; Body: Record<string, unknown> }>('/types/:id/extra_specs/:key', async (request) => {
    const body = request.body ?? {};
    if (Object.keys(body).length !== 1 || !(request.params.key in body)) throw new ApiError(400, 'Invalid input received: Request body and URI mismatch.');
    const specs = await setSpecs(ctx, callerFrom(request), request.params.id, body);
    return { [request.params.key]: specs[request.params.key] };
  });
  app.delete<{ Params: KeyParams }>('/types/:id/extra_specs/:key', async (request, reply) => {
    await unsetSpec(ctx, callerFrom(request), request.params.id, request.params.key);
    reply.code(202);
    return null;
  });

  app.get<{ Params: IdParams }>('/types/:id/os-volume-type-access', async (request) => ({ volume_type_access: await typeAccess(ctx, callerFrom(request), request.params.id) }));
  app.post<{ Params: IdParams; Body: Record<string, { project?: unknown } | undefined> }>('/types/:id/action', { schema: { body: { type: 'object', minProperties: 1 } } }, async (request, reply) => {
    const caller = callerFrom(request);
    const add = request.body.addProjectAccess;
    const remove = request.body.removeProjectAccess;
    const project = (add ?? remove)?.project;
    if ((!add && !remove) || typeof project !== 'string' || project.length === 0) throw new ApiError(400, 'Invalid input received: Missing required element addProjectAccess or removeProjectAccess with a project.');
    await changeAccess(ctx, caller, request.params.id, project, add !== undefined);
    reply.code(202);
    return null;
  });
}
