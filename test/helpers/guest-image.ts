// kumo-tiny (tools/guest-image/build.sh) for tests that boot it: built once per content hash of
// the recipe and of the installed kernels, cached under the OS temp dir.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onPath } from '../../src/agents/network/start.js';

const execFileAsync = promisify(execFile);

export const QEMU = 'qemu-system-x86_64';

function repoRoot(): string {
  // test/tools (tsx) or dist/test/tools (compiled): walk up to the checkout.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tools', 'guest-image', 'build.sh'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tools/guest-image/build.sh not found above the test file');
    dir = parent;
  }
}

const ROOT = repoRoot();
const TOOLS_DIR = join(ROOT, 'tools', 'guest-image');
const BUILD_SH = join(TOOLS_DIR, 'build.sh');

function errorText(err: unknown): string {
  const e = err as { code?: unknown; stderr?: unknown; message?: unknown };
  if (e.code === 'ENOENT') return 'not installed';
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  return stderr || String(e.message ?? err);
}

/** Why the guest cannot be built and booted here, or null when it can. */
export async function missingGuestImagePrerequisites(): Promise<string | null> {
  const missing: string[] = [];
  try {
    await execFileAsync(QEMU, ['--version']);
  } catch (err) {
    missing.push(`${QEMU}: ${errorText(err)} (apt-get install qemu-system-x86)`);
  }
  try {
    await execFileAsync(BUILD_SH, ['--check']);
  } catch (err) {
    missing.push(errorText(err));
  }
  return missing.length ? missing.join('; ') : null;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out.sort();
}

/** A key for the built image: tools/guest-image (but its docs) plus the installed kernels. */
async function imageKey(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await listFiles(TOOLS_DIR)) {
    if (file.endsWith('.md')) continue; // documentation only
    hash.update(relative(TOOLS_DIR, file)).update('\0').update(await readFile(file)).update('\0');
  }
  const kernels = (await readdir('/boot').catch(() => [] as string[])).filter((n) => n.startsWith('vmlinuz-')).sort();
  hash.update(kernels.join('\n'));
  return hash.digest('hex').slice(0, 16);
}

let imagePromise: Promise<string> | undefined;

function bootFilesOf(image: string): { kernel: string; ramdisk: string } {
  return { kernel: join(dirname(image), 'kumo-tiny.vmlinux'), ramdisk: join(dirname(image), 'kumo-tiny.initrd') };
}

/** kumo-tiny's kernel (an ELF vmlinux QEMU boots directly) and initramfs, built with the image. */
export async function guestBootFiles(): Promise<{ kernel: string; ramdisk: string }> {
  return bootFilesOf(await guestImage());
}

/** Builds the image once per content key (cached under the OS temp dir) and returns its path. */
export function guestImage(): Promise<string> {
  imagePromise ??= (async () => {
    const cacheRoot = join(tmpdir(), 'kumo-guest-image-cache');
    const key = await imageKey();
    const image = join(cacheRoot, key, 'kumo-tiny.qcow2');
    const { kernel, ramdisk } = bootFilesOf(image);
    if ([image, kernel, ramdisk].every((file) => existsSync(file))) return image;
    await mkdir(dirname(image), { recursive: true });
    // build.sh writes a temp file next to each output and renames it: a concurrent build is harmless.
    await execFileAsync(BUILD_SH, ['--kernel-out', kernel, '--ramdisk-out', ramdisk, image], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    // Images of older contents of tools/guest-image are of no more use.
    for (const name of await readdir(cacheRoot)) {
      if (name === key) continue;
      const old = join(cacheRoot, name);
      const info = await stat(old).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > 3_600_000) await rm(old, { recursive: true, force: true });
    }
    return image;
  })();
  return imagePromise;
}

/**
 * Without QEMU the suite is skipped; with QEMU but something else missing (root, qemu-img,
 * the tun device, the guest image's build tools) it is skipped, or fails when CI is set.
 */
export async function qemuSuitePrerequisites(): Promise<{ skip: string | false; missing: string | undefined }> {
  if (!onPath('qemu-system-x86_64')) return { skip: 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)', missing: undefined };
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (taps, namespaces)');
  if (!onPath('qemu-img')) missing.push('qemu-img (apt-get install qemu-utils)');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun');
  const image = await missingGuestImagePrerequisites();
  if (image) missing.push(image);
  if (missing.length === 0) return { skip: false, missing: undefined };
  const inCi = process.env.CI === 'true' || process.env.CI === '1';
  return { skip: inCi ? false : `QEMU is here, but not ${missing.join(', ')}`, missing: missing.join(', ') };
}
