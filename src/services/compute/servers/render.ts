import { createHash } from 'node:crypto';
import type { Microversion } from '../microversion.js';
import { resourceLinks } from '../flavors.js';
import type { Instance } from '../instances/model.js';
import { apiStatus } from '../instances/states.js';
import type { ServerAddress } from '../peers.js';

/** Nova's times in server bodies: `2026-11-23T10:00:00Z`. */
const apiTime = (iso: string) => `${iso.slice(0, 19)}Z`;
/** OS-SRV-USG times: `2026-11-23T10:00:00.000000`, no zone. */
const usageTime = (iso: string | null) => (iso ? `${iso.slice(0, 19)}.${iso.slice(20, 23)}000` : null);

export interface RenderOptions {
  baseUrl: string;
  version: Microversion;
  isAdmin: boolean;
  addresses: ServerAddress[];
  /** Names of the groups on the server's ports the viewer may see, once per port. */
  securityGroups: string[];
  /** The server's volumes (os-extended-volumes), in the order they were mapped. */
  volumes?: Array<{ volumeId: string; deleteOnTermination: boolean }>;
  /** 2.16 host_status, when the caller may see it. */
  hostStatus?: string;
}

/** Nova's hostId: the host hashed with the project, so projects cannot map the cloud's hosts. */
export function hostIdOf(instance: Instance): string {
  if (!instance.host) return '';
  return createHash('sha224').update(`${instance.projectId}${instance.host}`).digest('hex');
}

export function instanceName(instance: Instance): string {
  return `instance-${instance.id.slice(0, 8)}`;
}

export function renderAddresses(addresses: ServerAddress[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const a of addresses) {
    (out[a.networkName] ??= []).push({ version: a.version, addr: a.address, 'OS-EXT-IPS:type': a.type, 'OS-EXT-IPS-MAC:mac_addr': a.mac });
  }
  return out;
}

export function renderBrief(instance: Instance, baseUrl: string): Record<string, unknown> {
  return { id: instance.id, name: instance.name, links: resourceLinks(baseUrl, 'servers', instance.id) };
}

/** The server body of GET /servers/{id} and /servers/detail at the request's microversion. */
export function renderServer(instance: Instance, options: RenderOptions): Record<string, unknown> {
  const { baseUrl, version, isAdmin } = options;
  const status = apiStatus(instance.vmState, instance.taskState);
  const bookmark = (collection: string, id: string) => resourceLinks(baseUrl, collection, id)[1];
  const server: Record<string, unknown> = {
    id: instance.id,
    name: instance.name,
    status,
    tenant_id: instance.projectId,
    user_id: instance.userId,
    metadata: instance.metadata,
    hostId: hostIdOf(instance),
    image: instance.imageRef ? { id: instance.imageRef, links: [bookmark('images', instance.imageRef)] } : '',
    flavor: { id: instance.flavor.id, links: [bookmark('flavors', instance.flavor.id)] },
    created: apiTime(instance.createdAt),
    updated: apiTime(instance.updatedAt),
    addresses: renderAddresses(options.addresses),
    accessIPv4: instance.accessIpV4,
    accessIPv6: instance.accessIpV6,
    links: resourceLinks(baseUrl, 'servers', instance.id),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': instance.host ? (instance.availabilityZone ?? 'nova') : '',
    config_drive: instance.configDrive,
    key_name: instance.keyName,
    'OS-SRV-USG:launched_at': usageTime(instance.launchedAt),
    'OS-SRV-USG:terminated_at': usageTime(instance.terminatedAt),
    'OS-EXT-STS:task_state': instance.taskState,
    'OS-EXT-STS:vm_state': instance.vmState,
    'OS-EXT-STS:power_state': instance.powerState,
    // From 2.3 each entry also says whether the volume goes with the server.
    'os-extended-volumes:volumes_attached': (options.volumes ?? []).map((v) =>
      version.atLeast('2.3') ? { id: v.volumeId, delete_on_termination: v.deleteOnTermination } : { id: v.volumeId },
    ),
  };
  // As Nova: read from the ports, and left out when they carry none (no ports, or all removed).
  if (options.securityGroups.length > 0) server.security_groups = options.securityGroups.map((name) => ({ name }));
  if (status === 'BUILD' || status === 'ACTIVE') server.progress = status === 'ACTIVE' ? 100 : 0;
  if (instance.fault && (status === 'ERROR' || status === 'DELETED')) {
    // Nova shows a 500 fault's details (a trace) to admins only.
    server.fault = {
      code: instance.fault.code,
      created: apiTime(instance.fault.created),
      message: instance.fault.message,
      ...(instance.fault.details && (isAdmin || instance.fault.code !== 500) ? { details: instance.fault.details } : {}),
    };
  }
  if (isAdmin) {
    server['OS-EXT-SRV-ATTR:host'] = instance.host;
    server['OS-EXT-SRV-ATTR:instance_name'] = instanceName(instance);
    server['OS-EXT-SRV-ATTR:hypervisor_hostname'] = instance.host;
    if (version.atLeast('2.3')) {
      server['OS-EXT-SRV-ATTR:reservation_id'] = instance.reservationId;
      server['OS-EXT-SRV-ATTR:launch_index'] = instance.launchIndex;
      server['OS-EXT-SRV-ATTR:hostname'] = hostnameOf(instance.name);
      server['OS-EXT-SRV-ATTR:kernel_id'] = '';
      server['OS-EXT-SRV-ATTR:ramdisk_id'] = '';
      server['OS-EXT-SRV-ATTR:root_device_name'] = '/dev/vda';
      server['OS-EXT-SRV-ATTR:user_data'] = instance.userData;
    }
  }
  if (version.atLeast('2.9')) server.locked = instance.locked;
  if (options.hostStatus !== undefined) server.host_status = options.hostStatus;
  if (version.atLeast('2.19')) server.description = instance.description;
  if (version.atLeast('2.26')) server.tags = instance.tags;
  return server;
}

/** Nova's sanitized hostname: lower-case letters, digits and dashes. */
export function hostnameOf(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return cleaned || 'server';
}

/** What Nova's show leaves out of the PUT /servers/{id} and rebuild answers (before 2.75). */
const NOT_IN_UPDATE_VIEW = new Set(['config_drive', 'key_name', 'security_groups', 'os-extended-volumes:volumes_attached', 'host_status']);

/**
 * The server body of PUT /servers/{id} and the rebuild action: Nova's show without the
 * extension attributes (OS-EXT-*, OS-SRV-USG:*, key_name, ...) and with plain addresses
 * (no OS-EXT-IPS keys); tempest's schemas refuse anything more.
 */
export function renderUpdatedServer(instance: Instance, options: RenderOptions): Record<string, unknown> {
  const server = renderServer(instance, options);
  for (const key of Object.keys(server)) if (key.startsWith('OS-EXT-') || key.startsWith('OS-SRV-USG:') || NOT_IN_UPDATE_VIEW.has(key)) delete server[key];
  const plain: Record<string, unknown[]> = {};
  for (const a of options.addresses) (plain[a.networkName] ??= []).push({ version: a.version, addr: a.address });
  server.addresses = plain;
  return server;
}
