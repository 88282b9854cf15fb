import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ApiError } from '../../core/http/errors.js';
import { authorize, type Caller, type VolumeContext } from './context.js';
import type { MessageRow, VolumeTables } from './tables.js';

/** Cinder's message_ttl: a user message is kept (guaranteed) this long. */
const MESSAGE_TTL_MS = 30 * 24 * 3600 * 1000;

/** Cinder's message_field Action ids and the words its user_message starts with. */
export const MessageAction = {
  scheduleAllocateVolume: ['001', 'schedule allocate volume'],
  copyImageToVolume: ['005', 'copy image to volume'],
  extendVolume: ['007', 'extend volume'],
} as const satisfies Record<string, readonly [string, string]>;

/** Cinder's message_field Detail ids and their sentences. */
export const MessageDetail = {
  unknownError: ['001', 'An unknown error occurred.'],
  noBackendAvailable: ['003', 'Could not find any available weighted backend.'],
  driverFailedExtend: ['010', 'Volume Driver failed to extend volume.'],
} as const satisfies Record<string, readonly [string, string]>;

type Pair = readonly [string, string];

/**
 * Records a user message about a volume, as Cinder's message API does when an asynchronous
 * step fails: what the owner can learn about it (the operator's reason stays in the volume's
 * error_reason). Failing to record must not hide the failure itself, so errors are logged only.
 */
export async function recordVolumeMessage(ctx: VolumeContext, volume: { id: string; project_id: string }, action: Pair, detail: Pair): Promise<void> {
  const now = Date.now();
  const row: MessageRow = {
    id: randomUUID(),
    project_id: volume.project_id,
    resource_type: 'VOLUME',
    resource_uuid: volume.id,
    action_id: action[0],
    detail_id: detail[0],
    message_level: 'ERROR',
    request_id: `req-${randomUUID()}`,
    created_at: new Date(now).toISOString(),
    expires_at: new Date(now + MESSAGE_TTL_MS).toISOString(),
  };
  await ctx.db
    .insertInto('volume_message')
    .values(row)
    .execute()
    .catch((error: unknown) => ctx.log.warn({ err: error, volume: volume.id }, 'could not record a user message'));
}

const ACTIONS: readonly Pair[] = Object.values(MessageAction);
const DETAILS: readonly Pair[] = Object.values(MessageDetail);

/** The user_message Cinder composes from the two ids: "<action>: <detail>". */
export function userMessage(row: MessageRow): string {
  const action = ACTIONS.find(([id]) => id === row.action_id)?.[1] ?? 'unknown action';
  const detail = DETAILS.find(([id]) => id === row.detail_id)?.[1] ?? MessageDetail.unknownError[1];
  return `${action}: ${detail}`;
}

export const eventId = (row: MessageRow) => `VOLUME_${row.resource_type}_${row.action_id}_${row.detail_id}`;

/** The message API (3.3 on): a project reads and deletes its own messages; an admin any. */
export class Messages {
  constructor(private readonly ctx: VolumeContext) {}

  private get db(): Kysely<VolumeTables> {
    return this.ctx.db;
  }

  /**
   * Messages still guaranteed, newest first. Filters compare as Cinder's MySQL columns do,
   * without case (Horizon asks for resource_type=volume where Cinder stores VOLUME).
   */
  async list(caller: Caller, filters: { resourceType?: string | undefined; resourceUuid?: string | undefined; allTenants: boolean }): Promise<MessageRow[]> {
    authorize(this.ctx, caller, 'message:get_all', { project_id: caller.projectId });
    let query = this.db.selectFrom('volume_message').selectAll().where('expires_at', '>', new Date().toISOString());
    if (!(caller.isAdmin && filters.allTenants)) query = query.where('project_id', '=', caller.projectId);
    if (filters.resourceUuid !== undefined) query = query.where('resource_uuid', '=', filters.resourceUuid);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
    const type = filters.resourceType?.toUpperCase();
    return type === undefined ? rows : rows.filter((row) => row.resource_type === type);
  }

  async find(caller: Caller, id: string, action = 'message:get'): Promise<MessageRow> {
    const row = await this.db.selectFrom('volume_message').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `Message ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async delete(caller: Caller, id: string): Promise<void> {
    await this.find(caller, id, 'message:delete');
    await this.db.deleteFrom('volume_message').where('id', '=', id).execute();
  }
}
