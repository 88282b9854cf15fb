import { randomUUID } from 'node:crypto';
import { authorize, badRequest, notFound, nowIso, type Caller, type ComputeContext } from './context.js';
import { checkQuota } from './quotas.js';
import type { ServerGroupRow } from './tables.js';

/** Server groups: a project's (anti-)affinity policies and the instances that follow them. */

export interface ServerGroup {
  id: string;
  name: string;
  projectId: string;
  userId: string;
  policy: string;
  members: string[];
}

const groupNotFound = (id: string) => notFound(`Instance group ${id} could not be found.`);

async function membersOf(ctx: ComputeContext, ids: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return map;
  const rows = await ctx.db.selectFrom('compute_server_group_member').selectAll().where('group_id', 'in', ids).orderBy('instance_id').execute();
  for (const row of rows) map.get(row.group_id)?.push(row.instance_id);
  return map;
}

const toGroup = (row: ServerGroupRow, members: string[]): ServerGroup => ({
  id: row.id,
  name: row.name,
  projectId: row.project_id,
  userId: row.user_id,
  policy: row.policy,
  members,
});

/** A group the caller may use: its own project's, or any for an admin (403 otherwise, as Nova's policy check). */
export async function getServerGroup(ctx: ComputeContext, caller: Caller, id: string): Promise<ServerGroup> {
  const row = await ctx.db.selectFrom('compute_server_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw groupNotFound(id);
  authorize(ctx, caller, 'os_compute_api:os-server-groups:show', { project_id: row.project_id, user_id: row.user_id });
  return toGroup(row, (await membersOf(ctx, [row.id])).get(row.id) ?? []);
}

function nonNegativeParam(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw badRequest(`${what} param must be an integer`);
  return Number(value.trim());
}

export async function listServerGroups(
  ctx: ComputeContext,
  caller: Caller,
  options: { allProjects: boolean; limit?: string; offset?: string },
): Promise<ServerGroup[]> {
  const limit = nonNegativeParam(options.limit, 'limit');
  const offset = nonNegativeParam(options.offset, 'offset') ?? 0;
  let query = ctx.db.selectFrom('compute_server_group').selectAll().orderBy('created_at').orderBy('id');
  if (!options.allProjects) query = query.where('project_id', '=', caller.projectId);
  const rows = (await query.execute()).slice(offset, limit === undefined ? undefined : offset + Math.min(limit, 1000));
  const members = await membersOf(ctx, rows.map((r) => r.id));
  return rows.map((row) => toGroup(row, members.get(row.id) ?? []));
}

/** POST /os-server-groups' body as its schema (schemas/server-groups.ts) lets it through: one policy. */
export interface ServerGroupBody {
  server_group: { name: string; policies: [string] };
}

export function parseServerGroup(body: ServerGroupBody): { name: string; policy: string } {
  return { name: body.server_group.name, policy: body.server_group.policies[0] };
}

export async function createServerGroup(ctx: ComputeContext, caller: Caller, input: { name: string; policy: string }): Promise<ServerGroup> {
  await checkQuota(ctx, caller.projectId, caller.userId, { server_groups: 1 });
  const row: ServerGroupRow = {
    id: randomUUID(),
    project_id: caller.projectId,
    user_id: caller.userId,
    name: input.name,
    policy: input.policy,
    rules: '{}',
    created_at: nowIso(),
  };
  await ctx.db.insertInto('compute_server_group').values(row).execute();
  return toGroup(row, []);
}

export async function deleteServerGroup(ctx: ComputeContext, caller: Caller, id: string): Promise<void> {
  const row = await ctx.db.selectFrom('compute_server_group').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw groupNotFound(id);
  authorize(ctx, caller, 'os_compute_api:os-server-groups:delete', { project_id: row.project_id, user_id: row.user_id });
  await ctx.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('compute_server_group_member').where('group_id', '=', id).execute();
    await tx.deleteFrom('compute_server_group').where('id', '=', id).execute();
  });
}

export function renderServerGroup(group: ServerGroup, withOwner: boolean): Record<string, unknown> {
  return {
    id: group.id,
    name: group.name,
    policies: [group.policy],
    members: group.members,
    metadata: {},
    ...(withOwner ? { project_id: group.projectId, user_id: group.userId } : {}),
  };
}
