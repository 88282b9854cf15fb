import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureGuestImage, GUEST_IMAGE_NAME, guestImageCachePath, guestImageTools } from '../../src/cli/guest-image.js';
import { createLogger } from '../../src/core/log.js';
import { api, startTestCloud, type TestCloud } from '../helpers/cloud.js';

const run = promisify(execFile);

describe('the first start puts kumo-tiny into the image service', () => {
  let cloud: TestCloud;
  let cacheDir: string;
  const savedCache = process.env.KUMO_CACHE_DIR;

  before(async () => {
    // A private cache holding a stand-in image: this test is about the import, not the build
    // (test/tools/guest-image.test.ts builds and boots the real one).
    cacheDir = mkdtempSync(join(tmpdir(), 'kumo-cache-'));
    process.env.KUMO_CACHE_DIR = cacheDir;
    cloud = await startTestCloud();
  });

  after(async () => {
    await cloud?.stop();
    if (savedCache === undefined) delete process.env.KUMO_CACHE_DIR;
    else process.env.KUMO_CACHE_DIR = savedCache;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('imports the cached image as a public qcow2, or says exactly why it skipped', async () => {
    const tools = guestImageTools();
    assert.ok(tools, 'tools/guest-image is found from the code');
    const cached = guestImageCachePath(tools);
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, randomBytes(64 * 1024));
    const prerequisites = await run(join(tools, 'build.sh'), ['--check']).then(
      () => true,
      () => false,
    );

    const outcome = await ensureGuestImage(cloud.cloud, createLogger('silent'));
    if (!prerequisites) {
      assert.equal(outcome.state, 'skipped');
      assert.match(outcome.state === 'skipped' ? outcome.reason : '', /missing|apt-get/);
      return;
    }
    assert.equal(outcome.state, 'importing');
    if (outcome.state === 'importing') await outcome.done;
    const demo = await cloud.token('demo');
    const list = await api(cloud.url, 'GET', `/image/v2/images?name=${GUEST_IMAGE_NAME}`, demo);
    assert.equal(list.status, 200);
    const image = list.json.images[0];
    assert.ok(image, 'a demo user sees the public image');
    assert.equal(image.status, 'active');
    assert.equal(image.visibility, 'public');
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.size, statSync(cached).size);

    const again = await ensureGuestImage(cloud.cloud, createLogger('silent'));
    assert.equal(again.state, 'present', 'a later start imports nothing twice');
  });

  it('does nothing when told to skip', async () => {
    process.env.KUMO_GUEST_IMAGE = 'skip';
    try {
      const outcome = await ensureGuestImage(cloud.cloud, createLogger('silent'));
      assert.deepEqual(outcome, { state: 'skipped', reason: 'KUMO_GUEST_IMAGE=skip' });
    } finally {
      delete process.env.KUMO_GUEST_IMAGE;
    }
  });
});
