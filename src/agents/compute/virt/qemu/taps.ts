import { deviceMark, tapName } from '../../../../contracts/host-devices.js';
import { CommandError, runCommand } from '../../../../core/host/commands.js';
import { VirtError } from '../driver.js';

/**
 * A guest's NICs are tap devices named after their ports (`tap` + the first 11 characters of
 * the port id, as contracts/host-devices.ts names a port's tap), so the network agent finds
 * each one and plugs it into its network's bridge. The driver makes them before QEMU starts
 * (QEMU opens a tap by name) and removes them with the instance. With a host namespace (tests
 * stand in for hosts that way) they are made there, with `ip -n`. Each carries its cloud's
 * mark (its alias), so `kumo down` finds it and another cloud on the host leaves it alone.
 */

/** What this driver creates and removes: nothing else, whatever name it is handed. */
const TAP = /^tap[A-Za-z0-9-]{11}$/;
const NAMESPACE = /^[A-Za-z0-9_.-]{1,200}$/;

export function checkTapName(name: string): string {
  if (!TAP.test(name)) throw new VirtError(`${JSON.stringify(name)} is not a tap name of this driver`);
  return name;
}

/** The tap of a port; a port id that cannot name one is refused. */
export function tapOfPort(portId: string): string {
  try {
    return checkTapName(tapName(portId));
  } catch (error) {
    if (error instanceof VirtError) throw error;
    throw new VirtError(`port id ${JSON.stringify(portId)} cannot name a tap: ${(error as Error).message}`);
  }
}

export class Taps {
  private readonly mark: string;

  constructor(
    cloudId: string,
    readonly hostNamespace?: string,
  ) {
    this.mark = deviceMark(cloudId);
    if (hostNamespace !== undefined && (!NAMESPACE.test(hostNamespace) || hostNamespace === '.' || hostNamespace === '..')) {
      throw new VirtError(`${JSON.stringify(hostNamespace)} is not a namespace name`);
    }
  }

  private ip(args: string[]): Promise<string> {
    const full = this.hostNamespace === undefined ? args : ['-n', this.hostNamespace, ...args];
    return runCommand(['ip', ...full], { timeoutMs: 30_000 });
  }

  async exists(name: string): Promise<boolean> {
    checkTapName(name);
    try {
      await this.ip(['link', 'show', 'dev', name]);
      return true;
    } catch {
      return false;
    }
  }

  /** Creates the tap (persistent, so it outlives a QEMU restart), marks it and sets it up; an existing one is kept. */
  async ensure(name: string): Promise<void> {
    checkTapName(name);
    if (!(await this.exists(name))) {
      try {
        await this.ip(['tuntap', 'add', 'dev', name, 'mode', 'tap']);
      } catch (error) {
        // Another caller may have made it meanwhile; only a tap that is still missing is a failure.
        if (!(await this.exists(name))) throw new VirtError(`cannot create tap ${name}: ${stderrOf(error)}`);
      }
    }
    try {
      await this.ip(['link', 'set', 'dev', name, 'alias', this.mark, 'up']);
    } catch (error) {
      throw new VirtError(`cannot set tap ${name} up: ${stderrOf(error)}`);
    }
  }

  /** Removes the tap; a tap that is not there is fine (delete must finish after a failed spawn). */
  async remove(name: string): Promise<void> {
    checkTapName(name);
    try {
      await this.ip(['tuntap', 'del', 'dev', name, 'mode', 'tap']);
    } catch (error) {
      if (await this.exists(name)) throw new VirtError(`cannot remove tap ${name}: ${stderrOf(error)}`);
    }
  }
}

function stderrOf(error: unknown): string {
  if (error instanceof CommandError) return error.stderr.trim() || error.message;
  return error instanceof Error ? error.message : String(error);
}
