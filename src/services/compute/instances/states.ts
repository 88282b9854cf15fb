/** Nova's instance states (nova/compute/vm_states.py, task_states.py) and the API status they show as. */

export type VmState = 'building' | 'active' | 'stopped' | 'paused' | 'suspended' | 'resized' | 'rescued' | 'error' | 'deleted';

export type TaskState =
  | 'scheduling'
  | 'networking'
  | 'spawning'
  | 'deleting'
  | 'powering-off'
  | 'powering-on'
  | 'rebooting'
  | 'rebooting_hard'
  | 'pausing'
  | 'unpausing'
  | 'suspending'
  | 'resuming'
  | 'resize_prep'
  | 'resize_finish'
  | 'resize_reverting'
  | 'resize_confirming'
  | 'rebuilding'
  | 'image_snapshot'
  | 'rescuing'
  | 'unrescuing';

const RESIZING = new Set<string>(['resize_prep', 'resize_finish']);

/** nova/api/openstack/common.py's state map. */
export function apiStatus(vm: string, task: string | null): string {
  switch (vm) {
    case 'building':
      return 'BUILD';
    case 'active':
      if (task === 'rebooting') return 'REBOOT';
      if (task === 'rebooting_hard') return 'HARD_REBOOT';
      if (task === 'rebuilding') return 'REBUILD';
      if (task === 'rescuing') return 'RESCUE';
      if (task && RESIZING.has(task)) return 'RESIZE';
      return 'ACTIVE';
    case 'stopped':
      if (task === 'rebuilding') return 'REBUILD';
      if (task && RESIZING.has(task)) return 'RESIZE';
      return 'SHUTOFF';
    case 'resized':
      return task === 'resize_reverting' ? 'REVERT_RESIZE' : 'VERIFY_RESIZE';
    case 'rescued':
      return 'RESCUE';
    case 'paused':
      return 'PAUSED';
    case 'suspended':
      return 'SUSPENDED';
    case 'error':
      return 'ERROR';
    case 'deleted':
      return 'DELETED';
    default:
      return 'UNKNOWN';
  }
}

/** Which vm_states an action may start from (nova/compute/api.py's check_instance_state). */
export const ALLOWED_FROM: Readonly<Record<string, readonly VmState[]>> = {
  start: ['stopped'],
  stop: ['active', 'error'],
  reboot: ['active', 'stopped', 'paused', 'suspended', 'error'],
  pause: ['active'],
  unpause: ['paused'],
  suspend: ['active'],
  resume: ['suspended'],
  resize: ['active', 'stopped'],
  confirmResize: ['resized'],
  revertResize: ['resized'],
  rebuild: ['active', 'stopped', 'error'],
  createImage: ['active', 'stopped', 'paused', 'suspended'],
  rescue: ['active', 'stopped', 'error'],
  unrescue: ['rescued'],
};
