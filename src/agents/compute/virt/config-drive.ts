// placeholder until helper B's version lands
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { VirtError } from './driver.js';

const run = promisify(execFile);

/** An ISO 9660 image labelled config-2 holding `files` (paths relative to its root). */
export async function buildConfigDrive(files: ReadonlyMap<string, Buffer>, isoPath: string): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kumo-config-drive-'));
  try {
    for (const [name, content] of files) {
      const path = normalize(join(root, name));
      if (!path.startsWith(`${root}/`)) throw new VirtError(`config drive path ${JSON.stringify(name)} leaves the drive`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
    await run('genisoimage', ['-o', isoPath, '-ldots', '-allow-lowercase', '-allow-multidot', '-l', '-V', 'config-2', '-r', '-J', '-quiet', root]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
