import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

/** The @novnc/novnc package's root: its one export is core/rfb.js. */
const NOVNC_ROOT = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));

/** The package's browser code: what the page imports, directly or not. */
const SERVED_DIRECTORIES = new Set(['core', 'vendor']);
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * Opens one of noVNC's files by its path under the proxy's prefix (`core/rfb.js`), or
 * undefined: only `.js` files under core/ and vendor/, with no `.`/`..` or odd segments, that
 * exist as regular files inside the package.
 */
export async function openNoVncFile(relative: string): Promise<ReadStream | undefined> {
  const segments = relative.split('/');
  if (!SERVED_DIRECTORIES.has(segments[0] ?? '') || segments.length < 2 || !relative.endsWith('.js')) return undefined;
  if (segments.some((s) => s === '.' || s === '..' || !SEGMENT.test(s))) return undefined;
  const path = join(NOVNC_ROOT, ...segments);
  if (!path.startsWith(`${NOVNC_ROOT}${sep}`)) return undefined;
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile()) return undefined;
  return createReadStream(path);
}
