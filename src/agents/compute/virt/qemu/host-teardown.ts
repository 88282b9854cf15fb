import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { stopDaemon } from '../../../../core/host/daemons.js';
import { checkInstanceId } from './instance-files.js';

/**
 * `kumo down`: ends every QEMU the cloud started, found by the pid files in its own runtime
 * directory (`<stateDir>/qemu/<uuid>/`, guarded by the guest's QMP socket path in the command
 * line, as adoption is), and removes that runtime state. A guest ends as a host losing power
 * would end it; its disk and files in the data directory stay, and the next `kumo up` finds it
 * shut off. Returns the ids of the guests it ended.
 */
export async function endAllGuests(stateDir: string): Promise<string[]> {
  const root = join(stateDir, 'qemu');
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ended: string[] = [];
  for (const name of names) {
    let id: string;
    try {
      id = checkInstanceId(name);
    } catch {
      continue; // not a guest's directory: not ours to judge
    }
    const dir = join(root, id);
    if (await stopDaemon(join(dir, 'qemu.pid'), join(dir, 'qmp.sock'))) ended.push(id);
    await rm(dir, { recursive: true, force: true });
  }
  await rm(root, { recursive: true, force: true });
  return ended;
}
