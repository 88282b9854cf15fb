// What the compute agent tells the driver about an AMI-style image (kernel_id, ramdisk_id,
// os_command_line), read as Nova's libvirt driver reads those properties.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostImageMeta } from '../../../src/contracts/compute-host.js';
import { DEFAULT_KERNEL_CMDLINE, directBootOf } from '../../../src/agents/compute/instance-spec.js';

const image = (properties: Record<string, string>): HostImageMeta => ({ id: 'i', diskFormat: 'qcow2', containerFormat: 'bare', minDisk: 0, minRam: 0, size: 1, properties });
const KERNEL = '0b8f3c1e-7f55-4b3e-9d1e-5c1a2b3c4d5e';
const RAMDISK = '1c9f3c1e-7f55-4b3e-9d1e-5c1a2b3c4d5e';

describe('directBootOf', () => {
  it('boots the kernel with the ramdisk and the command line the image names', () => {
    assert.deepEqual(directBootOf(image({ kernel_id: KERNEL, ramdisk_id: RAMDISK, os_command_line: 'quiet console=ttyS0' })), {
      kernelId: KERNEL,
      ramdiskId: RAMDISK,
      cmdline: 'quiet console=ttyS0',
    });
  });

  it("takes Nova's root and console arguments when the image names no command line, and no ramdisk when it names none", () => {
    assert.deepEqual(directBootOf(image({ kernel_id: KERNEL })), { kernelId: KERNEL, cmdline: DEFAULT_KERNEL_CMDLINE });
    assert.equal(DEFAULT_KERNEL_CMDLINE, 'root=/dev/vda console=tty0 console=ttyS0,115200');
  });

  it('boots the disk without a kernel_id: a ramdisk or command line alone is ignored, as Nova does', () => {
    assert.equal(directBootOf(image({ ramdisk_id: RAMDISK, os_command_line: 'init=/bin/sh' })), undefined);
    assert.equal(directBootOf(image({ kernel_id: '' })), undefined);
    assert.equal(directBootOf(null), undefined);
    assert.equal(directBootOf(undefined), undefined);
  });
});
