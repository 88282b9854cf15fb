import type { ConnectionInfo, VolumeAttachmentView, VolumeConnector } from '../../contracts/volume.js';
import type { AttachmentRow, SnapshotRow, VolumeRow, VolumeTypeRow } from './tables.js';
import type { VolumeMicroversion } from './microversion.js';

/** Cinder prints times without a zone, with microseconds. */
export const cinderTime = (iso: string | null): string | null => (iso ? iso.replace('Z', '').padEnd(26, '0').slice(0, 26) : null);

export function volumeLinks(base: string, projectId: string, id: string, kind = 'volumes') {
  return [
    { rel: 'self', href: `${base}/v3/${projectId}/${kind}/${id}` },
    { rel: 'bookmark', href: `${base}/${projectId}/${kind}/${id}` },
  ];
}

export function renderVolumeSummary(row: VolumeRow, base: string) {
  return { id: row.id, name: row.name, links: volumeLinks(base, row.project_id, row.id) };
}

export function renderVolume(
  row: VolumeRow,
  opts: {
    base: string;
    type: VolumeTypeRow | undefined;
    attachments: AttachmentRow[];
    isAdmin: boolean;
    version: VolumeMicroversion;
    /** Show and detail list carry the extension attributes (os-vol-*, image metadata); create and update answers do not, as Cinder's. */
    extended: boolean;
  },
): Record<string, unknown> {
  const { version } = opts;
  const imageMetadata = JSON.parse(row.image_metadata) as Record<string, string>;
  const body: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    size: row.size,
    availability_zone: row.availability_zone,
    created_at: cinderTime(row.created_at),
    updated_at: cinderTime(row.updated_at),
    attachments: opts.attachments
      .filter((a) => a.attach_status === 'attached')
      .map((a) => ({
        id: a.volume_id,
        attachment_id: a.id,
        volume_id: a.volume_id,
        server_id: a.instance_uuid,
        host_name: a.attached_host,
        device: a.mountpoint,
        attached_at: cinderTime(a.attached_at),
      })),
    bootable: row.bootable === 1 ? 'true' : 'false',
    encrypted: false,
    multiattach: row.multiattach === 1,
    replication_status: null,
    consistencygroup_id: null,
    snapshot_id: row.snapshot_id,
    source_volid: row.source_volid,
    volume_type: opts.type?.name ?? null,
    metadata: { ...(JSON.parse(row.metadata) as Record<string, string>), ...(JSON.parse(row.admin_metadata) as Record<string, string>) },
    user_id: row.user_id,
    links: volumeLinks(opts.base, row.project_id, row.id),
  };
  if (opts.extended) {
    body['os-vol-tenant-attr:tenant_id'] = row.project_id;
    if (Object.keys(imageMetadata).length > 0) body.volume_image_metadata = imageMetadata;
  }
  if (opts.extended && opts.isAdmin) {
    body['os-vol-mig-status-attr:migstat'] = null;
    body['os-vol-mig-status-attr:name_id'] = null;
  }
  if (opts.extended && opts.isAdmin) body['os-vol-host-attr:host'] = row.host ? `${row.host}#${row.host.split('@')[1] ?? 'pool'}` : null;
  if (version.atLeast('3.13')) body.group_id = row.group_id;
  if (version.atLeast('3.21')) body.provider_id = null;
  if (version.atLeast('3.48')) body.shared_targets = false;
  if (version.atLeast('3.48')) body.service_uuid = null;
  if (version.atLeast('3.61') && opts.isAdmin && opts.extended) body.cluster_name = null;
  if (version.atLeast('3.63')) body.volume_type_id = row.volume_type_id;
  if (version.atLeast('3.65')) body.consumes_quota = true;
  return body;
}

/** `extended`: show and list carry the os-extended-snapshot-attributes; create and update answers do not. */
export function renderSnapshot(row: SnapshotRow, version: VolumeMicroversion, _isAdmin: boolean, extended = true): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: row.id,
    name: row.name,
    description: row.description,
    volume_id: row.volume_id,
    status: row.status,
    size: row.size,
    created_at: cinderTime(row.created_at),
    updated_at: cinderTime(row.updated_at),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
  };
  if (extended) {
    body['os-extended-snapshot-attributes:project_id'] = row.project_id;
    body['os-extended-snapshot-attributes:progress'] = row.status === 'available' ? '100%' : '0%';
  }
  if (version.atLeast('3.41')) body.user_id = row.user_id;
  if (version.atLeast('3.65')) body.consumes_quota = true;
  if (version.atLeast('3.14')) body.group_snapshot_id = row.group_snapshot_id;
  return body;
}

/**
 * The connection info an API caller sees. An nbd backend's TLS-PSK key opens every export of its
 * storage daemon (QEMU's NBD server authenticates attachers, not exports), so it is shown only to
 * admins (the service user, the compute side); a member sees it masked, as oslo masks secrets.
 * Kumo's compute gets it through the in-process VolumeClient, never this view.
 */
export function connectionInfoFor(info: unknown, admin: boolean): unknown {
  if (admin || typeof info !== 'object' || info === null) return info;
  const typed = info as { driver_volume_type?: unknown; data?: Record<string, unknown> };
  if (typed.driver_volume_type !== 'nbd' || typeof typed.data !== 'object' || typed.data === null) return info;
  return { ...typed, data: { ...typed.data, tls_psk_key: '***' } };
}

export function renderAttachment(row: AttachmentRow, admin: boolean): Record<string, unknown> {
  return {
    id: row.id,
    volume_id: row.volume_id,
    instance: row.instance_uuid,
    status: row.attach_status,
    attach_mode: row.attach_mode,
    attached_at: cinderTime(row.attached_at),
    detached_at: cinderTime(row.detached_at),
    connection_info: row.connection_info ? connectionInfoFor(JSON.parse(row.connection_info) as unknown, admin) : {},
  };
}

export function renderAttachmentView(row: AttachmentRow): VolumeAttachmentView {
  return {
    id: row.id,
    volume_id: row.volume_id,
    instance: row.instance_uuid,
    status: row.attach_status as VolumeAttachmentView['status'],
    attach_mode: row.attach_mode as 'rw' | 'ro',
    attached_at: row.attached_at,
    detached_at: row.detached_at,
    connection_info: row.connection_info ? (JSON.parse(row.connection_info) as ConnectionInfo) : null,
    connector: row.connector ? (JSON.parse(row.connector) as VolumeConnector) : null,
  };
}
