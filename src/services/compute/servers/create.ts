import { isUuidLike, newUuid } from '../../../core/ids.js';
import { ConductorMethods, CONDUCTOR_TOPIC } from '../../../contracts/compute.js';
import { badRequest, forbidden, nowIso, authorize, type Caller, type ComputeContext } from '../context.js';
import { findFlavorForBoot } from '../flavors.js';
import { resourcesOf, type Instance, type InstanceFlavor, type SchedulerHints } from '../instances/model.js';
import type { RequestedNetwork } from '../peers.js';
import { normalisedAccessIp, toBoolean, toInteger } from '../validate.js';
import { pyRepr } from '../schemas/messages.js';
import { bootVolumeOf, checkBlockDevices, parseBlockDevices, recordBlockDevices, type ParsedBlockDevices } from './block-device-mapping.js';
import type { ServerServices } from './services.js';

/** POST /servers' body as its schema (schemas/servers.ts) lets it through. */
export interface ServerCreateBody {
  server: {
    name: string;
    flavorRef: string | number;
    imageRef?: string;
    adminPass?: string;
    metadata?: Record<string, string>;
    networks?: unknown;
    key_name?: string;
    security_groups?: { name: string }[];
    user_data?: string | null;
    availability_zone?: string;
    min_count?: number | string;
    max_count?: number | string;
    return_reservation_id?: boolean | string;
    config_drive?: boolean | string;
    accessIPv4?: string;
    accessIPv6?: string;
    description?: string | null;
    block_device_mapping_v2?: unknown;
  };
  'os:scheduler_hints'?: Record<string, unknown>;
  'OS-SCH-HNT:scheduler_hints'?: Record<string, unknown>;
}

export interface CreateResult {
  instances: Instance[];
  adminPass: string;
  reservationId: string;
  returnReservationId: boolean;
  /** The groups as the request named them, which Nova's create answer echoes. */
  requestedSecurityGroups: string[];
}

/**
 * POST /servers: checks everything a boot needs before anything is recorded, records the
 * instances as BUILD/scheduling, and hands them to the conductor.
 */
export async function createServers(ctx: ComputeContext, svc: ServerServices, caller: Caller, body: ServerCreateBody): Promise<CreateResult> {
  authorize(ctx, caller, 'os_compute_api:servers:create');
  const server = body.server;
  const hints = parseHints(body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints']);
  const name = server.name;
  const flavor = await findFlavorForBoot(ctx, caller, String(server.flavorRef));
  const blockDevices = parseBlockDevices(server.block_device_mapping_v2, server.imageRef !== undefined && server.imageRef !== '');
  const imageId = await resolveImage(ctx, caller, server, blockDevices);
  const minCount = server.min_count === undefined ? 1 : toInteger(server.min_count);
  const maxCount = server.max_count === undefined ? minCount : toInteger(server.max_count);
  if (minCount > maxCount) throw badRequest("min_count must be <= max_count");
  const metadata = withinMetadataQuota(server.metadata ?? {});
  const networks = parseNetworks(server.networks);
  if (networks !== 'none' && ctx.network) await ctx.network.validate(caller, caller.projectId, networks === undefined ? 'auto' : networks);
  const requestedSecurityGroups = server.security_groups === undefined ? ['default'] : [...new Set(server.security_groups.map((g) => g.name))];
  // As Nova's _check_requested_secgroups: each group exists and is the project's, or the boot is a 400 now.
  const securityGroups = ctx.network?.securityGroups ? await ctx.network.securityGroups.resolveForBoot(caller, requestedSecurityGroups) : requestedSecurityGroups;
  const userData = server.user_data ?? null;
  const keyName = server.key_name ?? null;
  const keyData = keyName === null ? null : await svc.keypairPublicKey(caller.userId, keyName);
  const availabilityZone = server.availability_zone ?? null;
  if (availabilityZone?.includes(':')) authorize(ctx, caller, 'os_compute_api:servers:create:forced_host');
  const configDrive = server.config_drive !== undefined && toBoolean(server.config_drive) ? 'True' : '';
  const adminPass = server.adminPass ?? randomPassword();
  const accessIpV4 = server.accessIPv4 ?? '';
  const accessIpV6 = normalisedAccessIp(server.accessIPv6 ?? '');
  const returnReservationId = server.return_reservation_id !== undefined && toBoolean(server.return_reservation_id);
  const description = server.description ?? null;

  if (hints.group) await svc.requireGroup(caller, hints.group, maxCount);
  const resources = resourcesOf(toInstanceFlavor(flavor));
  const count = await svc.instancesAllowed(caller, minCount, maxCount, resources);
  await checkBlockDevices(ctx, caller, blockDevices, count);

  const reservationId = `r-${newUuid().slice(0, 8)}`;
  const now = nowIso();
  const instances: Instance[] = [];
  for (let index = 0; index < count; index++) {
    instances.push({
      id: newUuid(),
      projectId: caller.projectId,
      userId: caller.userId,
      name: count > 1 ? `${name}-${index + 1}` : name,
      description,
      flavor: toInstanceFlavor(flavor),
      newFlavor: null,
      oldFlavor: null,
      imageRef: imageId,
      host: null,
      availabilityZone,
      vmState: 'building',
      taskState: 'scheduling',
      powerState: 0,
      keyName,
      keyData,
      userData,
      metadata,
      tags: [],
      securityGroups,
      requestedNetworks: networks ?? 'auto',
      schedulerHints: hints,
      configDrive,
      locked: false,
      lockedBy: null,
      reservationId,
      launchIndex: index,
      fault: null,
      attemptedHosts: [],
      accessIpV4,
      accessIpV6,
      createdAt: now,
      updatedAt: now,
      launchedAt: null,
      terminatedAt: null,
      deleted: false,
    });
  }
  await svc.instances.insert(instances);
  if (hints.group) await svc.addGroupMembers(hints.group, instances.map((i) => i.id));
  for (const instance of instances) await svc.actions.start(instance.id, 'create', caller);
  try {
    await recordBlockDevices(ctx, svc, caller, instances, blockDevices);
  } catch (error) {
    // Refused by the volume service (quota, a volume taken meanwhile): the boot did not happen.
    for (const instance of instances) await svc.instances.markDeleted(instance.id);
    throw error;
  }
  await ctx.bus.cast({ topic: CONDUCTOR_TOPIC }, ConductorMethods.buildInstances, { instanceIds: instances.map((i) => i.id) });
  return { instances, adminPass, reservationId, returnReservationId, requestedSecurityGroups };
}

export function toInstanceFlavor(flavor: InstanceFlavor): InstanceFlavor {
  return {
    id: flavor.id,
    name: flavor.name,
    vcpus: flavor.vcpus,
    memoryMb: flavor.memoryMb,
    rootGb: flavor.rootGb,
    ephemeralGb: flavor.ephemeralGb,
    swapMb: flavor.swapMb,
    extraSpecs: flavor.extraSpecs,
  };
}

/**
 * imageRef is a UUID or a link ending in one; the image must exist, be visible and active.
 * A server booting from a volume has no image of its own ('' as in Nova's views).
 */
async function resolveImage(ctx: ComputeContext, caller: Caller, server: ServerCreateBody['server'], blockDevices: ParsedBlockDevices): Promise<string> {
  if (bootVolumeOf(blockDevices)) return '';
  const ref = server.imageRef === undefined || server.imageRef === '' ? (blockDevices.localImage ?? undefined) : server.imageRef;
  if (ref === undefined || ref === '') {
    if (server.block_device_mapping_v2 !== undefined) throw badRequest('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
    throw badRequest(`Invalid input for field/attribute server. Value: ${pyRepr(server)}. 'imageRef' is a required property`);
  }
  const id = ref.split(/[?#]/, 1)[0]?.split('/').pop() ?? '';
  if (!isUuidLike(id)) throw badRequest('Invalid imageRef provided.');
  const image = await ctx.images.get(caller.projectId, id.toLowerCase());
  if (!image) throw badRequest(`Image ${id} could not be found.`);
  if (image.status !== 'active') throw badRequest(`Image ${id} is not active.`);
  return image.id;
}

/** The metadata quota (Nova's metadata_items, 128): a 403, as Nova's quota check answers. */
export function withinMetadataQuota(metadata: Record<string, string>): Record<string, string> {
  if (Object.keys(metadata).length > 128) throw forbidden('Quota exceeded for metadata items');
  return metadata;
}

/** Nova's `networks` (as its schema let it through): a list of {uuid, port, fixed_ip, tag}, or 'auto' / 'none'. */
export function parseNetworks(value: unknown): RequestedNetwork[] | 'auto' | 'none' | undefined {
  if (value === undefined || value === 'auto' || value === 'none') return value;
  type Entry = { uuid?: string; port?: string | null; fixed_ip?: string; tag?: string };
  return (value as Entry[]).map((e) => {
    const out: RequestedNetwork = {};
    if (e.uuid !== undefined) {
      // Before 2.37 the schema takes any string here; Nova's controller refuses what is not a UUID.
      if (!isUuidLike(e.uuid)) throw badRequest(`Bad networks format: network uuid is not in proper format (${pyRepr(e.uuid)})`);
      out.uuid = e.uuid;
    }
    if (e.port !== undefined && e.port !== null) out.port = e.port;
    if (e.fixed_ip !== undefined) out.fixed_ip = e.fixed_ip;
    if (e.tag !== undefined) out.tag = e.tag;
    if (!out.uuid && !out.port) throw badRequest('Bad network format: missing uuid or port.');
    if (out.port && out.fixed_ip) throw badRequest('Bad networks format: fixed_ip cannot be used with a port.');
    return out;
  });
}

/** The scheduler hints Kumo acts on; the schema checked their ids. */
function parseHints(hints: Record<string, unknown> | undefined): SchedulerHints {
  if (hints === undefined) return {};
  const out: SchedulerHints = {};
  // From some releases on Nova takes a list for group too; it uses the first.
  if (hints.group !== undefined) out.group = Array.isArray(hints.group) ? String(hints.group[0]) : String(hints.group);
  for (const key of ['same_host', 'different_host'] as const) {
    const raw = hints[key];
    if (raw !== undefined) out[key] = (Array.isArray(raw) ? raw : [raw]).map(String);
  }
  return out;
}

export function randomPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}
