import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, runCommand } from '../core/host/commands.js';
import type { Logger } from '../core/log.js';
import type { Cloud } from '../cloud.js';
import { createImage } from '../services/image/images.js';
import { uploadImageData } from '../services/image/data.js';
import type { Caller } from '../services/image/context.js';

/** Building downloads Debian packages and assembles a disk: minutes on a slow mirror. */
const BUILD_TIMEOUT_MS = 30 * 60_000;

export const GUEST_IMAGE_NAME = 'kumo-tiny';

/** tools/guest-image, found from this file whether it runs from src (tsx) or dist. */
export function guestImageTools(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'tools', 'guest-image');
    if (existsSync(join(candidate, 'build.sh'))) return candidate;
    dir = resolve(dir, '..');
  }
  return undefined;
}

/** A digest of the recipe, so a changed recipe builds a new image instead of reusing the old one. */
export function recipeDigest(tools: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(tools, path)).update(readFileSync(path));
    }
  };
  walk(tools);
  return hash.digest('hex').slice(0, 16);
}

/** Where a built image is kept, shared by every data directory of this user. */
export function guestImageCachePath(tools: string): string {
  const cacheDir = process.env.KUMO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kumo');
  return join(cacheDir, `${GUEST_IMAGE_NAME}-${recipeDigest(tools)}.qcow2`);
}

/**
 * kumo-tiny's kernel (the ELF vmlinux QEMU boots directly) and initramfs, beside the disk in
 * the cache when build.sh was asked for them (--kernel-out, --ramdisk-out): the parts of its
 * AMI-style form (a disk image with kernel_id, ramdisk_id and os_command_line).
 */
export function guestBootFileCachePaths(tools: string): { kernel: string; ramdisk: string } {
  const disk = guestImageCachePath(tools);
  const stem = disk.slice(0, -'.qcow2'.length);
  return { kernel: `${stem}.vmlinux`, ramdisk: `${stem}.initrd` };
}

/**
 * The kernel command line of kumo-tiny's direct boot: the one its boot loader gives
 * (tools/guest-image/syslinux.cfg). cryptomgr.notests skips the crypto self-tests, a tenth of
 * the kernel's CPU time before init under TCG.
 */
export const GUEST_KERNEL_CMDLINE = 'quiet no_timer_check cryptomgr.notests console=tty0 console=ttyS0,115200n8';

export type GuestImageOutcome =
  | { state: 'present' }
  | { state: 'importing'; /** Settles when the image is in Glance (or the attempt failed and was logged). */ done: Promise<void> }
  | { state: 'skipped'; reason: string };

/**
 * As DevStack uploads CirrOS: the first start puts the test guest into Glance as a public
 * image. Building takes a while, so it happens in the background; the answer says what
 * will happen (or why it will not).
 */
export async function ensureGuestImage(cloud: Cloud, log: Logger): Promise<GuestImageOutcome> {
  if (process.env.KUMO_GUEST_IMAGE === 'skip') return { state: 'skipped', reason: 'KUMO_GUEST_IMAGE=skip' };
  const image = cloud.image;
  const existing = await image.records.listVisible({ projectId: null, isAdmin: true }, {});
  if (existing.some((i) => i.name === GUEST_IMAGE_NAME)) return { state: 'present' };
  const tools = guestImageTools();
  if (!tools) return { state: 'skipped', reason: 'tools/guest-image is not beside this installation' };
  const build = join(tools, 'build.sh');
  try {
    await runCommand([build, '--check'], { log });
  } catch (error) {
    const stderr = error instanceof CommandError ? error.stderr : '';
    return { state: 'skipped', reason: `${stderr.trim() || 'build prerequisites missing'} (apt-get install the packages listed in tools/guest-image/README.md)` };
  }
  const file = guestImageCachePath(tools);
  const cacheDir = dirname(file);
  const done = (async () => {
    if (!existsSync(file)) {
      mkdirSync(cacheDir, { recursive: true });
      log.info({ file }, `building ${GUEST_IMAGE_NAME}`);
      await runCommand([build, file], { timeoutMs: BUILD_TIMEOUT_MS, maxOutputBytes: 16 * 1024 * 1024, log });
    }
    const admin = await cloud.identity.context.stores.resources.getProjectByName('default', 'admin');
    const caller: Caller = {
      projectId: admin?.id ?? null,
      isAdmin: true,
      credentials: { user_id: 'kumo-bootstrap', project_id: admin?.id ?? null, roles: ['admin'] },
    };
    const created = await createImage(image, caller, {
      name: GUEST_IMAGE_NAME,
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'public',
      min_ram: 128,
      hw_rng_model: 'virtio',
    });
    await uploadImageData(image, caller, created.id, createReadStream(file));
    log.info({ image: created.id }, `${GUEST_IMAGE_NAME} imported into the image service`);
  })().catch((err: unknown) => log.error({ err }, `could not build or import ${GUEST_IMAGE_NAME}`));
  return { state: 'importing', done };
}
