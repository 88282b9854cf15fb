import { ComputeMethods, COMPUTE_TOPIC } from '../../../contracts/compute.js';
import { authorize, badRequest, conflict, notFound, type Caller, type ComputeContext } from '../context.js';
import { findFlavorForBoot } from '../flavors.js';
import { isUp } from '../hosts.js';
import { preservedPorts, type Instance } from '../instances/model.js';
import type { ALLOWED_FROM } from '../instances/states.js';
import { checkQuota } from '../quotas.js';
import { normalisedAccessIp } from '../validate.js';
import { checkActionAllowed, visibleInstance } from './access.js';
import type { Microversion } from '../microversion.js';
import { randomPassword, toInstanceFlavor, withinMetadataQuota } from './create.js';
import { remoteConsoleUrl, type RemoteConsoleProtocol } from './remote-console.js';
import type { ServerServices } from './services.js';
import { releaseVolumes, releaseVolumesAfterDelete } from './volumes.js';
import { addFloatingIp, removeFloatingIp } from './floating-ip-actions.js';

export interface ActionResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Answer with the server (Nova's update view), plus these members: rebuild's answer. */
  server?: Record<string, unknown>;
}

type Handler = (ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance, args: unknown, version: Microversion) => Promise<ActionResult>;

const ACCEPTED: ActionResult = { status: 202 };

/**
 * An action that runs on the instance's host: checked against the instance's state here,
 * marked with its task (so a second action waits its turn), recorded, and sent to the agent.
 */
function hostAction(action: keyof typeof ALLOWED_FROM, actionName: string, task: string, method: string, extra: (args: unknown) => Record<string, unknown> = () => ({})): Handler {
  return async (ctx, svc, caller, instance, args) => {
    checkActionAllowed(instance, caller, action);
    const payload = extra(args);
    await sendToHost(ctx, svc, caller, instance, action, actionName, task, method, payload);
    return ACCEPTED;
  };
}

async function sendToHost(
  ctx: ComputeContext,
  svc: ServerServices,
  caller: Caller,
  instance: Instance,
  action: string,
  actionName: string,
  task: string,
  method: string,
  payload: Record<string, unknown>,
  changes: Record<string, string | null> = {},
): Promise<void> {
  if (!instance.host) throw conflict(`Cannot '${action}' instance ${instance.id}: it is not on any host.`);
  const marked = await svc.instances.transition(instance.id, { vmState: [instance.vmState], taskState: [null] }, { task_state: task, ...changes });
  if (!marked) throw conflict(`Cannot '${action}' instance ${instance.id} while it is in task_state ${instance.taskState ?? 'changing'}`);
  await svc.actions.start(instance.id, actionName, caller);
  await ctx.bus.cast({ topic: COMPUTE_TOPIC, server: instance.host }, method, { instanceId: instance.id, ...payload });
}

/**
 * Each action's member has passed its schema (schemas/actions.ts) before its handler runs;
 * these are the shapes the schemas let through.
 */
type RebootArgs = { type: string };
type ResizeArgs = { flavorRef: string | number };
type RebuildArgs = { imageRef: string; name?: string; description?: string | null; metadata?: Record<string, string>; accessIPv4?: string; accessIPv6?: string; adminPass?: string };
type CreateImageArgs = { name: string; metadata?: Record<string, string> };
type ConsoleOutputArgs = { length?: number | string | null } | null | undefined;

const reboot: Handler = async (ctx, svc, caller, instance, args) => {
  // Nova takes the type in any case ('Hard', 'soft').
  const kind = (args as RebootArgs).type.toUpperCase();
  checkActionAllowed(instance, caller, 'reboot');
  await sendToHost(ctx, svc, caller, instance, 'reboot', 'reboot', kind === 'HARD' ? 'rebooting_hard' : 'rebooting', ComputeMethods.reboot, { kind });
  return ACCEPTED;
};

const resize: Handler = async (ctx, svc, caller, instance, args) => {
  const body = args as ResizeArgs;
  checkActionAllowed(instance, caller, 'resize');
  const target = await findFlavorForBoot(ctx, caller, String(body.flavorRef));
  if (target.id === instance.flavor.id) throw badRequest('When resizing, instances must change flavor!');
  if (target.rootGb < instance.flavor.rootGb) throw badRequest('Resize error: Unable to resize disk down.');
  const grow = {
    cores: Math.max(0, target.vcpus - instance.flavor.vcpus),
    ram: Math.max(0, target.memoryMb - instance.flavor.memoryMb),
  };
  if (grow.cores > 0 || grow.ram > 0) await checkQuota(ctx, instance.projectId, instance.userId, grow);
  await sendToHost(ctx, svc, caller, instance, 'resize', 'resize', 'resize_prep', ComputeMethods.resize, {}, {
    new_flavor: JSON.stringify(toInstanceFlavor(target)),
  });
  return ACCEPTED;
};

const rebuild: Handler = async (ctx, svc, caller, instance, args) => {
  const body = args as RebuildArgs;
  checkActionAllowed(instance, caller, 'rebuild');
  // The host's rebuild makes the guest afresh from the image: its volumes would not follow yet.
  if ((await svc.blockDevices.list(instance.id)).length > 0) throw conflict(`Cannot 'rebuild' instance ${instance.id} while it has volumes: detach them first (a volume-backed server cannot be rebuilt in this cloud yet).`);
  const id = body.imageRef.toLowerCase();
  const image = await ctx.images.get(instance.projectId, id);
  if (!image || image.status !== 'active') throw badRequest(`Image ${id} could not be found.`);
  // Nova's rebuild also takes a new name, metadata (replacing the old), access IPs, password and (2.19) description.
  const changes: Record<string, string | null> = {};
  if (body.description !== undefined) changes.description = body.description;
  if (body.name !== undefined) changes.name = body.name;
  if (body.metadata !== undefined) changes.metadata = JSON.stringify(withinMetadataQuota(body.metadata));
  if (body.accessIPv4 !== undefined) changes.access_ip_v4 = body.accessIPv4;
  if (body.accessIPv6 !== undefined) changes.access_ip_v6 = normalisedAccessIp(body.accessIPv6);
  const adminPass = body.adminPass ?? randomPassword();
  await sendToHost(ctx, svc, caller, instance, 'rebuild', 'rebuild', 'rebuilding', ComputeMethods.rebuild, {}, { ...changes, image_ref: image.id });
  // 202 with the server as rebuilt (Nova's update view) and its admin password.
  return { status: 202, server: { adminPass } };
};

const createImage: Handler = async (ctx, svc, caller, instance, args) => {
  const body = args as CreateImageArgs;
  const imageName = body.name;
  const metadata = body.metadata ?? {};
  checkActionAllowed(instance, caller, 'createImage');
  const base = await ctx.images.get(instance.projectId, instance.imageRef);
  const image = await ctx.images.createSnapshot(
    instance.projectId,
    imageName,
    // As Nova's create_image: the request's metadata is applied last, so it may set image_type.
    { instance_uuid: instance.id, image_type: 'snapshot', base_image_ref: instance.imageRef, owner_user_name: caller.userId, ...metadata },
    base,
  );
  await sendToHost(ctx, svc, caller, instance, 'createImage', 'createImage', 'image_snapshot', ComputeMethods.snapshot, { imageId: image.id });
  return { status: 202, headers: { location: `${ctx.config.publicUrl}/image/v2/images/${image.id}` }, body: { image_id: image.id } };
};

const lock: Handler = async (_ctx, svc, caller, instance) => {
  checkActionAllowed(instance, caller, 'lock');
  await svc.instances.update(instance.id, { locked: 1, locked_by: caller.isAdmin && caller.projectId !== instance.projectId ? 'admin' : 'owner' });
  await svc.actions.start(instance.id, 'lock', caller);
  return ACCEPTED;
};

const unlock: Handler = async (ctx, svc, caller, instance) => {
  if (instance.locked && instance.lockedBy === 'admin') authorize(ctx, caller, 'os_compute_api:os-lock-server:unlock:unlock_override', { project_id: instance.projectId });
  await svc.instances.update(instance.id, { locked: 0, locked_by: null });
  await svc.actions.start(instance.id, 'unlock', caller);
  return ACCEPTED;
};

const consoleOutput: Handler = async (ctx, _svc, _caller, instance, args) => {
  const length = (args as ConsoleOutputArgs)?.length;
  // -1 (or none) is the whole log.
  const n = length === undefined || length === null ? -1 : Number(length);
  const lines = n >= 0 ? n : undefined;
  if (!instance.host || instance.vmState === 'building') throw conflict(`Instance ${instance.id} is not ready`);
  const output = await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.consoleOutput, { instanceId: instance.id, ...(lines !== undefined ? { lines } : {}) }, { timeoutMs: 30_000 });
  return { status: 200, body: { output } };
};

function remoteConsole(protocol: RemoteConsoleProtocol, types: string[]): Handler {
  return async (ctx, _svc, _caller, instance, args) => {
    const type = (args as { type: string }).type;
    if (!types.includes(type)) throw badRequest(`Invalid console type ${type}`);
    return { status: 200, body: { console: { type, url: await remoteConsoleUrl(ctx, instance, protocol, type) } } };
  };
}

/**
 * add/removeSecurityGroup: the group goes onto (or off) the instance's ports in the network
 * service, with the caller's rights, as Nova's security_group_api does with Neutron.
 */
const securityGroupChange = (adding: boolean): Handler => async (ctx, _svc, caller, instance, args) => {
  const name = (args as { name: string }).name;
  // The schema wants one character; Nova's controller refuses a name of spaces too.
  if (name.trim() === '') throw badRequest('Security group name cannot be empty');
  checkActionAllowed(instance, caller, 'other');
  const groups = ctx.network?.securityGroups;
  // Without a network service the instance has no ports to carry a group.
  if (!groups) throw notFound(`instance_id ${instance.id} could not be found as device id on any ports`);
  if (adding) await groups.addToInstance(caller, instance, name);
  else await groups.removeFromInstance(caller, instance, name);
  return ACCEPTED;
};

/** 2.17: asks the guest's kernel to dump (an NMI); the fake driver has no kernel, so it only records the action. */
const triggerCrashDump: Handler = async (_ctx, svc, caller, instance) => {
  checkActionAllowed(instance, caller, 'other');
  if (!['active', 'paused', 'resized', 'error'].includes(instance.vmState) || !instance.host) {
    throw conflict(`Cannot 'trigger_crash_dump' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
  }
  await svc.actions.start(instance.id, 'trigger_crash_dump', caller);
  return ACCEPTED;
};

/**
 * The hypervisors whose driver implements rescue. The qemu driver does not yet (it would boot
 * the rescue image with the instance's disk attached second), so its hosts refuse as Nova
 * refuses an instance it cannot rescue.
 */
const RESCUE_CAPABLE = new Set(['fake']);

/** rescue: the guest boots a rescue system; the answer carries the rescue system's password. */
const rescue: Handler = async (ctx, svc, caller, instance, args) => {
  checkActionAllowed(instance, caller, 'rescue');
  const wanted = (args ?? {}) as { adminPass?: string; rescue_image_ref?: string };
  const hostRow = instance.host ? await svc.hosts.get(instance.host) : undefined;
  if (hostRow && !RESCUE_CAPABLE.has(hostRow.hypervisor_type)) {
    throw badRequest(`Instance ${instance.id} cannot be rescued: Driver does not support rescue.`);
  }
  if (wanted.rescue_image_ref !== undefined && !(await ctx.images.get(instance.projectId, wanted.rescue_image_ref))) {
    throw badRequest(`Image ${wanted.rescue_image_ref} could not be found.`);
  }
  const adminPass = wanted.adminPass ?? randomPassword();
  await sendToHost(ctx, svc, caller, instance, 'rescue', 'rescue', 'rescuing', ComputeMethods.rescue, {});
  return { status: 200, body: { adminPass } };
};

const forceDelete: Handler = async (ctx, svc, caller, instance) => {
  await deleteInstance(ctx, svc, caller, instance);
  return ACCEPTED;
};

/** Each action with the Nova rule that guards it, checked once the instance is found. */
export const ACTIONS: Record<string, { rule: string; run: Handler }> = {
  'os-start': { rule: 'os_compute_api:servers:start', run: hostAction('start', 'start', 'powering-on', ComputeMethods.start) },
  'os-stop': { rule: 'os_compute_api:servers:stop', run: hostAction('stop', 'stop', 'powering-off', ComputeMethods.stop) },
  reboot: { rule: 'os_compute_api:servers:reboot', run: reboot },
  pause: { rule: 'os_compute_api:os-pause-server:pause', run: hostAction('pause', 'pause', 'pausing', ComputeMethods.pause) },
  unpause: { rule: 'os_compute_api:os-pause-server:unpause', run: hostAction('unpause', 'unpause', 'unpausing', ComputeMethods.unpause) },
  suspend: { rule: 'os_compute_api:os-suspend-server:suspend', run: hostAction('suspend', 'suspend', 'suspending', ComputeMethods.suspend) },
  resume: { rule: 'os_compute_api:os-suspend-server:resume', run: hostAction('resume', 'resume', 'resuming', ComputeMethods.resume) },
  resize: { rule: 'os_compute_api:servers:resize', run: resize },
  // Nova answers confirmResize with 204 (revertResize with 202).
  confirmResize: {
    rule: 'os_compute_api:servers:confirm_resize',
    run: async (...args) => ({ ...(await hostAction('confirmResize', 'confirmResize', 'resize_confirming', ComputeMethods.confirmResize)(...args)), status: 204 }),
  },
  revertResize: { rule: 'os_compute_api:servers:revert_resize', run: hostAction('revertResize', 'revertResize', 'resize_reverting', ComputeMethods.revertResize) },
  rebuild: { rule: 'os_compute_api:servers:rebuild', run: rebuild },
  createImage: { rule: 'os_compute_api:servers:create_image', run: createImage },
  lock: { rule: 'os_compute_api:os-lock-server:lock', run: lock },
  unlock: { rule: 'os_compute_api:os-lock-server:unlock', run: unlock },
  'os-getConsoleOutput': { rule: 'os_compute_api:os-console-output', run: consoleOutput },
  'os-getVNCConsole': { rule: 'os_compute_api:os-remote-consoles', run: remoteConsole('vnc', ['novnc', 'xvpvnc']) },
  'os-getSerialConsole': { rule: 'os_compute_api:os-remote-consoles', run: remoteConsole('serial', ['serial']) },
  // Horizon's console tab asks for each in turn (CONSOLE_TYPE AUTO): each is Nova's own action.
  'os-getSPICEConsole': { rule: 'os_compute_api:os-remote-consoles', run: remoteConsole('spice', ['spice-html5']) },
  'os-getRDPConsole': { rule: 'os_compute_api:os-remote-consoles', run: remoteConsole('rdp', ['rdp-html5']) },
  'os-getMKSConsole': { rule: 'os_compute_api:os-remote-consoles', run: remoteConsole('mks', ['webmks']) },
  addSecurityGroup: { rule: 'os_compute_api:os-security-groups:add', run: securityGroupChange(true) },
  removeSecurityGroup: { rule: 'os_compute_api:os-security-groups:remove', run: securityGroupChange(false) },
  addFloatingIp: {
    rule: 'os_compute_api:os-floating-ips:add',
    run: async (ctx, _svc, caller, instance, args) => (await addFloatingIp(ctx, caller, instance, args as { address: string; fixed_address?: string }), ACCEPTED),
  },
  removeFloatingIp: {
    rule: 'os_compute_api:os-floating-ips:remove',
    run: async (ctx, _svc, caller, instance, args) => (await removeFloatingIp(ctx, caller, instance, args as { address: string }), ACCEPTED),
  },
  rescue: { rule: 'os_compute_api:os-rescue', run: rescue },
  unrescue: { rule: 'os_compute_api:os-unrescue', run: hostAction('unrescue', 'unrescue', 'unrescuing', ComputeMethods.unrescue) },
  forceDelete: { rule: 'os_compute_api:os-deferred-delete:force', run: forceDelete },
  trigger_crash_dump: { rule: 'os_compute_api:servers:trigger_crash_dump', run: triggerCrashDump },
};

/** Actions that exist only from a microversion on. */
const SINCE: Readonly<Record<string, string>> = { trigger_crash_dump: '2.17', 'os-getMKSConsole': '2.8' };

/** POST /servers/{id}/action: exactly one action per body, as Nova dispatches them. */
export async function runAction(ctx: ComputeContext, svc: ServerServices, caller: Caller, id: string, body: unknown, version: Microversion): Promise<ActionResult> {
  // Nova's action_peek: the body names exactly one action (its schema checked that member).
  const keys = Object.keys(body as Record<string, unknown>);
  if (keys.length !== 1) throw badRequest('Malformed request body: too many body keys');
  const name = keys[0] as string;
  const action = ACTIONS[name];
  const since = SINCE[name];
  if (!action || (since !== undefined && !version.atLeast(since))) throw badRequest(`There is no such action: ${name}`);
  const instance = await visibleInstance(ctx, svc.instances, caller, id, action.rule);
  return action.run(ctx, svc, caller, instance, (body as Record<string, unknown>)[name], version);
}

/**
 * DELETE /servers/{id}: on a live host the agent tears the guest down; an instance never
 * placed, or on a host whose agent is down, is deleted here (Nova's local delete).
 */
export async function deleteInstance(ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance): Promise<void> {
  checkActionAllowed(instance, caller, 'delete');
  await svc.actions.start(instance.id, 'delete', caller);
  const hostRow = instance.host ? await svc.hosts.get(instance.host) : undefined;
  if (!instance.host || !hostRow || !isUp(hostRow, ctx.config.compute.serviceDownTimeSeconds)) {
    await ctx.network?.deallocate(instance, preservedPorts(instance));
    await svc.hosts.release(instance.id);
    await svc.instances.markDeleted(instance.id);
    // Nova's local delete: no host holds the guest, so its volumes go back now.
    await releaseVolumes(ctx, svc, instance);
    return;
  }
  await svc.instances.update(instance.id, { task_state: 'deleting' });
  await ctx.bus.cast({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.terminate, { instanceId: instance.id });
  if ((await svc.blockDevices.list(instance.id)).length > 0) releaseVolumesAfterDelete(ctx, svc, instance);
}

