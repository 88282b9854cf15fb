// ImageLookup.download, compute's way to an image's data, through a real test cloud: the same
// visibility rules as GET /v2/images/{id}/file, and only active images. Then the qemu driver's
// image cache fed by it end to end.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageCache } from '../../../src/agents/compute/virt/qemu/image-cache.js';
import { ApiError } from '../../../src/core/http/errors.js';
import type { ImageLookup } from '../../../src/services/compute/peers.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { missingTools, requireTools, run, skipUnless } from '../../agents/compute/qemu-tools.js';
import { createImage, glance, projectId, projectWithMember, upload, type ProjectUser } from '../image/helpers.js';

const qemuImgMissing = missingTools([['qemu-img', 'qemu-utils']]);
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

async function collect(data: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Asserts `promise` rejects with an ApiError of `status` whose message matches `message`. */
async function refused(promise: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof ApiError, `${error.name}: ${error.message}`);
    assert.equal(error.status, status, error.message);
    assert.match(error.message, message);
    return true;
  });
}

describe('ImageLookup.download through a test cloud', { timeout: 120_000 }, () => {
  let tc: TestCloud;
  let images: ImageLookup;
  let admin: string;
  let demo: string;
  let demoProject: string;
  let outsider: ProjectUser;
  const data = Buffer.from('raw disk bytes '.repeat(1000));

  /** An image with `data` uploaded, created by `token` with `body`. */
  async function imageWithData(token: string, body: Record<string, unknown>, bytes: Buffer = data): Promise<string> {
    const image = await createImage(tc.url, token, { disk_format: 'raw', container_format: 'bare', ...body });
    await upload(tc.url, token, image.id as string, bytes);
    return image.id as string;
  }

  before(async () => {
    tc = await startTestCloud();
    images = tc.cloud.compute.images;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    demoProject = await projectId(tc.url, admin, 'demo');
    outsider = await projectWithMember(tc.url, admin, 'outsider');
  });

  after(async () => {
    await tc?.stop();
  });

  it('streams the owner’s private image with its format and checksum', async () => {
    const id = await imageWithData(demo, { name: 'mine', visibility: 'private' });
    const download = await images.download(demoProject, id);
    assert.equal(download.diskFormat, 'raw');
    assert.equal(download.checksum, md5(data));
    assert.deepEqual(await collect(download.data), data);
  });

  it('refuses another project’s private image as Glance does (not found)', async () => {
    const id = await imageWithData(demo, { name: 'private', visibility: 'private' });
    await refused(images.download(outsider.projectId, id), 404, new RegExp(`No image found with ID ${id}`));
  });

  it('serves public images to everyone and shared ones to members only', async () => {
    const publicId = await imageWithData(admin, { name: 'public', visibility: 'public' });
    assert.deepEqual(await collect((await images.download(outsider.projectId, publicId)).data), data);

    const sharedId = await imageWithData(demo, { name: 'shared', visibility: 'shared' });
    await refused(images.download(outsider.projectId, sharedId), 404, /No image found/);
    const member = await glance(tc.url, 'POST', `/v2/images/${sharedId}/members`, demo, { member: outsider.projectId });
    assert.equal(member.status, 200, JSON.stringify(member.body));
    assert.deepEqual(await collect((await images.download(outsider.projectId, sharedId)).data), data);
  });

  it('refuses an image that is not active: queued, deactivated', async () => {
    const queued = await createImage(tc.url, demo, { name: 'queued', disk_format: 'raw', container_format: 'bare' });
    await refused(images.download(demoProject, queued.id as string), 409, /is queued; only an active image/);

    const id = await imageWithData(demo, { name: 'to-deactivate' });
    assert.equal((await glance(tc.url, 'POST', `/v2/images/${id}/actions/deactivate`, admin)).status, 204);
    await refused(images.download(demoProject, id), 403, /deactivated/);
  });

  it('refuses ids that are no image', async () => {
    await refused(images.download(demoProject, randomUUID()), 404, /No image found/);
    await refused(images.download(demoProject, '../../etc/passwd'), 404, /No image found/);
  });

  it('feeds the qemu image cache: a Glance qcow2 is cached once, a mislabelled one refused', { skip: skipUnless(qemuImgMissing) }, async () => {
    requireTools(qemuImgMissing);
    const work = mkdtempSync(join(tmpdir(), 'kumo-image-download-'));
    try {
      const file = join(work, 'guest.qcow2');
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
      const qcow2 = readFileSync(file);
      const id = await imageWithData(demo, { name: 'guest', disk_format: 'qcow2', visibility: 'private' }, qcow2);
      const cache = new ImageCache({ dir: join(work, '_base'), source: images });
      const cached = await cache.ensure(demoProject, id);
      assert.deepEqual(cached, { path: join(work, '_base', id), format: 'qcow2', virtualSize: 16 * 1024 * 1024 });
      assert.deepEqual(readFileSync(cached.path), qcow2);

      // Another project cannot pull the private image into a host's cache.
      const elsewhere = new ImageCache({ dir: join(work, '_base2'), source: images });
      await assert.rejects(elsewhere.ensure(outsider.projectId, id), /could not be downloaded: No image found/);

      const mislabelled = await imageWithData(demo, { name: 'says raw', disk_format: 'raw' }, qcow2);
      await assert.rejects(cache.ensure(demoProject, mislabelled), /says disk_format raw but its data is qcow2/);
      assert.equal(existsSync(join(work, '_base', mislabelled)), false);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
