import { isUuidLike } from '../../../core/ids.js';
import { authorize, conflict, notFound, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { ALLOWED_FROM } from '../instances/states.js';
import type { InstanceRecords } from '../store/instances.js';

export const instanceNotFound = (id: string) => notFound(`Instance ${id} could not be found.`);

/** The instance when the caller may see it (its project, or admin); else Nova's 404. */
export async function visibleInstance(ctx: ComputeContext, records: InstanceRecords, caller: Caller, id: string, rule = 'os_compute_api:servers:show'): Promise<Instance> {
  const instance = isUuidLike(id) ? await records.get(id.toLowerCase()) : undefined;
  if (!instance || instance.deleted || (!caller.isAdmin && instance.projectId !== caller.projectId)) throw instanceNotFound(id);
  authorize(ctx, caller, rule, { project_id: instance.projectId });
  return instance;
}

/** Nova's 409s: a locked instance (for non-admins), a task under way, or the wrong vm_state. */
export function checkActionAllowed(instance: Instance, caller: Caller, action: keyof typeof ALLOWED_FROM | 'delete' | 'lock' | 'unlock' | 'other'): void {
  if (instance.locked && !caller.isAdmin && action !== 'unlock' && action !== 'lock') {
    throw conflict(`Instance ${instance.id} is locked`);
  }
  if (action === 'delete' || action === 'lock' || action === 'unlock' || action === 'other') return;
  const allowed = ALLOWED_FROM[action] ?? [];
  if (!allowed.includes(instance.vmState)) {
    throw conflict(`Cannot '${action}' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
  }
  if (instance.taskState !== null) {
    throw conflict(`Cannot '${action}' instance ${instance.id} while it is in task_state ${instance.taskState}`);
  }
}
