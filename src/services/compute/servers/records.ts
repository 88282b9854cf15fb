import type { ComputeContext } from '../context.js';
import { forbidden } from '../context.js';
import { isUp } from '../hosts.js';
import type { BlockDevice } from '../instances/block-devices.js';
import type { Instance } from '../instances/model.js';
import { normalisedAccessIp } from '../validate.js';
import type { ServerServices } from './services.js';

/**
 * A server's own records as its routes read and write them: the instance again after a change,
 * its editable attributes, metadata and tags, its volumes, its action log and its host's state.
 */

/** The instance as stored now (after an action or an update changed it). */
export async function reloadServer(svc: ServerServices, id: string): Promise<Instance> {
  return (await svc.instances.get(id)) as Instance;
}

export interface ServerAttributes {
  name?: string;
  description?: string | null;
  accessIPv4?: string;
  accessIPv6?: string;
}

/** PUT /servers/{id}: name, description and access addresses (an IPv6 one in its short form). */
export async function updateServerAttributes(svc: ServerServices, instance: Instance, server: ServerAttributes): Promise<Instance> {
  const changes: Record<string, string | null> = {};
  if (server.description !== undefined) changes.description = server.description;
  if (server.name !== undefined) changes.name = server.name;
  if (server.accessIPv4 !== undefined) changes.access_ip_v4 = server.accessIPv4;
  if (server.accessIPv6 !== undefined) changes.access_ip_v6 = normalisedAccessIp(server.accessIPv6);
  if (Object.keys(changes).length > 0) await svc.instances.update(instance.id, changes);
  return reloadServer(svc, instance.id);
}

/** Nova's metadata quota: 128 items a server. */
const MAX_METADATA_ITEMS = 128;

export async function saveServerMetadata(svc: ServerServices, instance: Instance, metadata: Record<string, string>): Promise<void> {
  if (Object.keys(metadata).length > MAX_METADATA_ITEMS) throw forbidden('Quota exceeded for metadata items');
  await svc.instances.update(instance.id, { metadata: JSON.stringify(metadata) });
}

export async function saveServerTags(svc: ServerServices, instance: Instance, tags: string[]): Promise<void> {
  await svc.instances.update(instance.id, { tags: JSON.stringify(tags) });
}

/** Only volumes the guest has (or is getting) are listed: a mapping still creating its volume is not one yet. */
export async function serverVolumes(svc: ServerServices, instanceId: string): Promise<BlockDevice[]> {
  return (await svc.blockDevices.list(instanceId)).filter((d) => d.volumeId !== null);
}

export function serverVolume(svc: ServerServices, instanceId: string, volumeId: string): Promise<BlockDevice | undefined> {
  return svc.blockDevices.byVolume(instanceId, volumeId);
}

export function serverActions(svc: ServerServices, instanceId: string) {
  return svc.actions.list(instanceId);
}

export function serverActionByRequest(svc: ServerServices, instanceId: string, requestId: string) {
  return svc.actions.byRequest(instanceId, requestId);
}

export function serverActionEvents(svc: ServerServices, actionId: string) {
  return svc.actions.events(actionId);
}

/** Nova's host_status (2.16): UP, DOWN, MAINTENANCE (service disabled), UNKNOWN, or '' without a host. */
export async function hostStatus(ctx: ComputeContext, svc: ServerServices, instance: Instance): Promise<string> {
  if (!instance.host) return '';
  const row = await svc.hosts.get(instance.host);
  if (!row) return 'UNKNOWN';
  if (!isUp(row, ctx.config.compute.serviceDownTimeSeconds)) return 'DOWN';
  return row.disabled ? 'MAINTENANCE' : 'UP';
}
