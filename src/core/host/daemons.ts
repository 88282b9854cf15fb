import { readFileSync, rmSync } from 'node:fs';

/**
 * Daemons an agent starts (dnsmasq and haproxy inside namespaces, QEMU with -daemonize, all
 * through commands.ts) are found again by their pid files, so a restarted agent adopts them
 * instead of starting a second one, and ends only processes it started: the pid must still
 * run the command line it was given (`mustMention`, a path unique to that daemon).
 */
export function runningPid(pidFile: string, mustMention: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return cmdline.includes(mustMention) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Ends a daemon we started (by its pid file) and waits briefly for it to go. */
export async function stopDaemon(pidFile: string, mustMention: string): Promise<boolean> {
  const pid = runningPid(pidFile, mustMention);
  rmSync(pidFile, { force: true });
  if (pid === undefined) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 50; i += 1) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
  return true;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; /proc tells it is gone.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
