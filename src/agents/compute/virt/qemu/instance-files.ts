import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VirtError, type VolumeAttachment } from '../driver.js';

/**
 * Where one instance's files live. What must survive a host reboot (the disk, the config
 * drive, the console log, what the guest was launched with, the suspended marker) is in
 * `<dataDir>/instances/<uuid>/`, as Nova keeps `instances/<uuid>/`; QEMU's sockets and pid
 * file are runtime state in `<stateDir>/qemu/<uuid>/`, because a unix socket path may not
 * exceed 107 bytes and a data directory can be deep.
 */

/** Nova's instance ids are UUIDs; anything else never becomes a path. */
const INSTANCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkInstanceId(id: string): string {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) throw new VirtError(`${JSON.stringify(id)} is not an instance id (a lowercase UUID)`);
  return id;
}

/** What a guest is launched with, kept beside its disk so it can start again after a restart. */
export interface LaunchRecord {
  id: string;
  vcpus: number;
  /** The flavor's memory; QEMU may get more (see guest.ts, the memory floor). */
  memoryMb: number;
  rootGb: number;
  nics: Array<{ portId: string; mac: string }>;
  configDrive: boolean;
  /** The compute host that spawned it, when the driver was told its name. */
  host?: string;
  /** Boot from volume: the root disk is this volume, and there is no `disk` file. */
  rootVolume?: VolumeAttachment;
  /** Attached volumes, in attach order: a start gives the guest each of them again. */
  volumes?: VolumeAttachment[];
  /** QEMU loads the instance's `kernel` (and `ramdisk` when there is one) with this command line. */
  directBoot?: { ramdisk: boolean; cmdline: string };
}

export class InstanceFiles {
  readonly dir: string;
  readonly runtimeDir: string;

  constructor(
    readonly id: string,
    instancesDir: string,
    runtimeRoot: string,
  ) {
    checkInstanceId(id);
    this.dir = join(instancesDir, id);
    this.runtimeDir = join(runtimeRoot, id);
  }

  get disk(): string {
    return join(this.dir, 'disk');
  }
  /** Per-volume files QEMU reads (an NBD volume's TLS-PSK keys). */
  get volumesDir(): string {
    return join(this.dir, 'volumes');
  }
  /** A direct boot's kernel and initramfs (Nova's instances/<uuid>/kernel and ramdisk). */
  get kernel(): string {
    return join(this.dir, 'kernel');
  }
  get ramdisk(): string {
    return join(this.dir, 'ramdisk');
  }
  get configDrive(): string {
    return join(this.dir, 'disk.config');
  }
  get consoleLog(): string {
    return join(this.dir, 'console.log');
  }
  /** The console log of earlier boots, once console.log grew too big (rotated at launch). */
  get oldConsoleLog(): string {
    return join(this.dir, 'console.log.0');
  }
  get record(): string {
    return join(this.dir, 'instance.json');
  }
  /** Present while the guest's state is saved in its disk (suspend); resume starts from it. */
  get suspendedMarker(): string {
    return join(this.dir, 'suspended');
  }
  get qmpSocket(): string {
    return join(this.runtimeDir, 'qmp.sock');
  }
  /** The serial console as a socket (its output also goes to console.log). */
  get consoleSocket(): string {
    return join(this.runtimeDir, 'console.sock');
  }
  get vncSocket(): string {
    return join(this.runtimeDir, 'vnc.sock');
  }
  get pidFile(): string {
    return join(this.runtimeDir, 'qemu.pid');
  }

  async readRecord(): Promise<LaunchRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.record, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let record: LaunchRecord;
    try {
      record = JSON.parse(text) as LaunchRecord;
    } catch (error) {
      throw new VirtError(`${this.record} is not readable JSON: ${(error as Error).message}`);
    }
    if (record.id !== this.id) throw new VirtError(`${this.record} belongs to ${String(record.id)}, not ${this.id}`);
    return record;
  }

  /** Written whole then renamed, so a crash never leaves half a record. */
  async writeRecord(record: LaunchRecord): Promise<void> {
    const partial = `${this.record}.partial`;
    await writeFile(partial, `${JSON.stringify(record, null, 2)}\n`);
    await rename(partial, this.record);
  }

  async removeRuntime(): Promise<void> {
    await rm(this.runtimeDir, { recursive: true, force: true });
  }

  async removeAll(): Promise<void> {
    await this.removeRuntime();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The ids of the instances with a directory under `instancesDir` (the image cache and strays are skipped). */
export async function instanceIds(instancesDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(instancesDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.filter((name) => INSTANCE_ID.test(name)).sort();
}
