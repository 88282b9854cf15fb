import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `dir` and the parents it lacks as 0755, whatever the umask (Kumo runs with 0077):
 * dnsmasq drops to nobody and must walk down to its files. Directories that already exist
 * keep their modes.
 */
export function mkdirReachable(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let made = dir; ; made = dirname(made)) {
    chmodSync(made, 0o755);
    if (made === first || made === dirname(made)) return;
  }
}
