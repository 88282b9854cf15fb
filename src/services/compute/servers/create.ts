import { isUuidLike, newUuid } from '../../../core/ids.js';
import { ConductorMethods, CONDUCTOR_TOPIC } from '../../../contracts/compute.js';
import { badRequest, forbidden, nowIso, authorize, type Caller, type ComputeContext } from '../context.js';
import { findFlavorForBoot } from '../flavors.js';
import { resourcesOf, type Instance, type InstanceFlavor, type SchedulerHints } from '../instances/model.js';
import type { Microversion } from '../microversion.js';
import type { RequestedNetwork } from '../peers.js';
import { accessIp, boolean, integer, invalidInput, member, name as validName, noExtraKeys, pyRepr, string, type Body } from '../validate.js';
import { bootVolumeOf, checkBlockDevices, parseBlockDevices, recordBlockDevices, type ParsedBlockDevices } from './block-device-mapping.js';
import type { ServerServices } from './services.js';

const SERVER_KEYS = [
  'name', 'imageRef', 'flavorRef', 'adminPass', 'metadata', 'networks', 'key_name', 'security_groups', 'user_data',
  'availability_zone', 'min_count', 'max_count', 'return_reservation_id', 'config_drive', 'accessIPv4', 'accessIPv6',
  'OS-DCF:diskConfig', 'block_device_mapping', 'block_device_mapping_v2', 'personality',
];

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
export async function createServers(ctx: ComputeContext, svc: ServerServices, caller: Caller, body: unknown, version: Microversion): Promise<CreateResult> {
  authorize(ctx, caller, 'os_compute_api:servers:create');
  const server = member(body, 'server');
  noExtraKeys(server, 'server', version.atLeast('2.19') ? [...SERVER_KEYS, 'description'] : SERVER_KEYS);
  // From 2.37 a boot must say what network it wants: a list, 'auto' or 'none'.
  if (version.atLeast('2.37') && server.networks === undefined) throw invalidInput('server', server, "'networks' is a required property");
  const bodyObj = body as Body;
  const hints = parseHints(bodyObj['os:scheduler_hints'] ?? bodyObj['OS-SCH-HNT:scheduler_hints']);
  if (!('name' in server)) throw invalidInput('server', server, "'name' is a required property");
  if (!('flavorRef' in server)) throw invalidInput('server', server, "'flavorRef' is a required property");
  const name = validName(server.name, 'name');
  const flavorRef = server.flavorRef;
  if (typeof flavorRef !== 'string' && typeof flavorRef !== 'number') throw invalidInput('flavorRef', flavorRef, `${pyRepr(flavorRef)} is not of type 'string', 'integer'`);
  const flavor = await findFlavorForBoot(ctx, caller, String(flavorRef));
  const blockDevices = parseBlockDevices(server.block_device_mapping_v2, server.imageRef !== undefined && server.imageRef !== '' && server.imageRef !== null);
  const imageId = await resolveImage(ctx, caller, server, blockDevices);
  const minCount = server.min_count === undefined ? 1 : integer(server.min_count, 'min_count', 1);
  const maxCount = server.max_count === undefined ? minCount : integer(server.max_count, 'max_count', 1);
  if (minCount > maxCount) throw badRequest("min_count must be <= max_count");
  const metadata = parseMetadata(server.metadata);
  const networks = parseNetworks(server.networks);
  if (networks !== 'none' && ctx.network) await ctx.network.validate(caller, caller.projectId, networks === undefined ? 'auto' : networks);
  const requestedSecurityGroups = parseSecurityGroups(server.security_groups);
  // As Nova's _check_requested_secgroups: each group exists and is the project's, or the boot is a 400 now.
  const securityGroups = ctx.network?.securityGroups ? await ctx.network.securityGroups.resolveForBoot(caller, requestedSecurityGroups) : requestedSecurityGroups;
  const userData = server.user_data === undefined || server.user_data === null ? null : parseUserData(server.user_data);
  const keyName = server.key_name === undefined || server.key_name === null ? null : string(server.key_name, 'key_name', 1, 255);
  const keyData = keyName === null ? null : await svc.keypairPublicKey(caller.userId, keyName);
  const availabilityZone = server.availability_zone === undefined || server.availability_zone === null ? null : string(server.availability_zone, 'availability_zone', 1, 255);
  if (availabilityZone?.includes(':')) authorize(ctx, caller, 'os_compute_api:servers:create:forced_host');
  const configDrive = server.config_drive === undefined || server.config_drive === null || server.config_drive === '' ? '' : boolean(server.config_drive, 'config_drive') ? 'True' : '';
  const adminPass = server.adminPass === undefined ? randomPassword() : string(server.adminPass, 'adminPass', 0, 255);
  const accessIpV4 = server.accessIPv4 === undefined || server.accessIPv4 === null ? '' : accessIp(server.accessIPv4, 'accessIPv4');
  const accessIpV6 = server.accessIPv6 === undefined || server.accessIPv6 === null ? '' : accessIp(server.accessIPv6, 'accessIPv6');
  const returnReservationId = server.return_reservation_id === undefined ? false : boolean(server.return_reservation_id, 'return_reservation_id');
  const description = server.description === undefined || server.description === null ? null : string(server.description, 'description', 0, 255);

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
async function resolveImage(ctx: ComputeContext, caller: Caller, server: Body, blockDevices: ParsedBlockDevices): Promise<string> {
  if (bootVolumeOf(blockDevices)) return '';
  const ref = server.imageRef === undefined || server.imageRef === '' ? (blockDevices.localImage ?? undefined) : server.imageRef;
  if (ref === undefined || ref === '') {
    if (server.block_device_mapping_v2 !== undefined) throw badRequest('Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.');
    throw invalidInput('server', server, "'imageRef' is a required property");
  }
  if (typeof ref !== 'string') throw invalidInput('imageRef', ref, `${pyRepr(ref)} is not of type 'string'`);
  const id = ref.split(/[?#]/, 1)[0]?.split('/').pop() ?? '';
  if (!isUuidLike(id)) throw badRequest('Invalid imageRef provided.');
  const image = await ctx.images.get(caller.projectId, id.toLowerCase());
  if (!image) throw badRequest(`Image ${id} could not be found.`);
  if (image.status !== 'active') throw badRequest(`Image ${id} is not active.`);
  return image.id;
}

export function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidInput('metadata', value, `${pyRepr(value)} is not of type 'object'`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.length < 1 || key.length > 255) throw invalidInput('metadata', value, `'${key}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'`);
    if (typeof v !== 'string') throw invalidInput(`metadata/${key}`, v, `${pyRepr(v)} is not of type 'string'`);
    if (v.length > 255) throw invalidInput(`metadata/${key}`, v, `${pyRepr(v)} is too long`);
    out[key] = v;
  }
  if (Object.keys(out).length > 128) throw forbidden('Quota exceeded for metadata items');
  return out;
}

/** Nova's `networks`: a list of {uuid, port, fixed_ip, tag}, or (as 2.37 spells it) 'auto' / 'none'. */
export function parseNetworks(value: unknown): RequestedNetwork[] | 'auto' | 'none' | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto' || value === 'none') return value;
  if (!Array.isArray(value)) throw invalidInput('networks', value, `${pyRepr(value)} is not of type 'array'`);
  return value.map((entry, i) => {
    const path = `networks/${i}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalidInput(path, entry, `${pyRepr(entry)} is not of type 'object'`);
    noExtraKeys(entry as Body, path, ['uuid', 'port', 'fixed_ip', 'tag']);
    const e = entry as Body;
    const out: RequestedNetwork = {};
    if (e.uuid !== undefined && e.uuid !== null) {
      if (typeof e.uuid !== 'string' || !isUuidLike(e.uuid)) throw badRequest(`Bad networks format: network uuid is not in proper format (${pyRepr(e.uuid)})`);
      out.uuid = e.uuid;
    }
    if (e.port !== undefined && e.port !== null) {
      if (typeof e.port !== 'string' || !isUuidLike(e.port)) throw invalidInput(`${path}/port`, e.port, `${pyRepr(e.port)} is not a 'uuid'`);
      out.port = e.port;
    }
    if (e.fixed_ip !== undefined && e.fixed_ip !== null) {
      if (typeof e.fixed_ip !== 'string' || !/^[0-9a-fA-F:.]+$/.test(e.fixed_ip)) throw invalidInput(`${path}/fixed_ip`, e.fixed_ip, `${pyRepr(e.fixed_ip)} is not a 'ip-address'`);
      out.fixed_ip = e.fixed_ip;
    }
    if (e.tag !== undefined) out.tag = string(e.tag, `${path}/tag`, 1, 60);
    if (!out.uuid && !out.port) throw badRequest('Bad network format: missing uuid or port.');
    if (out.port && out.fixed_ip) throw badRequest('Bad networks format: fixed_ip cannot be used with a port.');
    return out;
  });
}

function parseSecurityGroups(value: unknown): string[] {
  if (value === undefined) return ['default'];
  if (!Array.isArray(value)) throw invalidInput('security_groups', value, `${pyRepr(value)} is not of type 'array'`);
  const names = value.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalidInput(`security_groups/${i}`, entry, `${pyRepr(entry)} is not of type 'object'`);
    return string((entry as Body).name, `security_groups/${i}/name`, 1, 255);
  });
  return [...new Set(names)];
}

function parseUserData(value: unknown): string {
  const text = string(value, 'user_data', 0, 65535);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text.replace(/\s/g, '')) || text.replace(/\s/g, '').length % 4 !== 0) {
    throw invalidInput('user_data', value, `${pyRepr(value)} is not a 'base64'`);
  }
  return text;
}

function parseHints(value: unknown): SchedulerHints {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidInput('os:scheduler_hints', value, `${pyRepr(value)} is not of type 'object'`);
  const hints = value as Body;
  const out: SchedulerHints = {};
  if (hints.group !== undefined) {
    if (typeof hints.group !== 'string' || !isUuidLike(hints.group)) throw invalidInput('os:scheduler_hints/group', hints.group, `${pyRepr(hints.group)} is not a 'uuid'`);
    out.group = hints.group;
  }
  for (const key of ['same_host', 'different_host'] as const) {
    const raw = hints[key];
    if (raw === undefined) continue;
    const list = Array.isArray(raw) ? raw : [raw];
    for (const id of list) {
      if (typeof id !== 'string' || !isUuidLike(id)) throw invalidInput(`os:scheduler_hints/${key}`, raw, `${pyRepr(id)} is not a 'uuid'`);
    }
    out[key] = list as string[];
  }
  return out;
}

export function randomPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}
