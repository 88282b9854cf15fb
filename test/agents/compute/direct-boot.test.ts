// An AMI-style image through the API to the host (fake driver): the build request carries the
// image's kernel_id, ramdisk_id and os_command_line, and the agent hands the driver a direct
// boot, as Nova's libvirt driver boots such images; a disk image without them boots its disk.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FakeDriver } from '../../../src/agents/compute/virt/fake/fake.js';
import { DEFAULT_KERNEL_CMDLINE } from '../../../src/agents/compute/instance-spec.js';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, waitForServer } from '../../services/compute/helpers.js';

describe('compute agent: AMI-style images boot their kernel directly', () => {
  let cloud: TestCloud;
  let admin: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
  });
  after(async () => cloud?.stop());

  const driver = (): FakeDriver => cloud.cloud.computeAgents[0]?.driver as FakeDriver;

  const bootActive = async (imageRef: string): Promise<string> => {
    const created = await boot(cloud.url, admin, { name: 'ami', imageRef, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, admin, id, ['ACTIVE']);
    return id;
  };

  it("passes the image's kernel, ramdisk and command line to the driver", async () => {
    const kernel = await activeImage(cloud.url, admin, { name: 'k', disk_format: 'aki', container_format: 'aki' });
    const ramdisk = await activeImage(cloud.url, admin, { name: 'r', disk_format: 'ari', container_format: 'ari' });
    const image = await activeImage(cloud.url, admin, { kernel_id: kernel, ramdisk_id: ramdisk, os_command_line: 'quiet console=ttyS0' });
    const id = await bootActive(image);
    assert.deepEqual(driver().directBootOf(id), { kernelId: kernel, ramdiskId: ramdisk, cmdline: 'quiet console=ttyS0' });
  });

  it("takes Nova's command line without os_command_line, and boots the disk without kernel_id", async () => {
    const kernel = await activeImage(cloud.url, admin, { name: 'k2', disk_format: 'aki', container_format: 'aki' });
    const withKernel = await bootActive(await activeImage(cloud.url, admin, { kernel_id: kernel }));
    assert.deepEqual(driver().directBootOf(withKernel), { kernelId: kernel, cmdline: DEFAULT_KERNEL_CMDLINE });
    const plain = await bootActive(await activeImage(cloud.url, admin));
    assert.equal(driver().directBootOf(plain), undefined);
  });
});
