// Instance disks of the qemu driver on real qemu-img: overlays on a cached base, growing, and
// exports that stand alone (no backing file, the same content).
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { alive } from '../../../src/core/host/daemons.js';
import { VirtError } from '../../../src/agents/compute/virt/driver.js';
import { createOverlay, exportDisk, growDisk } from '../../../src/agents/compute/virt/qemu/disk.js';
import type { CachedImage } from '../../../src/agents/compute/virt/qemu/image-cache.js';
import { launchQemu } from '../../../src/agents/compute/virt/qemu/process.js';
import { imageInfo } from '../../../src/agents/compute/virt/qemu/qemu-img.js';
import { missingTools, onPath, pausedGuestSpec, requireTools, run, skipUnless } from './qemu-tools.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const missing = missingTools([['qemu-img', 'qemu-utils'], ['qemu-io', 'qemu-utils']]);

/** `qemu-io -c 'read -P <byte> <offset> <length>'`: resolves when the range holds that byte throughout. */
async function holds(path: string, format: string, pattern: number, offset: string, length: string): Promise<boolean> {
  try {
    await run('qemu-io', ['-f', format, '-r', '-c', `read -P 0x${pattern.toString(16)} ${offset} ${length}`, path]);
    return true;
  } catch (error) {
    // qemu-io exits 1 and says so when the pattern does not match; anything else is a real failure.
    if (/Pattern verification failed/.test((error as { stdout?: string }).stdout ?? '')) return false;
    throw error;
  }
}

async function saveExport(data: AsyncIterable<Buffer>, path: string): Promise<void> {
  await pipeline(Readable.from(data), createWriteStream(path));
}

describe('qemu instance disks', { skip: skipUnless(missing), timeout: 120_000 }, () => {
  let work = '';
  let base: CachedImage;
  let bigBase: CachedImage;
  let n = 0;
  const fresh = (name: string): string => join(work, `${name}-${(n += 1)}.qcow2`);

  before(async () => {
    requireTools(missing);
    work = mkdtempSync(join(tmpdir(), 'kumo-disk-'));
    const basePath = join(work, 'base.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', basePath, '64M']);
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 1M', basePath]);
    base = { path: basePath, format: 'qcow2', virtualSize: 64 * MIB };
    const bigPath = join(work, 'big.raw');
    await run('qemu-img', ['create', '-q', '-f', 'raw', bigPath, '2G']);
    bigBase = { path: bigPath, format: 'raw', virtualSize: 2 * GIB };
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('makes an overlay that keeps the image size for a 0 GB flavor disk', async () => {
    const overlay = fresh('zero');
    await createOverlay(base, overlay, 0);
    const info = await imageInfo(overlay, 'qcow2');
    assert.equal(info.virtualSize, 64 * MIB);
    assert.equal(info.backingFilename, base.path);
    assert.equal(await holds(overlay, 'qcow2', 0xab, '0', '1M'), true, 'the overlay reads the base');
  });

  it('makes an overlay the size of the flavor disk, on a raw base too', async () => {
    const overlay = fresh('sized');
    await createOverlay(base, overlay, 1);
    assert.equal((await imageInfo(overlay, 'qcow2')).virtualSize, GIB);
    const onRaw = fresh('on-raw');
    await createOverlay(bigBase, onRaw, 3);
    const info = await imageInfo(onRaw, 'qcow2');
    assert.equal(info.virtualSize, 3 * GIB);
    assert.equal(info.backingFilename, bigBase.path);
  });

  it('refuses a flavor disk smaller than the image (FlavorDiskSmallerThanImage)', async () => {
    const overlay = fresh('small');
    await assert.rejects(createOverlay(bigBase, overlay, 1), (error: Error) => {
      assert.ok(error instanceof VirtError);
      assert.equal(error.message, `Flavor's disk is too small for requested image. Flavor disk is ${GIB} bytes, image is ${2 * GIB} bytes.`);
      return true;
    });
    assert.equal(existsSync(overlay), false);
  });

  it('refuses bad sizes, paths that qemu-img would parse, and overwriting a disk', async () => {
    for (const size of [-1, 1.5, Number.NaN, 1e9]) {
      await assert.rejects(createOverlay(base, fresh('bad-size'), size), /whole number of GiB/);
    }
    for (const path of [join(work, 'a,b.qcow2'), join(work, 'a\nb.qcow2'), 'relative.qcow2', `${work}/../up.qcow2`, `json:{"file":"x"}`]) {
      await assert.rejects(createOverlay(base, path, 0), /is not a plain absolute path/, path);
    }
    await assert.rejects(createOverlay({ ...base, path: join(work, 'x,backing_file=/etc/shadow') }, fresh('evil'), 0), /not a plain absolute path/);
    const taken = fresh('taken');
    writeFileSync(taken, 'precious');
    await assert.rejects(createOverlay(base, taken, 0), /already exists/);
    assert.equal(readFileSync(taken, 'utf8'), 'precious');
  });

  it('grows a disk, and refuses to shrink it', async () => {
    const overlay = fresh('grow');
    await createOverlay(base, overlay, 1);
    await growDisk(overlay, 2);
    assert.equal((await imageInfo(overlay, 'qcow2')).virtualSize, 2 * GIB);
    await growDisk(overlay, 2);
    assert.equal((await imageInfo(overlay, 'qcow2')).virtualSize, 2 * GIB, 'the same size is a no-op');
    await assert.rejects(growDisk(overlay, 1), (error: Error) => {
      assert.ok(error instanceof VirtError);
      assert.match(error.message, /cannot shrink/);
      return true;
    });
    assert.equal((await imageInfo(overlay, 'qcow2')).virtualSize, 2 * GIB);
    assert.equal(await holds(overlay, 'qcow2', 0xab, '0', '1M'), true, 'growing keeps the data');
    await assert.rejects(growDisk(join(work, 'missing.qcow2'), 1), /qemu-img info failed/);
  });

  it('exports a disk as a standalone qcow2 and raw image with the same content', async () => {
    const overlay = fresh('export');
    await createOverlay(base, overlay, 0);
    // The guest's writes: one range over the base's data, one beyond it.
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcd 512k 64k', '-c', 'write -P 0xef 8M 1M', overlay]);
    for (const format of ['qcow2', 'raw'] as const) {
      const exported = await exportDisk(overlay, format);
      assert.deepEqual(readdirSync(work).filter((name) => name.includes('.export-')), [], 'the copy has no name left on disk');
      const saved = join(work, `exported-${n}.${format}`);
      await saveExport(exported.data, saved);
      await exported.cleanup();
      const info = await imageInfo(saved, format);
      assert.equal(info.format, format);
      assert.equal(info.backingFilename, undefined, `the ${format} export has no backing file`);
      assert.equal(info.virtualSize, 64 * MIB);
      // qemu-img compare exits 0 when both read the same, guest-visible content.
      await run('qemu-img', ['compare', '-f', 'qcow2', '-F', format, overlay, saved]);
      assert.equal(await holds(saved, format, 0xab, '0', '512k'), true);
      assert.equal(await holds(saved, format, 0xcd, '512k', '64k'), true);
      assert.equal(await holds(saved, format, 0xef, '8M', '1M'), true);
      assert.equal(await holds(saved, format, 0xab, '8M', '1M'), false, 'the check can tell different content apart');
    }
  });

  it('cleans up an export nobody read', async () => {
    const overlay = fresh('unread');
    await createOverlay(base, overlay, 0);
    const exported = await exportDisk(overlay, 'qcow2');
    await exported.cleanup();
    await exported.cleanup();
    assert.deepEqual(readdirSync(work).filter((name) => name.includes('.export-')), []);
  });

  it('exports a raw disk as raw even when the guest wrote a qcow2 header naming a host file into it', async () => {
    // What a guest can do to its own raw disk: write a qcow2 header whose backing file is a host file.
    const header = join(work, 'header.qcow2');
    await run('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', header, '1M']);
    const disk = join(work, 'guest-wrote.raw');
    const content = Buffer.alloc(4 * MIB);
    readFileSync(header).copy(content);
    writeFileSync(disk, content);
    const exported = await exportDisk(disk, 'raw', 'raw');
    const saved = join(work, 'guest-wrote-export.raw');
    await saveExport(exported.data, saved);
    await exported.cleanup();
    assert.deepEqual(readFileSync(saved), content, 'the export is the disk’s bytes, not the host file');
  });

  it('refuses a missing disk, bad formats and unsafe paths', async () => {
    await assert.rejects(exportDisk(join(work, 'missing.qcow2'), 'qcow2'), (error: Error) => {
      assert.ok(error instanceof VirtError);
      assert.match(error.message, /qemu-img convert failed/);
      return true;
    });
    assert.deepEqual(readdirSync(work).filter((name) => name.includes('.export-')), []);
    await assert.rejects(exportDisk(join(work, 'base.qcow2'), 'vmdk' as 'raw'), /is not qcow2 or raw/);
    await assert.rejects(exportDisk(join(work, 'a,b'), 'qcow2'), /not a plain absolute path/);
    await assert.rejects(growDisk(join(work, 'a:b'), 1), /not a plain absolute path/);
  });

  it('exports the disk of a running QEMU (-U: it holds the disk locked)', { skip: onPath('qemu-system-x86_64') && process.getuid?.() === 0 ? false : 'needs qemu-system-x86_64 and root' }, async () => {
    const overlay = fresh('running');
    await createOverlay(base, overlay, 0);
    const dir = mkdtempSync(join(tmpdir(), 'kumo-disk-vm-'));
    let pid: number | undefined;
    try {
      pid = await launchQemu(pausedGuestSpec(dir, 'kumo-disk-test', overlay));
      // Without -U this fails: "Failed to get shared "write" lock".
      await assert.rejects(run('qemu-img', ['info', '-f', 'qcow2', overlay]), /lock/);
      const exported = await exportDisk(overlay, 'qcow2');
      const saved = join(work, 'running-export.qcow2');
      await saveExport(exported.data, saved);
      await exported.cleanup();
      assert.equal((await imageInfo(saved, 'qcow2')).backingFilename, undefined);
      assert.equal(await holds(saved, 'qcow2', 0xab, '0', '1M'), true);
    } finally {
      if (pid !== undefined && alive(pid)) {
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100 && alive(pid); i += 1) await new Promise((r) => setTimeout(r, 20));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
