import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who is moving an image's data. While bytes flow (an upload, a staging upload, an import)
 * the image row carries a lease naming the process; a start uses it to tell a transfer cut
 * off by a crash (its process is gone) from one another process on the same data directory
 * and database is still running, which it must leave alone.
 *
 * A lease is `<host> <pid> <process token>`. A process judges only leases of its own host:
 * a pid that no longer exists, or that now belongs to another process (the token differs),
 * holds nothing. Within this process, the set below says which transfers are running.
 */
const PROCESS_TOKEN = randomUUID();

/** Transfers of each image this process runs now (module-wide: clouds sharing a process share it). */
const running = new Map<string, number>();

export function leaseOfThisProcess(): string {
  return `${hostname()} ${process.pid} ${PROCESS_TOKEN}`;
}

/** Marks a transfer of this process as running until `end()` is called. */
export function beginTransfer(imageId: string): { end(): void } {
  running.set(imageId, (running.get(imageId) ?? 0) + 1);
  let ended = false;
  return {
    end() {
      if (ended) return;
      ended = true;
      const left = (running.get(imageId) ?? 1) - 1;
      if (left > 0) running.set(imageId, left);
      else running.delete(imageId);
    },
  };
}

/** True when nobody is moving the image's data any more under this lease (null: nobody ever was). */
export function isAbandoned(lease: string | null, imageId: string): boolean {
  if (lease === null) return true;
  const [host, pidText, token] = lease.split(' ');
  // Another host's transfer (a shared database, its own disk): not ours to judge.
  if (host !== hostname()) return false;
  const pid = Number(pidText);
  if (pid === process.pid) return token !== PROCESS_TOKEN || !running.has(imageId);
  return !processExists(pid);
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
