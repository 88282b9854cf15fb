import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionInfo } from '../../../../contracts/volume.js';
import { VirtError, type VolumeAttachment } from '../driver.js';
import { isPlainPath } from './qemu-img.js';
import type { QmpBlockdevOptions, QmpClient } from '../../../../core/host/qmp.js';

/**
 * Volumes in a QEMU guest, as libvirt plugs them (shared/notes/storage-lab.md): a protocol
 * node (`file` or `nbd`) under a format node (`qcow2` or `raw`), and a virtio-blk-pci device
 * on the format node whose serial is the volume id. The same nodes serve the command line of
 * a start (-blockdev, as JSON) and a hot-plug over QMP (blockdev-add, device_add), so a volume
 * looks the same to the guest either way. NBD exports need TLS-PSK: the key goes into a
 * `keys.psk` file QEMU's tls-creds-psk object reads, beside the instance's other files.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;
const PSK_IDENTITY = /^[A-Za-z0-9._@-]{1,128}$/;
const PSK_KEY = /^[0-9a-fA-F]{2,256}$/;
const EXPORT_NAME = /^[A-Za-z0-9._:@/-]{1,256}$/;
/** How long the guest gets to let go of a disk after device_del (Nova's libvirt waits 20 s per try). */
const DEFAULT_DETACH_TIMEOUT_MS = 20_000;
const DEFAULT_DETACH_ATTEMPTS = 3;
/** How long a guest's I/O to an NBD volume waits for its server to come back (a volume agent restart). */
const NBD_RECONNECT_DELAY_SECONDS = 60;

/** What QEMU is given for one volume. */
export interface VolumeNodes {
  volumeId: string;
  protocol: QmpBlockdevOptions;
  format: QmpBlockdevOptions;
  /** The virtio-blk-pci device's id (device_del names it). */
  deviceId: string;
  serial: string;
  readOnly: boolean;
  /** The tls-creds-psk object an NBD node uses, and the directory of its keys.psk. */
  tls?: { id: string; dir: string; username: string; key: string };
}

export function checkVolumeId(volumeId: string): string {
  if (typeof volumeId !== 'string' || !UUID.test(volumeId)) throw new VirtError(`${JSON.stringify(volumeId)} is not a volume id (a lowercase UUID)`);
  return volumeId;
}

/** QEMU node names are at most 31 characters: a letter and 29 hex digits of the volume id. */
const shortId = (volumeId: string) => volumeId.replaceAll('-', '').slice(0, 29);

/**
 * The nodes of a volume, from its connection info (checked: nothing in it reaches QEMU
 * unless it has the shape its field may have). `names` overrides the node names (the root
 * disk keeps `root-file`/`root`), and `volumesDir` is where NBD keys are written.
 */
export function volumeNodes(volume: VolumeAttachment, volumesDir: string, names?: { protocol: string; format: string; deviceId: string }): VolumeNodes {
  const volumeId = checkVolumeId(volume.volumeId);
  const info: ConnectionInfo = volume.connectionInfo;
  const short = shortId(volumeId);
  const protocolName = names?.protocol ?? `vp${short}`;
  const formatName = names?.format ?? `vf${short}`;
  const readOnly = info.data.access_mode === 'ro';
  const common = { 'read-only': readOnly, 'auto-read-only': false, discard: 'unmap' } as const;
  const base = { volumeId, deviceId: names?.deviceId ?? `vol-${volumeId}`, serial: volumeId, readOnly };
  if (info.driver_volume_type === 'file') {
    const { device_path: path, format } = info.data;
    if (!isPlainPath(path)) throw new VirtError(`volume ${volumeId}: ${JSON.stringify(path)} is not a plain absolute path`);
    if (format !== 'qcow2' && format !== 'raw') throw new VirtError(`volume ${volumeId}: format ${JSON.stringify(format)} is not qcow2 or raw`);
    return {
      ...base,
      protocol: { driver: 'file', 'node-name': protocolName, filename: path, ...common },
      format: { driver: format, 'node-name': formatName, file: protocolName, 'read-only': readOnly },
    };
  }
  if (info.driver_volume_type === 'nbd') {
    const d = info.data;
    if (!HOST.test(d.host)) throw new VirtError(`volume ${volumeId}: ${JSON.stringify(d.host)} is not a host name or address`);
    if (!Number.isInteger(d.port) || d.port < 1 || d.port > 65535) throw new VirtError(`volume ${volumeId}: ${String(d.port)} is not a port`);
    if (!EXPORT_NAME.test(d.export_name)) throw new VirtError(`volume ${volumeId}: ${JSON.stringify(d.export_name)} is not an export name`);
    if (!PSK_IDENTITY.test(d.tls_psk_identity) || !PSK_KEY.test(d.tls_psk_key)) throw new VirtError(`volume ${volumeId}: the TLS-PSK identity or key is malformed`);
    const tlsId = `vt${short}`;
    return {
      ...base,
      protocol: {
        driver: 'nbd',
        'node-name': protocolName,
        server: { type: 'inet', host: d.host, port: String(d.port) },
        export: d.export_name,
        'tls-creds': tlsId,
        // The volume agent restarts its storage daemon with it: the guest's requests wait for the
        // export to come back (and QEMU reconnects) instead of failing at once.
        'reconnect-delay': NBD_RECONNECT_DELAY_SECONDS,
        'read-only': readOnly,
        'auto-read-only': false,
      },
      format: { driver: 'raw', 'node-name': formatName, file: protocolName, 'read-only': readOnly },
      tls: { id: tlsId, dir: join(volumesDir, volumeId), username: d.tls_psk_identity, key: d.tls_psk_key },
    };
  }
  throw new VirtError(`volume ${volumeId}: driver_volume_type ${JSON.stringify((info as { driver_volume_type: unknown }).driver_volume_type)} is not supported (file, nbd)`);
}

/** Writes an NBD volume's keys.psk (mode 0600) before QEMU opens it. */
export async function writeTlsKeys(nodes: VolumeNodes): Promise<void> {
  if (!nodes.tls) return;
  await mkdir(nodes.tls.dir, { recursive: true, mode: 0o700 });
  await writeFile(join(nodes.tls.dir, 'keys.psk'), `${nodes.tls.username}:${nodes.tls.key}\n`, { mode: 0o600 });
}

export async function removeTlsKeys(nodes: VolumeNodes): Promise<void> {
  if (nodes.tls) await rm(nodes.tls.dir, { recursive: true, force: true });
}

/** The command-line arguments that give a guest this volume at start (`bootIndex` for a root volume). */
export function volumeArgs(nodes: VolumeNodes, bootIndex?: number): string[] {
  const args: string[] = [];
  if (nodes.tls) {
    args.push('-object', JSON.stringify({ 'qom-type': 'tls-creds-psk', id: nodes.tls.id, endpoint: 'client', dir: nodes.tls.dir, username: nodes.tls.username }));
  }
  args.push('-blockdev', JSON.stringify(nodes.protocol), '-blockdev', JSON.stringify(nodes.format));
  // Ids and serial are a UUID or derived from one, so the key=value form cannot be subverted.
  const device = `virtio-blk-pci,drive=${nodes.format['node-name']},id=${nodes.deviceId},serial=${nodes.serial}`;
  args.push('-device', bootIndex === undefined ? device : `${device},bootindex=${bootIndex}`);
  return args;
}

/**
 * Hot-plugs the volume: TLS object, protocol node, format node, device. A step that fails
 * undoes the ones before it, so a failed attach leaves nothing in QEMU.
 */
export async function hotplug(qmp: QmpClient, nodes: VolumeNodes): Promise<void> {
  const undo: Array<() => Promise<unknown>> = [];
  try {
    if (nodes.tls) {
      await writeTlsKeys(nodes);
      undo.push(() => removeTlsKeys(nodes));
      await qmp.execute('object-add', { 'qom-type': 'tls-creds-psk', id: nodes.tls.id, endpoint: 'client', dir: nodes.tls.dir, username: nodes.tls.username });
      undo.push(() => qmp.execute('object-del', { id: (nodes.tls as { id: string }).id }));
    }
    await qmp.execute('blockdev-add', nodes.protocol);
    undo.push(() => qmp.execute('blockdev-del', { 'node-name': nodes.protocol['node-name'] }));
    await qmp.execute('blockdev-add', nodes.format);
    undo.push(() => qmp.execute('blockdev-del', { 'node-name': nodes.format['node-name'] }));
    await qmp.execute('device_add', { driver: 'virtio-blk-pci', id: nodes.deviceId, drive: nodes.format['node-name'], serial: nodes.serial });
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw new VirtError(`could not attach volume ${nodes.volumeId}: ${(error as Error).message}`);
  }
}

export interface UnplugOptions {
  timeoutMs?: number;
  attempts?: number;
}

/**
 * Unplugs the volume as libvirt does: device_del, then wait for DEVICE_DELETED (the guest
 * acknowledges the ACPI eject), asked again a few times as Nova retries; only then the nodes
 * go (blockdev-del on a node a device still uses fails). A device QEMU no longer has counts
 * as gone, so a repeated detach finishes the job.
 */
export async function unplug(qmp: QmpClient, nodes: VolumeNodes, options: UnplugOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DETACH_TIMEOUT_MS;
  const attempts = options.attempts ?? DEFAULT_DETACH_ATTEMPTS;
  let gone = false;
  for (let attempt = 1; attempt <= attempts && !gone; attempt += 1) {
    const deleted = qmp.waitForEvent('DEVICE_DELETED', timeoutMs, (e) => e.data?.device === nodes.deviceId);
    try {
      await qmp.execute('device_del', { id: nodes.deviceId });
    } catch (error) {
      deleted.catch(() => undefined);
      // DeviceNotFound: not (or no longer) there.
      if (/not found/i.test((error as Error).message)) {
        gone = true;
        break;
      }
      throw new VirtError(`could not detach volume ${nodes.volumeId}: ${(error as Error).message}`);
    }
    gone = await deleted.then(
      () => true,
      () => false,
    );
  }
  if (!gone) throw new VirtError(`Device detach failed for volume ${nodes.volumeId}: the guest did not release it after ${attempts} attempts`);
  // The nodes may be gone already (a repeated detach): a missing node is not an error here.
  for (const node of [nodes.format['node-name'], nodes.protocol['node-name']]) {
    await qmp.execute('blockdev-del', { 'node-name': node }).catch((error: Error) => {
      if (!/not found|cannot find/i.test(error.message)) throw new VirtError(`could not remove node ${node} of volume ${nodes.volumeId}: ${error.message}`);
    });
  }
  if (nodes.tls) {
    await qmp.execute('object-del', { id: nodes.tls.id }).catch(() => undefined);
    await removeTlsKeys(nodes);
  }
}

/** Online extend: the format node grows to the new size (file volumes only). */
export async function resize(qmp: QmpClient, nodes: VolumeNodes, sizeBytes: number): Promise<void> {
  if (nodes.protocol.driver !== 'file') throw new VirtError(`Cannot grow NBD volume ${nodes.volumeId} while it is attached (QEMU cannot grow NBD nodes); detach it first.`);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) throw new VirtError(`${String(sizeBytes)} is not a size in bytes`);
  await qmp.execute('block_resize', { 'node-name': nodes.format['node-name'], size: sizeBytes });
}
