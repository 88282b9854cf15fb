import { randomUUID } from 'node:crypto';
import { authorize, badRequest, notFound, nowIso, type Caller, type ComputeContext } from './context.js';
import { checkQuota } from './quotas.js';
import { ServerGroupRecords } from './store/server-groups.js';
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

const groupRecords = (ctx: ComputeContext) => new ServerGroupRecords(ctx.db);

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
  const groups = groupRecords(ctx);
  const row = await groups.get(id);
  if (!row) throw groupNotFound(id);
  authorize(ctx, caller, 'os_compute_api:os-server-groups:show', { project_id: row.project_id, user_id: row.user_id });
  return toGroup(row, (await groups.membersOf([row.id])).get(row.id) ?? []);
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
  const groups = groupRecords(ctx);
  const rows = (await groups.list(options.allProjects ? null : caller.projectId)).slice(offset, limit === undefined ? undefined : offset + Math.min(limit, 1000));
  const members = await groups.membersOf(rows.map((r) => r.id));
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
  await groupRecords(ctx).insert(row);
  return toGroup(row, []);
}

export async function deleteServerGroup(ctx: ComputeContext, caller: Caller, id: string): Promise<void> {
  const groups = groupRecords(ctx);
  const row = await groups.get(id);
  if (!row) throw groupNotFound(id);
  authorize(ctx, caller, 'os_compute_api:os-server-groups:delete', { project_id: row.project_id, user_id: row.user_id });
  await groups.delete(id);
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
