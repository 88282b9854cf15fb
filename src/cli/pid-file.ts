import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `DATA/kumo.pid`: which `kumo up` runs on a data directory, so `kumo down` can stop it and a
 * second `kumo up` on the same directory is refused. It holds the pid and the process's start
 * time (from /proc), so a pid the kernel has since given to another process is never taken
 * for Kumo.
 */

const PID_FILE = 'kumo.pid';

export const pidFileOf = (dataDir: string): string => join(dataDir, PID_FILE);

/** When the process started, in clock ticks since boot (field 22 of /proc/PID/stat). */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): a zombie has ended.
    if (fields[0] === 'Z') return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The pid of the `kumo up` that runs on this data directory, if one does. */
export function runningKumo(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFileOf(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started] = text.trim().split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1 || started === undefined) return undefined;
  return startTimeOf(pid) === started ? pid : undefined;
}

/**
 * Records this process as the data directory's `kumo up`; throws when another one runs on it.
 * Returns what removes the record again (only while it is still this process's).
 */
export function claimPidFile(dataDir: string): () => void {
  const other = runningKumo(dataDir);
  if (other !== undefined && other !== process.pid) {
    throw new Error(`a Kumo already runs on ${dataDir} (pid ${other}): stop it (kumo down --data-dir ${dataDir}) or use another data directory`);
  }
  const file = pidFileOf(dataDir);
  writeFileSync(file, `${process.pid}\n${startTimeOf(process.pid) ?? ''}\n`);
  return () => {
    if (runningKumo(dataDir) === process.pid) rmSync(file, { force: true });
  };
}

const STATE_OWNER = 'cloud-id';

/**
 * Marks the state directory (dnsmasq, haproxy and QEMU pid files: what reconcile and `kumo
 * down` go by) as this cloud's, and refuses one another cloud's marks: two clouds given one
 * KUMO_DATAPLANE_STATE_DIR would take each other's daemons for their own.
 */
export function claimStateDir(stateDir: string, cloudId: string, dataDir: string): void {
  const file = join(stateDir, STATE_OWNER);
  let owner: string | undefined;
  try {
    owner = readFileSync(file, 'utf8').split('\n')[0]?.trim();
  } catch {
    // not claimed yet
  }
  if (owner !== undefined && owner !== '' && owner !== cloudId) {
    throw new Error(`the state directory ${stateDir} is cloud ${owner}'s, not this data directory's (${dataDir}, cloud ${cloudId}): give each cloud its own KUMO_DATAPLANE_STATE_DIR`);
  }
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${cloudId}\n${dataDir}\n`);
}
