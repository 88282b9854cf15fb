import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { CommandError, runCommand } from '../../../core/host/commands.js';
import { VirtError } from './driver.js';

/** The volume label cloud-init and Glean look for (Nova's CONFIGDRIVEVOLUMELABEL). */
export const CONFIG_DRIVE_LABEL = 'config-2';

/** One path segment of a drive file: what Nova's layout uses, and nothing a shell or ISO tree could misread. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * Checks a drive file's path: relative, `/`-separated, no `.`/`..` or empty segments, so a
 * file cannot land outside the drive's tree. Returns the segments.
 */
export function driveFileSegments(path: string): string[] {
  if (path === '' || isAbsolute(path)) throw new VirtError(`config drive file ${JSON.stringify(path)}: the path must be relative`);
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '..' || segment === '.' || !SEGMENT.test(segment)) {
      throw new VirtError(`config drive file ${JSON.stringify(path)}: bad path segment ${JSON.stringify(segment)}`);
    }
  }
  return segments;
}

/**
 * Writes `files` (relative path -> content) as an ISO 9660 image with Rock Ridge and Joliet
 * names and the label `config-2` at `isoPath`, with the genisoimage options Nova's
 * nova/virt/configdrive.py uses. The files are staged in a temporary directory next to the
 * image (removed whatever happens), and the image appears under its name only once complete.
 */
export async function buildConfigDrive(files: ReadonlyMap<string, Buffer>, isoPath: string): Promise<void> {
  if (!isAbsolute(isoPath)) throw new VirtError(`config drive ${JSON.stringify(isoPath)}: the image path must be absolute`);
  const checked = [...files].map(([path, content]) => ({ segments: driveFileSegments(path), content }));
  const staging = await mkdtemp(join(dirname(isoPath), '.config-drive-')).catch((error: Error) => {
    throw new VirtError(`config drive ${isoPath}: ${error.message}`);
  });
  const partial = `${isoPath}.partial`;
  try {
    const root = join(staging, 'root');
    await mkdir(root);
    for (const { segments, content } of checked) {
      const target = join(root, ...segments);
      await mkdir(dirname(target), { recursive: true });
      // `wx`: a path given twice, or a file where a directory must be, is an error, not an overwrite.
      await writeFile(target, content, { flag: 'wx' });
    }
    try {
      await runCommand(
        ['genisoimage', '-o', partial, '-ldots', '-allow-lowercase', '-allow-multidot', '-l', '-publisher', 'Kumo', '-quiet', '-J', '-r', '-V', CONFIG_DRIVE_LABEL, root],
        { timeoutMs: 120_000, maxOutputBytes: 1024 * 1024 },
      );
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      throw new VirtError(`genisoimage could not build the config drive: ${error.stderr.trim() || error.message}`);
    }
    await rename(partial, isoPath);
  } catch (error) {
    if (error instanceof VirtError) throw error;
    throw new VirtError(`config drive ${isoPath}: ${(error as Error).message}`);
  } finally {
    // Not recursive: whatever else sits at that name is not ours to remove.
    await rm(partial, { force: true }).catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
  }
}
