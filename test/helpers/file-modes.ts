import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Permission bits of `path`, e.g. 0o600. */
export const modeOf = (path: string): number => statSync(path).mode & 0o7777;

/** A mode as `ls -l`'s octal: `0600`. */
export const octal = (mode: number): string => `0${mode.toString(8)}`;

/** `dir` and every file and directory below it whose mode lets group or others in, with that mode. */
export function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    if (!stat.isFile() && !stat.isDirectory()) return;
    if ((stat.mode & 0o077) !== 0) found.push(`${path} ${octal(stat.mode & 0o7777)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return found;
}
