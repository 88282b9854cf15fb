import { readFileSync } from 'node:fs';
import { CommandError, runCommand } from '../../../../core/host/commands.js';
import { runningPid } from '../../../../core/host/daemons.js';
import { VirtError } from '../driver.js';
import { isPlainPath } from './qemu-img.js';
import { volumeArgs, type VolumeNodes } from './volumes.js';

/**
 * Starts QEMU for one guest and finds it again later. QEMU runs from an argument array (no
 * shell), and every value that lands inside a QEMU option string is checked first: QEMU's
 * option parser splits on commas, so a comma or newline in a path would smuggle in options.
 */

export interface QemuNic {
  /** A tap the network agent already made (QEMU opens it by name; script=no). */
  ifname: string;
  mac: string;
}

export interface QemuSpec {
  /** The guest's name (-name), shown in ps and in QMP. */
  name: string;
  memoryMb: number;
  vcpus: number;
  /** The root disk (qcow2 unless diskFormat says raw); none boots nothing, as in tests. */
  diskPath?: string;
  diskFormat?: 'qcow2' | 'raw';
  qmpSocket: string;
  serialLog: string;
  /**
   * The serial port as a unix socket too (server, no wait): whatever it prints is still logged
   * to serialLog with no client attached, and a client can type into the guest's console.
   */
  consoleSocket?: string;
  pidFile: string;
  vncSocket: string;
  nics?: QemuNic[];
  /** Boot from volume: the root disk is this volume's nodes (instead of diskPath). */
  rootVolume?: VolumeNodes;
  /** Volumes after the root disk and the config drive, in attach order. */
  volumes?: VolumeNodes[];
  /**
   * Direct boot: QEMU loads this kernel (an ELF vmlinux with a PVH entry, or a bzImage) and
   * initramfs itself, with this command line, instead of the firmware booting the disk.
   */
  kernelPath?: string;
  initrdPath?: string;
  kernelCmdline?: string;
  /** A config drive (ISO 9660), attached read-only as a second virtio disk. */
  configDrivePath?: string;
  /** kvm or tcg (default): the driver decides once per host (accel.ts). */
  accel?: 'kvm' | 'tcg';
  /** TCG translation cache in MiB: the default (1 GiB max) dominates RSS on small guests. */
  tbSizeMb?: number;
  /** -loadvm: start from this internal snapshot of the root disk (a suspended guest's saved state). */
  loadvm?: string;
  /** -S: stay in 'prelaunch' until QMP `cont`. */
  paused?: boolean;
  binary?: string;
  /**
   * Run QEMU inside this named network namespace (`ip netns exec NS ...`): QEMU opens its taps
   * by name, so it must live where they are.
   */
  netns?: string;
}

const DEFAULT_BINARY = 'qemu-system-x86_64';
const DEFAULT_TB_SIZE_MB = 32;
/** sun_path is 108 bytes including the terminating NUL. */
const MAX_UNIX_SOCKET_BYTES = 107;
/** Linux IFNAMSIZ is 16 including the NUL. */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Internal snapshot tags the driver uses; QEMU would take a comma as an option separator. */
const SNAPSHOT_TAG = /^[A-Za-z0-9_-]{1,64}$/;
const NAMESPACE = /^[A-Za-z0-9_.-]{1,200}$/;
/** x86's COMMAND_LINE_SIZE is 2048 bytes with the NUL. */
const MAX_KERNEL_CMDLINE_BYTES = 2047;

function checkPath(what: string, path: string, unixSocket = false): void {
  if (!isPlainPath(path)) {
    throw new VirtError(`qemu: ${what} ${JSON.stringify(path)} is not a plain absolute path`);
  }
  if (unixSocket && Buffer.byteLength(path) > MAX_UNIX_SOCKET_BYTES) {
    throw new VirtError(`qemu: ${what} ${path} is longer than a unix socket path may be (${MAX_UNIX_SOCKET_BYTES} bytes)`);
  }
}

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new VirtError(`qemu: ${what} must be an integer from ${min} to ${max}, not ${value}`);
  }
}

/** A kernel command line QEMU passes as it is: one line of printable text the kernel can hold. */
export function checkKernelCmdline(cmdline: string): void {
  if (typeof cmdline !== 'string' || /[\x00-\x1f\x7f]/.test(cmdline)) throw new VirtError('qemu: the kernel command line holds control characters');
  if (Buffer.byteLength(cmdline) > MAX_KERNEL_CMDLINE_BYTES) throw new VirtError(`qemu: the kernel command line is longer than ${MAX_KERNEL_CMDLINE_BYTES} bytes`);
}

export function checkMac(mac: string): void {
  if (!MAC.test(mac)) throw new VirtError(`qemu: ${JSON.stringify(mac)} is not a MAC address`);
  // QEMU refuses a multicast MAC for a NIC (the low bit of the first octet).
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new VirtError(`qemu: ${mac} is a multicast MAC address`);
}

/** Throws VirtError for the first value of the spec that must not reach QEMU. */
export function validateQemuSpec(spec: QemuSpec): void {
  if (!NAME.test(spec.name)) throw new VirtError(`qemu: guest name ${JSON.stringify(spec.name)} is not allowed`);
  checkInt('memoryMb', spec.memoryMb, 16, 4 * 1024 * 1024);
  // QEMU's pc machine allows up to 255 vCPUs without an IOMMU.
  checkInt('vcpus', spec.vcpus, 1, 255);
  checkInt('tbSizeMb', spec.tbSizeMb ?? DEFAULT_TB_SIZE_MB, 1, 2048);
  if (spec.diskPath !== undefined) checkPath('disk', spec.diskPath);
  if (spec.diskPath !== undefined && spec.rootVolume !== undefined) throw new VirtError('qemu: a root disk and a root volume are given');
  if (spec.configDrivePath !== undefined) checkPath('config drive', spec.configDrivePath);
  if (spec.kernelPath !== undefined) checkPath('kernel', spec.kernelPath);
  if (spec.initrdPath !== undefined) checkPath('initrd', spec.initrdPath);
  if ((spec.initrdPath !== undefined || spec.kernelCmdline !== undefined) && spec.kernelPath === undefined) {
    throw new VirtError('qemu: an initrd or a kernel command line needs a kernel');
  }
  if (spec.kernelCmdline !== undefined) checkKernelCmdline(spec.kernelCmdline);
  if (spec.accel !== undefined && spec.accel !== 'kvm' && spec.accel !== 'tcg') {
    throw new VirtError(`qemu: accelerator ${JSON.stringify(spec.accel)} is not kvm or tcg`);
  }
  if (spec.loadvm !== undefined && !SNAPSHOT_TAG.test(spec.loadvm)) {
    throw new VirtError(`qemu: snapshot tag ${JSON.stringify(spec.loadvm)} is not allowed`);
  }
  if (spec.loadvm !== undefined && spec.diskPath === undefined) throw new VirtError('qemu: -loadvm needs a root disk');
  if (spec.netns !== undefined && (!NAMESPACE.test(spec.netns) || spec.netns === '.' || spec.netns === '..')) {
    throw new VirtError(`qemu: namespace ${JSON.stringify(spec.netns)} is not a namespace name`);
  }
  if (spec.diskFormat !== undefined && spec.diskFormat !== 'qcow2' && spec.diskFormat !== 'raw') {
    throw new VirtError(`qemu: disk format ${JSON.stringify(spec.diskFormat)} is not qcow2 or raw`);
  }
  checkPath('QMP socket', spec.qmpSocket, true);
  checkPath('VNC socket', spec.vncSocket, true);
  checkPath('serial log', spec.serialLog);
  if (spec.consoleSocket !== undefined) checkPath('console socket', spec.consoleSocket, true);
  checkPath('pid file', spec.pidFile);
  if (spec.binary !== undefined && spec.binary !== DEFAULT_BINARY) checkPath('binary', spec.binary);
  const seen = new Set<string>();
  for (const nic of spec.nics ?? []) {
    if (!IFNAME.test(nic.ifname) || nic.ifname === '.' || nic.ifname === '..') {
      throw new VirtError(`qemu: tap name ${JSON.stringify(nic.ifname)} is not an interface name`);
    }
    if (seen.has(nic.ifname)) throw new VirtError(`qemu: tap ${nic.ifname} is given twice`);
    seen.add(nic.ifname);
    checkMac(nic.mac);
  }
}

/** The argument array for the spec (validated); the binary is spec.binary or qemu-system-x86_64. */
export function qemuArgs(spec: QemuSpec): string[] {
  validateQemuSpec(spec);
  const args = [
    '-name', spec.name,
    // -nodefaults: no default NIC, serial, parallel, floppy or CD-ROM; everything below is explicit.
    '-nodefaults',
    '-machine', 'pc',
    // KVM only when accel.ts proved it (a nested PVM /dev/kvm is ~100x slower than TCG, guest-lab.md §4).
    '-accel', spec.accel === 'kvm' ? 'kvm' : `tcg,tb-size=${spec.tbSizeMb ?? DEFAULT_TB_SIZE_MB}`,
    '-m', String(spec.memoryMb),
    '-smp', String(spec.vcpus),
    '-display', 'none',
    // VNC needs a graphics device once -nodefaults removed the default one.
    '-device', 'VGA',
    '-vnc', `unix:${spec.vncSocket}`,
    // Logged with no client attached; append keeps the log across restarts.
    '-chardev',
    spec.consoleSocket === undefined
      ? `file,id=serial0,path=${spec.serialLog},append=on`
      : `socket,id=serial0,path=${spec.consoleSocket},server=on,wait=off,logfile=${spec.serialLog},logappend=on`,
    '-serial', 'chardev:serial0',
    '-qmp', `unix:${spec.qmpSocket},server=on,wait=off`,
    '-pidfile', spec.pidFile,
  ];
  if (spec.kernelPath !== undefined) {
    // -kernel, -initrd and -append are whole values (no option parsing), unlike -blockdev's.
    args.push('-kernel', spec.kernelPath);
    if (spec.initrdPath !== undefined) args.push('-initrd', spec.initrdPath);
    if (spec.kernelCmdline !== undefined) args.push('-append', spec.kernelCmdline);
  }
  if (spec.diskPath !== undefined) {
    // -blockdev names the nodes, so the driver's later blockdev-add/device_add use the same scheme.
    args.push(
      '-blockdev', `driver=file,node-name=root-file,filename=${spec.diskPath}`,
      '-blockdev', `driver=${spec.diskFormat ?? 'qcow2'},node-name=root,file=root-file`,
      '-device', 'virtio-blk-pci,drive=root,id=root-disk,bootindex=1',
    );
  }
  if (spec.rootVolume !== undefined) args.push(...volumeArgs(spec.rootVolume, 1));
  if (spec.configDrivePath !== undefined) {
    // Read-only, as Nova attaches config drives; savevm also skips read-only disks.
    args.push(
      '-blockdev', `driver=file,node-name=config-file,filename=${spec.configDrivePath},read-only=on`,
      '-blockdev', 'driver=raw,node-name=config,file=config-file,read-only=on',
      '-device', 'virtio-blk-pci,drive=config,id=config-disk',
    );
  }
  // After the config drive, so a guest's device names stay what they were before a restart.
  for (const volume of spec.volumes ?? []) args.push(...volumeArgs(volume));
  if (spec.loadvm !== undefined) args.push('-loadvm', spec.loadvm);
  (spec.nics ?? []).forEach((nic, i) => {
    args.push(
      '-netdev', `tap,id=net${i},ifname=${nic.ifname},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=net${i},mac=${nic.mac.toLowerCase()},id=nic${i}`,
    );
  });
  if (spec.paused === true) args.push('-S');
  // QEMU forks once the guest is set up (sockets listening, pid file written), then exits 0.
  args.push('-daemonize');
  return args;
}

/**
 * Starts QEMU and returns the daemon's pid. The spec is checked before anything runs; a QEMU
 * already running on the same pid file (and QMP socket) is refused, not started twice.
 */
export async function launchQemu(spec: QemuSpec, timeoutMs = 30_000): Promise<number> {
  const args = qemuArgs(spec);
  const running = findRunning(spec.pidFile, spec.qmpSocket);
  if (running !== undefined) throw new VirtError(`qemu: ${spec.name} already runs as pid ${running}`);
  const binary = spec.binary ?? DEFAULT_BINARY;
  try {
    await runCommand([binary, ...args], { ...(spec.netns !== undefined ? { netns: spec.netns } : {}), timeoutMs });
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    throw new VirtError(`qemu: ${spec.name} did not start: ${error.stderr.trim() || error.message}`);
  }
  const pid = findRunning(spec.pidFile, spec.qmpSocket);
  if (pid === undefined) {
    let content = '';
    try {
      content = readFileSync(spec.pidFile, 'utf8').trim();
    } catch {
      // reported below
    }
    throw new VirtError(`qemu: ${spec.name} started but its pid file ${spec.pidFile} names no QEMU (${JSON.stringify(content)})`);
  }
  return pid;
}

/**
 * The pid of a QEMU we started, found by its pid file, so a restarted agent adopts its
 * guests; `mustMention` (the QMP socket path is unique per guest) guards against a reused pid.
 */
export function findRunning(pidFile: string, mustMention: string): number | undefined {
  return runningPid(pidFile, mustMention);
}
