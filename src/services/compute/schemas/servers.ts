import * as t from './types.js';
import type { Schema } from './types.js';

/**
 * /servers request schemas, after nova/api/openstack/compute/schemas/servers.py,
 * server_metadata.py and remote_consoles.py, for the microversions Kumo speaks (to 2.41).
 * Deliberate differences: imageRef is any string (see below), and `networks` may be 'auto' or 'none' before 2.37 too (Kumo's
 * clients and tests boot without networks at 2.1); Nova only accepts the strings from 2.37.
 */

const bdmV2Item = t.closedObject({
  virtual_name: { type: 'string', maxLength: 255 },
  volume_id: t.uuid,
  snapshot_id: t.uuid,
  volume_size: { type: ['integer', 'string', 'null'], pattern: '^[0-9]+$', minimum: 0, maximum: 2147483647 },
  device_name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' },
  delete_on_termination: t.boolean,
  no_device: {},
  connection_info: { type: 'string', maxLength: 16777215 },
  source_type: { type: 'string', enum: ['volume', 'image', 'snapshot', 'blank'] },
  uuid: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._-]*$' },
  image_id: t.uuid,
  destination_type: { type: 'string', enum: ['local', 'volume'] },
  guest_format: { type: 'string', maxLength: 255 },
  device_type: { type: 'string', maxLength: 255 },
  disk_bus: { type: 'string', maxLength: 255 },
  boot_index: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$' },
});

const legacyBdmItem = t.closedObject({
  virtual_name: { type: 'string', maxLength: 255 },
  volume_id: t.uuid,
  snapshot_id: t.uuid,
  volume_size: { type: ['integer', 'string', 'null'], pattern: '^[0-9]+$', minimum: 0, maximum: 2147483647 },
  device_name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9._/-]*$' },
  delete_on_termination: t.boolean,
  no_device: {},
  connection_info: { type: 'string', maxLength: 16777215 },
});

const uuidOrList: Schema = { oneOf: [t.uuid, { type: 'array', items: t.uuid }] };
const schedulerHints: Schema = {
  type: 'object',
  properties: {
    group: uuidOrList,
    different_host: uuidOrList,
    same_host: { type: ['string', 'array'], pattern: t.uuid.pattern, items: t.uuid },
    query: { type: ['string', 'object'] },
    target_cell: t.name,
    different_cell: { type: ['string', 'array'], items: { type: 'string' } },
    build_near_host_ip: t.ipAddress,
    cidr: { type: 'string', pattern: '^/[0-9a-f.:]+$' },
  },
  additionalProperties: true,
};

const networkItem = (withTag: boolean, uuidFormat: boolean): Schema =>
  t.closedObject({
    fixed_ip: t.ipAddress,
    port: { type: ['string', 'null'], pattern: t.uuid.pattern },
    uuid: uuidFormat ? t.uuid : { type: 'string' },
    ...(withTag ? { tag: t.tag } : {}),
  });
const networks = (withTag: boolean, uuidFormat: boolean): Schema => ({
  oneOf: [{ type: 'array', items: networkItem(withTag, uuidFormat) }, { type: 'string', enum: ['none', 'auto'] }],
});

const personality: Schema = {
  type: 'array',
  items: t.closedObject({ path: { type: 'string' }, contents: t.base64 }),
};

const serverProperties: Record<string, Schema> = {
  name: t.name,
  // Nova: a UUID or ''. Kept a string here so that a link or a malformed id gets the boot's own
  // 'Invalid imageRef provided.' (servers/create.ts), as Kumo's clients have seen it.
  imageRef: { type: 'string' },
  flavorRef: t.flavorRef,
  adminPass: t.adminPassword,
  metadata: t.metadata,
  networks: networks(false, false),
  'OS-DCF:diskConfig': t.diskConfig,
  accessIPv4: t.accessIPv4,
  accessIPv6: t.accessIPv6,
  personality,
  availability_zone: t.name,
  block_device_mapping: { type: 'array', items: legacyBdmItem },
  block_device_mapping_v2: { type: 'array', items: bdmV2Item },
  config_drive: t.boolean,
  key_name: t.name,
  min_count: t.positiveInteger,
  max_count: t.positiveInteger,
  return_reservation_id: t.boolean,
  security_groups: { type: 'array', items: t.closedObject({ name: t.name }) },
  user_data: { ...t.base64 },
};

const createWith = (properties: Record<string, Schema>, required: string[] = ['name', 'flavorRef']): Schema => ({
  type: 'object',
  properties: {
    server: t.closedObject(properties, required),
    'os:scheduler_hints': schedulerHints,
    'OS-SCH-HNT:scheduler_hints': schedulerHints,
  },
  required: ['server'],
  additionalProperties: false,
});

const withTaggedBdm = { ...serverProperties.block_device_mapping_v2, items: { ...bdmV2Item, properties: { ...(bdmV2Item.properties as object), tag: t.tag } } };
const v219 = { ...serverProperties, description: t.description };

/** POST /servers, by microversion (2.19 description, 2.32 device tags, 2.33 network tags only, 2.37 networks required). */
export const createServer = {
  '2.1': createWith(serverProperties),
  '2.19': createWith(v219),
  '2.32': createWith({ ...v219, networks: networks(true, false), block_device_mapping_v2: withTaggedBdm }),
  '2.33': createWith({ ...v219, networks: networks(true, false) }),
  '2.37': createWith({ ...v219, networks: networks(false, true) }, ['name', 'flavorRef', 'networks']),
};

const updateProperties: Record<string, Schema> = {
  name: t.name,
  'OS-DCF:diskConfig': t.diskConfig,
  accessIPv4: t.accessIPv4,
  accessIPv6: t.accessIPv6,
};

/** PUT /servers/{id} (2.19 description). */
export const updateServer = {
  '2.1': t.envelope('server', t.closedObject(updateProperties)),
  '2.19': t.envelope('server', t.closedObject({ ...updateProperties, description: t.description })),
};

/** POST/PUT /servers/{id}/metadata. */
export const metadataBody = t.envelope('metadata', t.metadata);

/** PUT /servers/{id}/metadata/{key}: exactly one item. */
export const metadataItemBody = t.envelope('meta', { ...t.metadata, minProperties: 1, maxProperties: 1 });

/** POST /servers/{id}/remote-consoles, from 2.6 (before it the route is a 404); 2.8 adds mks. */
export const remoteConsole = {
  '2.6': t.envelope(
    'remote_console',
    t.closedObject(
      {
        protocol: { type: 'string', enum: ['vnc', 'spice', 'rdp', 'serial'] },
        type: { type: 'string', enum: ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial'] },
      },
      ['protocol', 'type'],
    ),
  ),
  '2.8': t.envelope(
    'remote_console',
    t.closedObject(
      {
        protocol: { type: 'string', enum: ['vnc', 'spice', 'rdp', 'serial', 'mks'] },
        type: { type: 'string', enum: ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial', 'webmks'] },
      },
      ['protocol', 'type'],
    ),
  ),
};

const sortKeys = [
  'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'availability_zone', 'config_drive', 'created_at', 'display_description',
  'display_name', 'host', 'hostname', 'image_ref', 'instance_type_id', 'kernel_id', 'key_name', 'launch_index', 'launched_at',
  'locked_by', 'node', 'power_state', 'progress', 'project_id', 'ramdisk_id', 'root_device_name', 'task_state', 'terminated_at',
  'updated_at', 'user_id', 'uuid', 'vm_state', 'architecture', 'cell_name', 'cleaned', 'default_ephemeral_device',
  'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate', 'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data',
  'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb', 'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
];

/** GET /servers and /servers/detail: Nova's query_params_v21 for the parameters it types (others pass, as in Nova before 2.75). */
export const listServersQuery = t.query({
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
  sort_key: t.queryParam({ type: 'string', enum: sortKeys }),
  sort_dir: t.queryParam({ type: 'string', enum: ['asc', 'desc'] }),
  all_tenants: t.queryParam(),
});
