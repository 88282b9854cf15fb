import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom, type Caller } from '../context.js';
import { strictBool } from '../group-types.js';
import { requireVersion } from '../microversion.js';
import { cinderTime } from '../render.js';
import type { VolumeService } from '../service.js';
import type { GroupRow, GroupSnapshotRow } from '../tables.js';
import { nextLink, q, sortAndPage, truthy } from './listing.js';

type IdParams = { id: string };
type KeyParams = { id: string; key: string };

/** Cinder's group routes answer 404 below their microversion, before looking at the body. */
const since = (version: string) => ({ onRequest: async (request: FastifyRequest) => requireVersion(request, version) });

const GROUP_SORT_KEYS = ['id', 'name', 'status', 'created_at', 'availability_zone', 'group_type_id', 'project_id'] as const;
const SNAPSHOT_SORT_KEYS = ['id', 'name', 'status', 'created_at', 'group_id', 'group_type_id', 'project_id'] as const;
const TYPE_SORT_KEYS = ['id', 'name', 'created_at', 'is_public'] as const;

const nameAndDescription = {
  name: { type: ['string', 'null'], maxLength: 255 },
  description: { type: ['string', 'null'], maxLength: 255 },
} as const;

const typeCreateSchema = {
  body: {
    type: 'object',
    required: ['group_type'],
    properties: {
      group_type: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, description: { type: ['string', 'null'], maxLength: 255 }, is_public: {}, group_specs: { type: 'object' } },
      },
    },
  },
} as const;
const typeUpdateSchema = {
  body: {
    type: 'object',
    required: ['group_type'],
    properties: { group_type: { type: 'object', additionalProperties: false, properties: { ...nameAndDescription, is_public: {} } } },
  },
} as const;
const groupCreateSchema = {
  body: {
    type: 'object',
    required: ['group'],
    properties: {
      group: {
        type: 'object',
        required: ['group_type', 'volume_types'],
        additionalProperties: false,
        properties: {
          ...nameAndDescription,
          group_type: { type: 'string', minLength: 1, maxLength: 255 },
          volume_types: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: 255 } },
          availability_zone: { type: ['string', 'null'], maxLength: 255 },
        },
      },
    },
  },
} as const;
const groupUpdateSchema = {
  body: {
    type: 'object',
    required: ['group'],
    properties: {
      group: {
        type: 'object',
        additionalProperties: false,
        properties: { ...nameAndDescription, add_volumes: { type: ['string', 'null'] }, remove_volumes: { type: ['string', 'null'] } },
      },
    },
  },
} as const;
const snapshotCreateSchema = {
  body: {
    type: 'object',
    required: ['group_snapshot'],
    properties: {
      group_snapshot: { type: 'object', required: ['group_id'], additionalProperties: false, properties: { ...nameAndDescription, group_id: { type: 'string', minLength: 1, maxLength: 36 } } },
    },
  },
} as const;
const actionSchema = { body: { type: 'object', minProperties: 1, maxProperties: 1 } } as const;

function resetStatusOf(raw: unknown): string {
  const status = (raw as { status?: unknown } | null)?.status;
  if (typeof status !== 'string' || status.length === 0) throw new ApiError(400, "Invalid input received: 'status' is a required property.");
  return status;
}

/** Cinder's generic volume groups: group types (3.11), groups (3.13), group snapshots (3.14). */
export function groupRoutes(app: FastifyInstance, svc: VolumeService): void {
  const { groups, groupTypes } = svc;
  const enforce = (caller: Caller, action: string, projectId: string) => svc.ctx.enforcer.enforce(action, { project_id: projectId }, caller.credentials);

  // ---------------------------------------------------------------------------- group types

  app.get('/group_types', since('3.11'), async (request) => {
    const caller = callerFrom(request);
    const rows = await groupTypes.list(caller, q(request.query, 'is_public'));
    const page = sortAndPage(rows, request.query, TYPE_SORT_KEYS);
    return {
      group_types: page.rows.map((r) => groupTypes.render(caller, r)),
      ...(page.next ? { group_type_links: [{ rel: 'next', href: nextLink(svc.ctx.config.publicUrl, request.url, request.query, page.next) }] } : {}),
    };
  });
  app.get<{ Params: IdParams }>('/group_types/:id', since('3.11'), async (request) => {
    const caller = callerFrom(request);
    // Cinder's default group type is the default_group_type option, unset unless configured; Kumo has none.
    if (request.params.id === 'default') throw new ApiError(404, 'Default group type can not be found.');
    return { group_type: groupTypes.render(caller, await groupTypes.find(caller, request.params.id)) };
  });
  app.post<{ Body: { group_type: { name: string; description?: string | null; is_public?: unknown; group_specs?: unknown } } }>(
    '/group_types',
    { ...since('3.11'), schema: typeCreateSchema },
    async (request, reply) => {
      const caller = callerFrom(request);
      const row = await groupTypes.create(caller, request.body.group_type);
      reply.code(202);
      return { group_type: groupTypes.render(caller, row) };
    },
  );
  app.put<{ Params: IdParams; Body: { group_type: { name?: string | null; description?: string | null; is_public?: unknown } } }>(
    '/group_types/:id',
    { ...since('3.11'), schema: typeUpdateSchema },
    async (request) => {
      const caller = callerFrom(request);
      return { group_type: groupTypes.render(caller, await groupTypes.update(caller, request.params.id, request.body.group_type)) };
    },
  );
  app.delete<{ Params: IdParams }>('/group_types/:id', since('3.11'), async (request, reply) => {
    await groupTypes.delete(callerFrom(request), request.params.id);
    reply.code(202);
    return null;
  });

  app.get<{ Params: IdParams }>('/group_types/:id/group_specs', since('3.11'), async (request) => ({
    group_specs: await groupTypes.specs(callerFrom(request), request.params.id, 'get_all'),
  }));
  app.post<{ Params: IdParams; Body: { group_specs: unknown } }>(
    '/group_types/:id/group_specs',
    { ...since('3.11'), schema: { body: { type: 'object', required: ['group_specs'], properties: { group_specs: { type: 'object', minProperties: 1 } } } } },
    async (request, reply) => {
      await groupTypes.setSpecs(callerFrom(request), request.params.id, request.body.group_specs, 'create');
      reply.code(202);
      return { group_specs: request.body.group_specs };
    },
  );
  app.get<{ Params: KeyParams }>('/group_types/:id/group_specs/:key', since('3.11'), async (request) => {
    const specs = await groupTypes.specs(callerFrom(request), request.params.id, 'get');
    if (!(request.params.key in specs)) throw new ApiError(404, `Group Type ${request.params.id} has no specs with key ${request.params.key}.`);
    return { [request.params.key]: specs[request.params.key] };
  });
  app.put<{ Params: KeyParams; Body: Record<string, unknown> }>('/group_types/:id/group_specs/:key', since('3.11'), async (request) => {
    const body = request.body ?? {};
    if (typeof body !== 'object' || Object.keys(body).length !== 1 || !(request.params.key in body)) throw new ApiError(400, 'Request body and URI mismatch');
    const specs = await groupTypes.setSpecs(callerFrom(request), request.params.id, body, 'update');
    return { [request.params.key]: specs[request.params.key] };
  });
  app.delete<{ Params: KeyParams }>('/group_types/:id/group_specs/:key', since('3.11'), async (request, reply) => {
    await groupTypes.unsetSpec(callerFrom(request), request.params.id, request.params.key);
    reply.code(202);
    return null;
  });

  // ---------------------------------------------------------------------------- groups

  const renderGroup = async (request: FastifyRequest, caller: Caller, row: GroupRow): Promise<Record<string, unknown>> => {
    const version = request.volumeVersion;
    const body: Record<string, unknown> = {
      id: row.id,
      status: row.status,
      availability_zone: row.availability_zone,
      created_at: cinderTime(row.created_at),
      name: row.name,
      description: row.description,
      group_type: row.group_type_id,
      volume_types: JSON.parse(row.volume_type_ids) as string[],
    };
    if (version.atLeast('3.14')) {
      body.group_snapshot_id = row.group_snapshot_id;
      body.source_group_id = row.source_group_id;
    }
    if (version.atLeast('3.25') && truthy(q(request.query, 'list_volume'))) body.volumes = (await groups.volumesOf(row.id)).map((v) => v.id);
    // Kumo replicates no group.
    if (version.atLeast('3.38')) body.replication_status = 'disabled';
    if (version.atLeast('3.58') && enforce(caller, 'group:group_project_attribute', row.project_id)) body.project_id = row.project_id;
    return body;
  };

  const listGroups = async (request: FastifyRequest, detailed: boolean) => {
    const caller = callerFrom(request);
    const query = request.query;
    let rows = await groups.list(caller, truthy(q(query, 'all_tenants')), caller.isAdmin ? q(query, 'project_id') : undefined);
    const name = q(query, 'name');
    const status = q(query, 'status');
    const az = q(query, 'availability_zone');
    const groupType = q(query, 'group_type') ?? q(query, 'group_type_id');
    rows = rows.filter(
      (r) => (name === undefined || r.name === name) && (status === undefined || r.status === status) && (az === undefined || r.availability_zone === az) && (groupType === undefined || r.group_type_id === groupType),
    );
    const page = sortAndPage(rows, query, GROUP_SORT_KEYS);
    const out = [];
    for (const row of page.rows) out.push(detailed ? await renderGroup(request, caller, row) : { id: row.id, name: row.name });
    return { groups: out, ...(page.next ? { group_links: [{ rel: 'next', href: nextLink(svc.ctx.config.publicUrl, request.url, query, page.next) }] } : {}) };
  };
  app.get('/groups', since('3.13'), async (request) => listGroups(request, false));
  app.get('/groups/detail', since('3.13'), async (request) => listGroups(request, true));
  app.get<{ Params: IdParams }>('/groups/:id', since('3.13'), async (request) => {
    const caller = callerFrom(request);
    return { group: await renderGroup(request, caller, await groups.find(caller, request.params.id)) };
  });
  app.post<{ Body: { group: { name?: string | null; description?: string | null; group_type: string; volume_types: string[]; availability_zone?: string | null } } }>(
    '/groups',
    { ...since('3.13'), schema: groupCreateSchema },
    async (request, reply) => {
      const row = await groups.create(callerFrom(request), request.body.group);
      reply.code(202);
      return { group: { id: row.id, name: row.name } };
    },
  );
  app.put<{ Params: IdParams; Body: { group: { name?: string | null; description?: string | null; add_volumes?: string | null; remove_volumes?: string | null } } }>(
    '/groups/:id',
    { ...since('3.13'), schema: groupUpdateSchema },
    async (request, reply) => {
      await groups.update(callerFrom(request), request.params.id, request.body.group);
      reply.code(202);
      return null;
    },
  );
  app.post<{ Body: Record<string, unknown> }>('/groups/action', { ...since('3.14'), schema: actionSchema }, async (request, reply) => {
    const raw = request.body['create-from-src'];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ApiError(400, `There is no such action: ${Object.keys(request.body)[0]}`);
    const body = raw as Record<string, unknown>;
    for (const key of Object.keys(body)) {
      if (!['name', 'description', 'group_snapshot_id', 'source_group_id'].includes(key)) throw new ApiError(400, `Invalid input received: Additional properties are not allowed ('${key}' was unexpected).`);
      if (body[key] !== null && typeof body[key] !== 'string') throw new ApiError(400, `Invalid input received: ${key} must be a string.`);
    }
    const row = await groups.createFromSource(callerFrom(request), body as { name?: string | null; description?: string | null; group_snapshot_id?: string | null; source_group_id?: string | null });
    reply.code(202);
    return { group: { id: row.id, name: row.name } };
  });
  app.post<{ Params: IdParams; Body: Record<string, unknown> }>('/groups/:id/action', { ...since('3.13'), schema: actionSchema }, async (request, reply) => {
    const caller = callerFrom(request);
    const [action, raw] = Object.entries(request.body)[0] as [string, unknown];
    if (action === 'delete') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ApiError(400, "Invalid input received: 'delete' must be an object.");
      const flag = (raw as Record<string, unknown>)['delete-volumes'];
      await groups.delete(caller, request.params.id, flag === undefined || flag === null ? false : strictBool(flag, 'delete-volumes'));
    } else if (action === 'reset_status') {
      requireVersion(request, '3.20');
      await groups.resetStatus(caller, request.params.id, resetStatusOf(raw));
    } else if (['enable_replication', 'disable_replication', 'failover_replication', 'list_replication_targets'].includes(action)) {
      requireVersion(request, '3.38');
      await groups.find(caller, request.params.id);
      throw new ApiError(400, `Invalid group type: Group ${request.params.id} is not a replication group type.`);
    } else throw new ApiError(400, `There is no such action: ${action}`);
    reply.code(202);
    return null;
  });

  // ---------------------------------------------------------------------------- group snapshots

  const renderSnapshot = (request: FastifyRequest, caller: Caller, row: GroupSnapshotRow): Record<string, unknown> => {
    const body: Record<string, unknown> = {
      id: row.id,
      group_id: row.group_id,
      group_type_id: row.group_type_id,
      status: row.status,
      created_at: cinderTime(row.created_at),
      name: row.name,
      description: row.description,
    };
    if (request.volumeVersion.atLeast('3.58') && enforce(caller, 'group:group_snapshot_project_attribute', row.project_id)) body.project_id = row.project_id;
    return body;
  };
  const listSnapshots = async (request: FastifyRequest, detailed: boolean) => {
    const caller = callerFrom(request);
    const query = request.query;
    let rows = await groups.listSnapshots(caller, truthy(q(query, 'all_tenants')));
    const name = q(query, 'name');
    const status = q(query, 'status');
    const groupId = q(query, 'group_id');
    rows = rows.filter((r) => (name === undefined || r.name === name) && (status === undefined || r.status === status) && (groupId === undefined || r.group_id === groupId));
    // Paging and sorting of group snapshots came with 3.29.
    const page = request.volumeVersion.atLeast('3.29') ? sortAndPage(rows, query, SNAPSHOT_SORT_KEYS) : sortAndPage(rows, {}, SNAPSHOT_SORT_KEYS);
    return {
      group_snapshots: page.rows.map((r) => (detailed ? renderSnapshot(request, caller, r) : { id: r.id, name: r.name, group_type_id: r.group_type_id })),
      ...(page.next ? { group_snapshot_links: [{ rel: 'next', href: nextLink(svc.ctx.config.publicUrl, request.url, query, page.next) }] } : {}),
    };
  };
  app.get('/group_snapshots', since('3.14'), async (request) => listSnapshots(request, false));
  app.get('/group_snapshots/detail', since('3.14'), async (request) => listSnapshots(request, true));
  app.get<{ Params: IdParams }>('/group_snapshots/:id', since('3.14'), async (request) => {
    const caller = callerFrom(request);
    return { group_snapshot: renderSnapshot(request, caller, await groups.findSnapshot(caller, request.params.id)) };
  });
  app.post<{ Body: { group_snapshot: { group_id: string; name?: string | null; description?: string | null } } }>(
    '/group_snapshots',
    { ...since('3.14'), schema: snapshotCreateSchema },
    async (request, reply) => {
      const row = await groups.createSnapshot(callerFrom(request), request.body.group_snapshot);
      reply.code(202);
      return { group_snapshot: { id: row.id, name: row.name, group_type_id: row.group_type_id } };
    },
  );
  app.delete<{ Params: IdParams }>('/group_snapshots/:id', since('3.14'), async (request, reply) => {
    await groups.deleteSnapshot(callerFrom(request), request.params.id);
    reply.code(202);
    return null;
  });
  app.post<{ Params: IdParams; Body: Record<string, unknown> }>('/group_snapshots/:id/action', { ...since('3.19'), schema: actionSchema }, async (request, reply) => {
    const [action, raw] = Object.entries(request.body)[0] as [string, unknown];
    if (action !== 'reset_status') throw new ApiError(400, `There is no such action: ${action}`);
    await groups.resetSnapshotStatus(callerFrom(request), request.params.id, resetStatusOf(raw));
    reply.code(202);
    return null;
  });
}
