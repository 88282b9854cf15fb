import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What a Kumo process creates is its owner's alone: the data directory holds the database
 * (password hashes, EC2 secrets), keys and client files. Files other programs must read
 * (dnsmasq's, which runs as nobody) get their modes explicitly where they are written.
 */
export const PRIVATE_UMASK = 0o077;

/**
 * Creates the data directory as 0700, or makes an existing one so and takes group and other
 * access away from everything directly inside it (an older version left the database and the
 * client files 0644); deeper files are out of others' reach behind it. The directory is Kumo's
 * own: a shared one (world-writable, like /tmp) is refused rather than closed to everyone.
 */
export function preparePrivateDataDir(dataDir: string): void {
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 }) !== undefined) {
    chmodSync(dataDir, 0o700);
    return;
  }
  if ((statSync(dataDir).mode & 0o002) !== 0 || resolve(dataDir) === '/') {
    throw new Error(`${dataDir} is shared with others: Kumo makes its data directory private (0700), so give it one of its own`);
  }
  chmodSync(dataDir, 0o700);
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (!entry.isFile() && !entry.isDirectory()) continue;
    const path = join(dataDir, entry.name);
    const mode = statSync(path).mode & 0o7777;
    if ((mode & 0o077) !== 0) chmodSync(path, mode & ~0o077);
  }
}
