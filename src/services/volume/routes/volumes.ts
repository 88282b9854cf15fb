import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { VolumeConnector } from '../../../contracts/volume.js';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom, type Caller } from '../context.js';
import { connectionInfoFor, renderVolume, renderVolumeSummary } from '../render.js';
import type { VolumeService } from '../service.js';
import type { VolumeRow } from '../tables.js';
import { uploadToImage } from '../volumes.js';
import { typeById, findType } from '../types.js';
import { checkMetadata, metadataFilter, nextLink, q, sortAndPage, truthy } from './listing.js';

type IdParams = { id: string };
type KeyParams = { id: string; key: string };

const SORT_KEYS = ['id', 'name', 'status', 'size', 'created_at', 'updated_at', 'availability_zone', 'bootable', 'volume_type', 'project_id'] as const;

const createSchema = {
  body: {
    type: 'object',
    required: ['volume'],
    properties: {
      volume: {
        type: 'object',
        properties: {
          size: {},
          name: { type: ['string', 'null'], maxLength: 255 },
          description: { type: ['string', 'null'], maxLength: 255 },
          display_name: { type: ['string', 'null'], maxLength: 255 },
          display_description: { type: ['string', 'null'], maxLength: 255 },
          volume_type: { type: ['string', 'null'], maxLength: 255 },
          availability_zone: { type: ['string', 'null'], maxLength: 255 },
          snapshot_id: { type: ['string', 'null'], maxLength: 36 },
          source_volid: { type: ['string', 'null'], maxLength: 36 },
          imageRef: { type: ['string', 'null'], maxLength: 255 },
          image_id: { type: ['string', 'null'], maxLength: 255 },
          metadata: { type: ['object', 'null'] },
          multiattach: { type: ['boolean', 'null'] },
          consistencygroup_id: { type: ['string', 'null'] },
          backup_id: { type: ['string', 'null'] },
          group_id: { type: ['string', 'null'] },
        },
      },
      'OS-SCH-HNT:scheduler_hints': { type: ['object', 'null'] },
    },
  },
} as const;

const updateSchema = {
  body: {
    type: 'object',
    required: ['volume'],
    properties: {
      volume: {
        type: 'object',
        properties: {
          name: { type: ['string', 'null'], maxLength: 255 },
          description: { type: ['string', 'null'], maxLength: 255 },
          display_name: { type: ['string', 'null'], maxLength: 255 },
          display_description: { type: ['string', 'null'], maxLength: 255 },
          metadata: { type: ['object', 'null'] },
        },
      },
    },
  },
} as const;

const actionSchema = { body: { type: 'object', minProperties: 1 } } as const;
const metadataSchema = { body: { type: 'object', required: ['metadata'], properties: { metadata: { type: 'object' } } } } as const;
const metaItemSchema = { body: { type: 'object', required: ['meta'], properties: { meta: { type: 'object', minProperties: 1, maxProperties: 1 } } } } as const;

/** Cinder parses sizes given as strings of digits too; anything else is a 400. */
function parseSize(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  throw new ApiError(400, `Invalid input received: Volume size '${String(value)}' must be an integer and greater than 0.`);
}

function bool(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(value.toLowerCase())) return ['true', '1', 'yes', 'on'].includes(value.toLowerCase());
  throw new ApiError(400, `Invalid input received: ${name} must be a boolean, not ${String(value)}.`);
}

function obj(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ApiError(400, `Invalid input received: ${name} must be an object.`);
  return value as Record<string, unknown>;
}

export function volumeRoutes(app: FastifyInstance, svc: VolumeService, base: () => string): void {
  const { volumes, attachments } = svc;

  const detail = async (request: FastifyRequest, caller: Caller, row: VolumeRow, extended = true) =>
    renderVolume(row, {
      base: base(),
      type: await typeById(svc.ctx, row.volume_type_id),
      attachments: await attachments.ofVolume(row.id),
      isAdmin: caller.isAdmin,
      version: request.volumeVersion,
      extended,
    });

  const list = async (request: FastifyRequest, detailed: boolean) => {
    const caller = callerFrom(request);
    const query = request.query;
    const allTenants = truthy(q(query, 'all_tenants'));
    let rows = await volumes.list(caller, allTenants, caller.isAdmin ? q(query, 'project_id') : undefined);
    const name = q(query, 'name') ?? q(query, 'display_name');
    const status = q(query, 'status');
    const az = q(query, 'availability_zone');
    const bootable = q(query, 'bootable');
    const metadata = metadataFilter(q(query, 'metadata'));
    const typeFilter = q(query, 'volume_type');
    // Cinder filters by group from 3.10 (VOLUME_LIST_GROUP), as Horizon's group pages ask.
    const groupId = request.volumeVersion.atLeast('3.10') ? q(query, 'group_id') : undefined;
    const typeId = typeFilter ? (await findType(svc.ctx, caller, typeFilter).catch(() => undefined))?.id ?? '-' : undefined;
    rows = rows.filter(
      (r) =>
        (name === undefined || (request.volumeVersion.atLeast('3.34') && name.startsWith('~') ? (r.name ?? '').includes(name.slice(1)) : r.name === name)) &&
        (status === undefined || r.status === status) &&
        (az === undefined || r.availability_zone === az) &&
        (bootable === undefined || (r.bootable === 1) === truthy(bootable)) &&
        (typeId === undefined || r.volume_type_id === typeId) &&
        (groupId === undefined || r.group_id === groupId) &&
        (metadata === undefined || Object.entries(metadata).every(([k, v]) => (JSON.parse(r.metadata) as Record<string, string>)[k] === v)),
    );
    const keyed = rows.map((r) => ({ ...r, volume_type: r.volume_type_id }));
    const page = sortAndPage(keyed, query, SORT_KEYS);
    const out = [];
    for (const row of page.rows) out.push(detailed ? await detail(request, caller, row) : renderVolumeSummary(row, base()));
    const body: Record<string, unknown> = { volumes: out };
    if (page.next) body.volumes_links = [{ rel: 'next', href: nextLink(svc.ctx.config.publicUrl, request.url, query, page.next) }];
    if (request.volumeVersion.atLeast('3.45') && truthy(q(query, 'with_count'))) body.count = rows.length;
    return body;
  };

  app.get('/volumes', async (request) => list(request, false));
  app.get('/volumes/detail', async (request) => list(request, true));

  app.get('/volumes/summary', async (request) => {
    requireAtLeast(request, '3.12');
    const caller = callerFrom(request);
    const rows = await volumes.list(caller, truthy(q(request.query, 'all_tenants')));
    const metadata: Record<string, string[]> = {};
    for (const r of rows) for (const [k, v] of Object.entries(JSON.parse(r.metadata) as Record<string, string>)) (metadata[k] ??= []).includes(v) || metadata[k]!.push(v);
    return { 'volume-summary': { total_size: rows.reduce((s, r) => s + r.size, 0), total_count: rows.length, ...(request.volumeVersion.atLeast('3.36') ? { metadata } : {}) } };
  });

  app.post<{ Body: { volume: Record<string, unknown> } }>('/volumes', { schema: createSchema }, async (request, reply) => {
    const caller = callerFrom(request);
    const v = request.body.volume;
    const metadata = v.metadata === undefined || v.metadata === null ? undefined : checkMetadata(v.metadata);
    const row = await volumes.create(caller, {
      size: parseSize(v.size),
      name: (v.name ?? v.display_name) as string | null | undefined,
      description: (v.description ?? v.display_description) as string | null | undefined,
      volume_type: v.volume_type as string | null | undefined,
      availability_zone: v.availability_zone as string | null | undefined,
      snapshot_id: v.snapshot_id as string | null | undefined,
      source_volid: v.source_volid as string | null | undefined,
      imageRef: (v.imageRef ?? v.image_id) as string | null | undefined,
      metadata,
      multiattach: (v.multiattach ?? undefined) as boolean | undefined,
      // Cinder reads group_id from 3.13 on; before, it is ignored.
      ...(request.volumeVersion.atLeast('3.13') ? { group_id: v.group_id as string | null | undefined } : {}),
    });
    reply.code(202);
    return { volume: await detail(request, caller, (await volumes.rowOf(row.id)) ?? row, false) };
  });

  app.get<{ Params: IdParams }>('/volumes/:id', async (request) => {
    const caller = callerFrom(request);
    return { volume: await detail(request, caller, await volumes.find(caller, request.params.id)) };
  });

  app.put<{ Params: IdParams; Body: { volume: Record<string, unknown> } }>('/volumes/:id', { schema: updateSchema }, async (request) => {
    const caller = callerFrom(request);
    const v = request.body.volume;
    // No id (PUT /volumes/) is no volume: 404 before the body is judged, as Cinder.
    if (!request.params.id) throw new ApiError(404, 'Volume  could not be found.');
    if (Object.keys(v).length === 0) throw new ApiError(400, 'Invalid input received: Missing required element volume in request body.');
    const row = await volumes.update(caller, request.params.id, {
      ...(v.name !== undefined || v.display_name !== undefined ? { name: (v.name ?? v.display_name) as string | null } : {}),
      ...(v.description !== undefined || v.display_description !== undefined ? { description: (v.description ?? v.display_description) as string | null } : {}),
      ...(v.metadata !== undefined && v.metadata !== null ? { metadata: checkMetadata(v.metadata) } : {}),
    });
    return { volume: await detail(request, caller, row, false) };
  });

  app.delete<{ Params: IdParams }>('/volumes/:id', async (request, reply) => {
    const caller = callerFrom(request);
    await volumes.delete(caller, request.params.id, { cascade: truthy(q(request.query, 'cascade')), force: truthy(q(request.query, 'force')) && request.volumeVersion.atLeast('3.23') });
    reply.code(202);
    return null;
  });

  // Metadata.
  app.get<{ Params: IdParams }>('/volumes/:id/metadata', async (request) => {
    const row = await volumes.find(callerFrom(request), request.params.id, 'volume:get_volume_metadata');
    return { metadata: JSON.parse(row.metadata) as Record<string, string> };
  });
  app.post<{ Params: IdParams; Body: { metadata: unknown } }>('/volumes/:id/metadata', { schema: metadataSchema }, async (request) => ({
    metadata: await volumes.setMetadata(callerFrom(request), request.params.id, checkMetadata(request.body.metadata), false),
  }));
  app.put<{ Params: IdParams; Body: { metadata: unknown } }>('/volumes/:id/metadata', { schema: metadataSchema }, async (request) => ({
    metadata: await volumes.setMetadata(callerFrom(request), request.params.id, checkMetadata(request.body.metadata), true),
  }));
  app.get<{ Params: KeyParams }>('/volumes/:id/metadata/:key', async (request) => {
    const row = await volumes.find(callerFrom(request), request.params.id, 'volume:get_volume_metadata');
    const metadata = JSON.parse(row.metadata) as Record<string, string>;
    if (!(request.params.key in metadata)) throw new ApiError(404, `Volume ${row.id} has no metadata with key ${request.params.key}.`);
    return { meta: { [request.params.key]: metadata[request.params.key] } };
  });
  app.put<{ Params: KeyParams; Body: { meta: unknown } }>('/volumes/:id/metadata/:key', { schema: metaItemSchema }, async (request) => {
    const meta = checkMetadata(request.body.meta, 'meta');
    if (!(request.params.key in meta)) throw new ApiError(400, 'Invalid input received: Request body and URI mismatch.');
    await volumes.setMetadata(callerFrom(request), request.params.id, meta, false);
    return { meta };
  });
  app.delete<{ Params: KeyParams }>('/volumes/:id/metadata/:key', async (request) => {
    await volumes.deleteMetadataKey(callerFrom(request), request.params.id, request.params.key);
    return null;
  });

  // Actions.
  app.post<{ Params: IdParams; Body: Record<string, unknown> }>('/volumes/:id/action', { schema: actionSchema }, async (request, reply) => {
    const caller = callerFrom(request);
    const id = request.params.id;
    const [action, raw] = Object.entries(request.body)[0] as [string, unknown];
    const args = (raw ?? {}) as Record<string, unknown>;
    reply.code(202);
    switch (action) {
      case 'os-extend':
        await volumes.extend(caller, id, obj(raw, action).new_size, request.volumeVersion.atLeast('3.42'));
        return null;
      case 'os-reset_status': {
        const status = obj(raw, action).status;
        if (typeof status !== 'string') throw new ApiError(400, 'Invalid input received: Must specify a status.');
        await volumes.resetStatus(caller, id, status);
        if (typeof args.attach_status === 'string' && args.attach_status === 'detached') await attachments.forceDetach(caller, id).catch(() => undefined);
        return null;
      }
      case 'os-force_delete':
        await volumes.delete(caller, id, { force: true });
        return null;
      case 'os-set_bootable':
        await volumes.setFlag(caller, id, 'bootable', bool(obj(raw, action).bootable, 'bootable'));
        reply.code(200);
        return null;
      case 'os-update_readonly_flag':
        await volumes.setFlag(caller, id, 'readonly', bool(obj(raw, action).readonly, 'readonly'));
        return null;
      case 'os-reserve':
        await attachments.reserve(caller, id);
        return null;
      case 'os-unreserve':
        await attachments.unreserve(caller, id);
        return null;
      case 'os-begin_detaching':
        await attachments.beginDetaching(caller, id);
        return null;
      case 'os-roll_detaching':
        await attachments.rollDetaching(caller, id);
        return null;
      case 'os-attach':
        await attachments.legacyAttach(caller, id, obj(raw, action) as { instance_uuid?: string; host_name?: string; mountpoint?: string; mode?: string });
        return null;
      case 'os-detach':
        await attachments.legacyDetach(caller, id, typeof args.attachment_id === 'string' ? args.attachment_id : undefined);
        return null;
      case 'os-force_detach':
        await attachments.forceDetach(caller, id, typeof args.attachment_id === 'string' ? args.attachment_id : undefined);
        return null;
      case 'os-initialize_connection': {
        const connector = obj(obj(raw, action).connector, 'connector') as VolumeConnector;
        reply.code(200);
        return { connection_info: connectionInfoFor(await attachments.legacyInitialize(caller, id, connector), caller.isAdmin) };
      }
      case 'os-terminate_connection':
        await attachments.legacyTerminate(caller, id, obj(obj(raw, action).connector, 'connector') as VolumeConnector);
        return null;
      case 'os-set_image_metadata':
        reply.code(200);
        return { metadata: await volumes.setImageMetadata(caller, id, checkMetadata(obj(raw, action).metadata)) };
      case 'os-unset_image_metadata': {
        const key = obj(raw, action).key;
        if (typeof key !== 'string') throw new ApiError(400, 'Invalid input received: Must specify a key.');
        await volumes.setImageMetadata(caller, id, null, key);
        reply.code(200);
        return null;
      }
      case 'os-volume_upload_image':
        reply.code(202);
        return { 'os-volume_upload_image': await uploadToImage(svc.ctx, volumes, caller, id, obj(raw, action)) };
      case 'os-show_image_metadata': {
        const row = await volumes.find(caller, id, 'volume_extension:volume_image_metadata:show');
        reply.code(200);
        return { metadata: JSON.parse(row.image_metadata) as Record<string, string> };
      }
      default:
        throw new ApiError(400, `There is no such action: ${action}`);
    }
  });
}

function requireAtLeast(request: FastifyRequest, version: string): void {
  if (!request.volumeVersion.atLeast(version)) throw new ApiError(404, 'The resource could not be found.');
}
