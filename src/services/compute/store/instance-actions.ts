import type { Kysely } from 'kysely';
import { newUuid } from '../../../core/ids.js';
import type { ComputeTables, InstanceActionEventRow, InstanceActionRow } from '../tables.js';

/**
 * Instance actions and their events (os-instance-actions): the API opens an action per
 * request; the conductor and agents add events to the instance's latest action.
 */
export class InstanceActions {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  async start(instanceId: string, action: string, who: { projectId: string; userId: string; requestId: string }): Promise<string> {
    const id = newUuid();
    await this.db
      .insertInto('compute_instance_action')
      .values({
        id,
        instance_id: instanceId,
        request_id: who.requestId,
        action,
        project_id: who.projectId,
        user_id: who.userId,
        start_time: new Date().toISOString(),
        finish_time: null,
        message: null,
      })
      .execute();
    return id;
  }

  /** Records an event under the instance's latest action; returns a function that ends it. */
  async event(instanceId: string, event: string, host: string | null): Promise<(error?: unknown) => Promise<void>> {
    const handle = await this.openEvent(instanceId, event, host);
    if (!handle) return async () => undefined;
    return (error?: unknown) => this.closeEvent(handle, error === undefined ? undefined : describe(error));
  }

  /** `event` in two steps, for a caller across the bus: null when the instance has no action. */
  async openEvent(instanceId: string, event: string, host: string | null): Promise<{ eventId: string; actionId: string } | null> {
    const action = await this.db
      .selectFrom('compute_instance_action')
      .select('id')
      .where('instance_id', '=', instanceId)
      .orderBy('start_time', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!action) return null;
    const id = newUuid();
    await this.db
      .insertInto('compute_instance_action_event')
      .values({ id, action_id: action.id, event, start_time: new Date().toISOString(), finish_time: null, result: null, host, traceback: null })
      .execute();
    return { eventId: id, actionId: action.id };
  }

  /** Ends an event opened by `openEvent`; `traceback` set means it failed. */
  async closeEvent(handle: { eventId: string; actionId: string }, traceback?: string): Promise<void> {
    const now = new Date().toISOString();
    const failed = traceback !== undefined;
    await this.db
      .updateTable('compute_instance_action_event')
      .set({ finish_time: now, result: failed ? 'Error' : 'Success', traceback: failed ? traceback : null })
      .where('id', '=', handle.eventId)
      .execute();
    await this.db
      .updateTable('compute_instance_action')
      .set({ finish_time: now, ...(failed ? { message: 'Error' } : {}) })
      .where('id', '=', handle.actionId)
      .execute();
  }

  async list(instanceId: string): Promise<InstanceActionRow[]> {
    return this.db
      .selectFrom('compute_instance_action')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .orderBy('start_time', 'desc')
      .execute();
  }

  async byRequest(instanceId: string, requestId: string): Promise<InstanceActionRow | undefined> {
    return this.db
      .selectFrom('compute_instance_action')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('request_id', '=', requestId)
      .executeTakeFirst();
  }

  async events(actionId: string): Promise<InstanceActionEventRow[]> {
    return this.db
      .selectFrom('compute_instance_action_event')
      .selectAll()
      .where('action_id', '=', actionId)
      .orderBy('start_time', 'asc')
      .execute();
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
