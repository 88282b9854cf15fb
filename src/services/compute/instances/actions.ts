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
    const action = await this.db
      .selectFrom('compute_instance_action')
      .select('id')
      .where('instance_id', '=', instanceId)
      .orderBy('start_time', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!action) return async () => undefined;
    const id = newUuid();
    await this.db
      .insertInto('compute_instance_action_event')
      .values({ id, action_id: action.id, event, start_time: new Date().toISOString(), finish_time: null, result: null, host, traceback: null })
      .execute();
    return async (error?: unknown) => {
      const now = new Date().toISOString();
      const failed = error !== undefined;
      await this.db
        .updateTable('compute_instance_action_event')
        .set({ finish_time: now, result: failed ? 'Error' : 'Success', traceback: failed ? describe(error) : null })
        .where('id', '=', id)
        .execute();
      await this.db
        .updateTable('compute_instance_action')
        .set({ finish_time: now, ...(failed ? { message: 'Error' } : {}) })
        .where('id', '=', action.id)
        .execute();
    };
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

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
