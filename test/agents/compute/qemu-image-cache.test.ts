// The host image cache of the qemu driver against real qemu-img made images served by a test
// ImageSource: one download per image, verified and complete before it is ever used.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VirtError } from '../../../src/agents/compute/virt/driver.js';
import { canonicalImageId, ImageCache, type ImageSource } from '../../../src/agents/compute/virt/qemu/image-cache.js';
import { missingTools, requireTools, run, skipUnless } from './qemu-tools.js';

const MIB = 1024 * 1024;
const missing = missingTools([['qemu-img', 'qemu-utils'], ['qemu-io', 'qemu-utils']]);

interface Served {
  file: string;
  diskFormat: string | null;
  checksum: string | null;
  /** Pause between 64 KiB chunks, so concurrent callers really overlap the download. */
  delayMs?: number;
  /** The stream breaks after this many bytes, as a dropped connection does. */
  breakAfter?: number;
}

/** Serves image files as the image service would, and counts what it was asked. */
class FileSource implements ImageSource {
  readonly images = new Map<string, Served>();
  downloads = 0;
  /** Whether the last download's stream was read to its end or closed. */
  lastStreamClosed = false;

  async download(_projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }> {
    this.downloads += 1;
    const served = this.images.get(imageId);
    if (!served) throw new Error(`No image found with ID ${imageId}`);
    this.lastStreamClosed = false;
    const stream = createReadStream(served.file, { highWaterMark: 64 * 1024 });
    stream.once('close', () => {
      this.lastStreamClosed = true;
    });
    const data = async function* (): AsyncGenerator<Buffer> {
      let sent = 0;
      for await (const chunk of stream) {
        const buffer = chunk as Buffer;
        if (served.breakAfter !== undefined && sent + buffer.length > served.breakAfter) {
          stream.destroy();
          throw new Error('connection reset by peer');
        }
        sent += buffer.length;
        yield buffer;
        if (served.delayMs) await new Promise((r) => setTimeout(r, served.delayMs));
      }
    };
    return { data: Object.assign(data(), { destroy: () => stream.destroy() }), diskFormat: served.diskFormat, checksum: served.checksum };
  }
}

const md5 = (file: string): string => createHash('md5').update(readFileSync(file)).digest('hex');

describe('qemu image cache', { skip: skipUnless(missing), timeout: 120_000 }, () => {
  let work = '';
  let cacheDir = '';
  let source: FileSource;
  let cache: ImageCache;
  let qcow2 = '';
  let raw = '';
  /** A qcow2 naming /etc/shadow as its backing file. */
  let backed = '';

  /** Serves `file` under a new image id; the checksum is the file's md5 unless given. */
  function serve(file: string, served: Partial<Served> = {}): string {
    const id = randomUUID();
    source.images.set(id, { file, diskFormat: null, checksum: md5(file), ...served });
    return id;
  }

  /** What the cache directory holds besides finished entries: nothing, after any failure. */
  function leftovers(): string[] {
    return existsSync(cacheDir) ? readdirSync(cacheDir).filter((name) => name.startsWith('.')) : [];
  }

  before(async () => {
    requireTools(missing);
    work = mkdtempSync(join(tmpdir(), 'kumo-image-cache-'));
    cacheDir = join(work, '_base');
    source = new FileSource();
    cache = new ImageCache({ dir: cacheDir, source });
    // A 32 MiB qcow2 with 2 MiB of data in it, and a 3 MiB raw disk.
    qcow2 = join(work, 'guest.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '32M']);
    await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 2M', qcow2]);
    raw = join(work, 'guest.raw');
    writeFileSync(raw, Buffer.alloc(3 * MIB, 0x5a));
    backed = join(work, 'backed.qcow2');
    // -u: qemu-img does not open /etc/shadow to write this header.
    await run('qemu-img', ['create', '-q', '-u', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/shadow', backed, '1M']);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('downloads an image once for concurrent boots and reuses the file afterwards', async () => {
    const id = serve(qcow2, { diskFormat: 'qcow2', delayMs: 2 });
    const before = source.downloads;
    const results = await Promise.all([cache.ensure('p1', id), cache.ensure('p1', id), cache.ensure('p2', id.toUpperCase())]);
    assert.equal(source.downloads - before, 1, 'one download for three concurrent ensure() calls');
    for (const result of results) assert.deepEqual(result, { path: join(cacheDir, id), format: 'qcow2', virtualSize: 32 * MIB });
    assert.equal(md5(join(cacheDir, id)), md5(qcow2), 'the cached file is the image, byte for byte');
    assert.equal(statSync(join(cacheDir, id)).mode & 0o777, 0o444, 'a cached image is read-only');

    const later = await cache.ensure('p1', id);
    assert.equal(later.path, join(cacheDir, id));
    assert.equal(source.downloads - before, 1, 'a later boot reuses the cached file');
    // Another process (a restarted agent) finds and re-checks the file instead of fetching it.
    const restarted = new ImageCache({ dir: cacheDir, source });
    assert.deepEqual(await restarted.ensure('p1', id), later);
    assert.equal(source.downloads - before, 1);
    assert.deepEqual(leftovers(), []);
  });

  it('caches a raw image with its file size as virtual size', async () => {
    const id = serve(raw, { diskFormat: 'raw' });
    assert.deepEqual(await cache.ensure('p1', id), { path: join(cacheDir, id), format: 'raw', virtualSize: 3 * MIB });
  });

  it('detects the format itself when the image service does not say it', async () => {
    const id = serve(qcow2, { diskFormat: null });
    assert.equal((await cache.ensure('p1', id)).format, 'qcow2');
  });

  it('refuses an image whose checksum does not match and leaves no cache entry', async () => {
    const id = serve(qcow2, { diskFormat: 'qcow2', checksum: 'd41d8cd98f00b204e9800998ecf8427e' });
    await assert.rejects(cache.ensure('p1', id), (error: Error) => {
      assert.ok(error instanceof VirtError);
      assert.match(error.message, /failed its checksum.*d41d8cd98f00b204e9800998ecf8427e/);
      return true;
    });
    assert.equal(existsSync(join(cacheDir, id)), false);
    assert.deepEqual(leftovers(), []);
    // The failure is not remembered: once the image service has the right data, it works.
    source.images.set(id, { file: qcow2, diskFormat: 'qcow2', checksum: md5(qcow2) });
    assert.equal((await cache.ensure('p1', id)).format, 'qcow2');
  });

  it('keeps nothing of a download that breaks off', async () => {
    const id = serve(qcow2, { diskFormat: 'qcow2', breakAfter: 300 * 1024 });
    await assert.rejects(cache.ensure('p1', id), /could not be cached: connection reset by peer/);
    assert.equal(existsSync(join(cacheDir, id)), false);
    assert.deepEqual(leftovers(), []);
  });

  it('refuses a qcow2 that names a backing file (it would read a host file into the guest)', async () => {
    for (const diskFormat of ['qcow2', null]) {
      const id = serve(backed, { diskFormat });
      await assert.rejects(cache.ensure('p1', id), (error: Error) => {
        assert.ok(error instanceof VirtError);
        assert.match(error.message, /backing file/);
        return true;
      });
      assert.equal(existsSync(join(cacheDir, id)), false);
    }
    assert.deepEqual(leftovers(), []);
  });

  it('refuses a qcow2 with an external data file', async () => {
    const evil = join(work, 'external.qcow2');
    const dataFile = join(work, 'external.data');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${dataFile}`, evil, '1M']);
    const id = serve(evil, { diskFormat: 'qcow2' });
    await assert.rejects(cache.ensure('p1', id), /external data file/);
    assert.equal(existsSync(join(cacheDir, id)), false);
  });

  it('refuses data whose format disagrees with disk_format, both ways', async () => {
    // The dangerous direction: a "raw" image whose bytes are a qcow2 would be probed as qcow2.
    const qcowAsRaw = serve(qcow2, { diskFormat: 'raw' });
    await assert.rejects(cache.ensure('p1', qcowAsRaw), /says disk_format raw but its data is qcow2/);
    const rawAsQcow = serve(raw, { diskFormat: 'qcow2' });
    await assert.rejects(cache.ensure('p1', rawAsQcow), /says disk_format qcow2 but its data is raw/);
    assert.equal(existsSync(join(cacheDir, qcowAsRaw)), false);
    assert.equal(existsSync(join(cacheDir, rawAsQcow)), false);
    assert.deepEqual(leftovers(), []);
  });

  it('refuses formats other than qcow2 and raw, by disk_format before reading and by content', async () => {
    const declared = serve(raw, { diskFormat: 'vmdk' });
    await assert.rejects(cache.ensure('p1', declared), /disk_format vmdk; this driver boots only qcow2 and raw/);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(source.lastStreamClosed, true, 'the unread download is closed, not left open');
    const vmdk = join(work, 'disk.vmdk');
    await run('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '1M']);
    const detected = serve(vmdk, { diskFormat: null });
    await assert.rejects(cache.ensure('p1', detected), /is vmdk; this driver boots only qcow2 and raw/);
    assert.deepEqual(leftovers(), []);
  });

  it('caches kernel (aki) and ramdisk (ari) images as plain files, once, verified, never read as disks', async () => {
    // A kernel file is any bytes; this one even starts like a qcow2 naming a host file, which
    // no disk check must see: QEMU loads it with -kernel, never as a block device.
    const kernel = join(work, 'vmlinux');
    writeFileSync(kernel, Buffer.concat([readFileSync(backed), Buffer.alloc(MIB, 0x90)]));
    const kernelId = serve(kernel, { diskFormat: 'aki', delayMs: 1 });
    const before = source.downloads;
    const paths = await Promise.all([cache.ensureBootFile('p1', kernelId, 'kernel'), cache.ensureBootFile('p1', kernelId.toUpperCase(), 'kernel')]);
    assert.deepEqual(paths, [join(cacheDir, kernelId), join(cacheDir, kernelId)]);
    assert.equal(source.downloads - before, 1, 'one download for concurrent boots');
    assert.equal(md5(join(cacheDir, kernelId)), md5(kernel));
    assert.equal(statSync(join(cacheDir, kernelId)).mode & 0o777, 0o444);
    assert.equal(await cache.ensureBootFile('p2', kernelId, 'kernel'), join(cacheDir, kernelId));
    assert.equal(source.downloads - before, 1, 'a later boot reuses the file');
    const ramdiskId = serve(raw, { diskFormat: 'ari' });
    assert.equal(await cache.ensureBootFile('p1', ramdiskId, 'ramdisk'), join(cacheDir, ramdiskId));
    assert.deepEqual(leftovers(), []);
  });

  it('refuses a kernel or ramdisk image of another disk_format, or one failing its checksum', async () => {
    await assert.rejects(cache.ensureBootFile('p1', serve(qcow2, { diskFormat: 'qcow2' }), 'kernel'), (e: Error) => e instanceof VirtError && /disk_format qcow2; a kernel image must be aki or raw/.test(e.message));
    await assert.rejects(cache.ensureBootFile('p1', serve(raw, { diskFormat: 'aki' }), 'ramdisk'), /a ramdisk image must be ari or raw/);
    await assert.rejects(cache.ensureBootFile('p1', serve(raw, { diskFormat: null }), 'kernel'), /disk_format none/);
    const bad = serve(raw, { diskFormat: 'aki', checksum: 'd41d8cd98f00b204e9800998ecf8427e' });
    await assert.rejects(cache.ensureBootFile('p1', bad, 'kernel'), /failed its checksum/);
    assert.equal(existsSync(join(cacheDir, bad)), false);
    assert.deepEqual(leftovers(), []);
  });

  it('refuses bad image ids before touching the disk or the image service', async () => {
    const untouched = join(work, 'never-created');
    const fresh = new ImageCache({ dir: untouched, source });
    const before = source.downloads;
    for (const bad of ['../../etc/shadow', '', 'x'.repeat(36), '0000000-0000-0000-0000-000000000000', `${randomUUID()}\n`, `${randomUUID()},x`]) {
      await assert.rejects(fresh.ensure('p1', bad), (error: Error) => {
        assert.ok(error instanceof VirtError, `${JSON.stringify(bad)}: ${error.message}`);
        assert.match(error.message, /is not a UUID/);
        return true;
      });
    }
    assert.equal(source.downloads, before);
    assert.equal(existsSync(untouched), false);
    assert.throws(() => new ImageCache({ dir: '/tmp/a,b', source }), VirtError);
    assert.throws(() => new ImageCache({ dir: 'relative/dir', source }), VirtError);
  });

  it('names cache files by the canonical image id', () => {
    assert.equal(canonicalImageId('0123456789ABCDEF0123456789abcdef'), '01234567-89ab-cdef-0123-456789abcdef');
    assert.equal(cache.pathOf('01234567-89AB-CDEF-0123-456789ABCDEF'), join(cacheDir, '01234567-89ab-cdef-0123-456789abcdef'));
  });

  it('turns an image service refusal into a VirtError and caches nothing', async () => {
    const unknown = randomUUID();
    await assert.rejects(cache.ensure('p1', unknown), (error: Error) => {
      assert.ok(error instanceof VirtError);
      assert.match(error.message, new RegExp(`image ${unknown} could not be downloaded: No image found`));
      return true;
    });
    assert.equal(existsSync(join(cacheDir, unknown)), false);
  });

  it('sweeps unfinished downloads left by processes that died', async () => {
    const dir = join(work, 'sweep');
    const sweeper = new ImageCache({ dir, source });
    const first = serve(raw, { diskFormat: 'raw' });
    await sweeper.ensure('p1', first);
    // pid 2^22 + 1 is above Linux's pid_max: no process has it.
    const dead = `.${randomUUID()}.4194305.0a1b2c3d.part`;
    const living = `.${randomUUID()}.${process.pid}.0a1b2c3d.part`;
    writeFileSync(join(dir, dead), 'half an image');
    writeFileSync(join(dir, living), 'being written');
    await new ImageCache({ dir, source }).ensure('p1', serve(raw, { diskFormat: 'raw' }));
    assert.equal(existsSync(join(dir, dead)), false, 'a dead process’s part file is removed');
    assert.equal(existsSync(join(dir, living)), true, 'a live process’s part file is left alone');
    // A file copied into the cache by hand is checked like a download before it is used.
    const planted = randomUUID();
    copyFileSync(backed, join(dir, planted));
    await assert.rejects(sweeper.ensure('p1', planted), /backing file/);
  });
});
