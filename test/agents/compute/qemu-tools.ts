import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onPath } from '../../../src/agents/network/start.js';
import type { QemuSpec } from '../../../src/agents/compute/virt/qemu/process.js';

export const run = promisify(execFile);

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

export { onPath };

/** The tools of `binaries` not installed here, as a sentence, or undefined when all are. */
export function missingTools(binaries: Array<[binary: string, aptPackage: string]>): string | undefined {
  const missing = binaries.filter(([binary]) => !onPath(binary)).map(([binary, pkg]) => `${binary} (apt: ${pkg})`);
  return missing.length === 0 ? undefined : `needs ${missing.join(', ')}`;
}

/**
 * A suite's `skip` option: skipped with the reason where the tools are missing, except in CI,
 * where the suite runs and its `before` fails through `requireTools`.
 */
export function skipUnless(missing: string | undefined): string | false {
  return missing !== undefined && !inCi ? missing : false;
}

export function requireTools(missing: string | undefined): void {
  if (missing !== undefined) throw new Error(`CI is set but ${missing}`);
}

/**
 * A guest that QEMU sets up but never runs (-S), with every socket and file in `dir`: 64 MiB is
 * enough for a guest that never boots a kernel (a real one needs at least 96 MiB).
 */
export function pausedGuestSpec(dir: string, name: string, diskPath: string): QemuSpec {
  return {
    name,
    memoryMb: 64,
    vcpus: 1,
    diskPath,
    tbSizeMb: 16,
    paused: true,
    qmpSocket: join(dir, 'vm.qmp'),
    serialLog: join(dir, 'console.log'),
    pidFile: join(dir, 'vm.pid'),
    vncSocket: join(dir, 'vm.vnc'),
  };
}

/** Does /dev/kvm open read-write here (which says nothing about whether it boots a kernel)? */
export function kvmOpens(): boolean {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}
