import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

export const inCi = process.env.CI === 'true' || process.env.CI === '1';

export function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

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
