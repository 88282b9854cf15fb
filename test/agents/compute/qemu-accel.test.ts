// Choosing QEMU's accelerator: TCG and KVM on request, and `auto`, which takes KVM only after a
// real kernel boots under it. The boot probe itself is exercised under TCG, which works here.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive } from '../../../src/core/host/daemons.js';
import { VirtError } from '../../../src/agents/compute/virt/driver.js';
import { chooseAccel, compareVersions, newestKernel, probeKernelBoot, qemuVersion } from '../../../src/agents/compute/virt/qemu/accel.js';
import { kvmOpens, missingTools, requireTools, run, skipUnless } from './qemu-tools.js';

const missing = missingTools([['qemu-system-x86_64', 'qemu-system-x86']]);

/** Without vmx/svm a /dev/kvm can only be a nested software one (PVM), which never boots a stock kernel. */
const hardwareVirt = /\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

const probeDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('kumo-accel-probe-'));

describe('choosing the accelerator', () => {
  it('answers tcg for tcg', async () => {
    assert.deepEqual(await chooseAccel('tcg', {}), { accel: 'tcg', reason: 'TCG was asked for' });
  });

  it('answers kvm for kvm only when /dev/kvm opens read-write', async () => {
    if (kvmOpens()) {
      assert.equal((await chooseAccel('kvm', {})).accel, 'kvm');
    } else {
      await assert.rejects(chooseAccel('kvm', {}), (error: Error) => {
        assert.ok(error instanceof VirtError);
        assert.match(error.message, /^KVM was asked for, but \/dev\/kvm (does not exist|does not open read-write)/);
        return true;
      });
    }
  });

  it('refuses unknown accelerators and unsafe binaries', async () => {
    await assert.rejects(chooseAccel('xen' as 'tcg', {}), /is not auto, kvm or tcg/);
    await assert.rejects(chooseAccel('auto', { binary: '/usr/bin/qemu,evil' }), VirtError);
  });

  it('orders kernel versions and finds the newest kernel', async () => {
    assert.ok(compareVersions('6.1.0-9-amd64', '6.1.0-56-amd64') < 0);
    assert.ok(compareVersions('6.1.0-56-amd64', '6.10.0-1-amd64') < 0);
    assert.ok(compareVersions('6.1.0-56-cloud-amd64', '6.1.0-56-amd64') > 0);
    assert.equal(compareVersions('6.1.0-56-amd64', '6.1.0-56-amd64'), 0);
    const boot = mkdtempSync(join(tmpdir(), 'kumo-boot-'));
    try {
      assert.equal(await newestKernel(boot), undefined);
      for (const name of ['vmlinuz-6.1.0-9-amd64', 'vmlinuz-6.10.0-1-amd64', 'vmlinuz-6.1.0-56-amd64', 'vmlinuz-6.99 evil', 'config-7.0.0-1-amd64']) {
        writeFileSync(join(boot, name), '');
      }
      assert.equal(await newestKernel(boot), join(boot, 'vmlinuz-6.10.0-1-amd64'));
    } finally {
      rmSync(boot, { recursive: true, force: true });
    }
    assert.equal(await newestKernel('/nonexistent-boot'), undefined);
  });
});

describe('the KVM boot probe and auto (real QEMU)', { skip: skipUnless(missing), timeout: 180_000 }, () => {
  let kernel: string | undefined;

  before(async () => {
    requireTools(missing);
    kernel = await newestKernel();
  });

  after(() => {
    assert.deepEqual(probeDirs(), [], 'every probe removed its temp directory');
  });

  it('auto answers within the deadline, and tcg where KVM cannot be proven', async () => {
    const deadlineMs = 6_000;
    const started = Date.now();
    const choice = await chooseAccel('auto', { deadlineMs });
    const ms = Date.now() - started;
    // A deadline, not a benchmark: the probe must be killed at it, not hang with a wedged guest.
    assert.ok(ms < deadlineMs + 5_000, `auto took ${ms} ms for a ${deadlineMs} ms deadline`);
    if (!kvmOpens()) {
      assert.equal(choice.accel, 'tcg');
      assert.match(choice.reason, /\/dev\/kvm/);
    } else if (!hardwareVirt || kernel === undefined) {
      assert.equal(choice.accel, 'tcg', choice.reason);
    } else if (choice.accel === 'kvm') {
      assert.match(choice.reason, /booted .* to its root-fs panic/);
    }
    const again = await chooseAccel('auto', { deadlineMs: 1 });
    assert.equal(again, choice, 'the answer is kept for the life of the process');
  });

  it('proves a boot: TCG gets this kernel to its root-fs panic', async (t) => {
    if (kernel === undefined) {
      t.skip('no /boot/vmlinuz-* to boot (apt: linux-image-amd64)');
      return;
    }
    const probe = await probeKernelBoot({ accel: 'tcg', kernel, deadlineMs: 120_000 });
    assert.equal(probe.booted, true, probe.detail);
    assert.ok(probe.pid !== undefined && !alive(probe.pid), 'the probe QEMU is gone');
    t.diagnostic(`TCG probe: kernel panic reached in ${probe.ms} ms`);
  });

  it('kills the probe QEMU by its pid at the deadline and says what it saw', async (t) => {
    if (kernel === undefined) {
      t.skip('no /boot/vmlinuz-* to boot (apt: linux-image-amd64)');
      return;
    }
    // Under TCG the kernel needs seconds to panic: 300 ms is a guest that "never finishes booting".
    const probe = await probeKernelBoot({ accel: 'tcg', kernel, deadlineMs: 300 });
    assert.equal(probe.booted, false);
    assert.match(probe.detail, /within 300 ms/);
    assert.ok(probe.pid !== undefined, 'QEMU was started');
    assert.equal(alive(probe.pid), false, 'the probe QEMU was killed');
    assert.deepEqual(probeDirs(), []);
  });

  it('reports why QEMU would not start', async (t) => {
    if (kvmOpens()) {
      t.skip('/dev/kvm works here: QEMU would start');
      return;
    }
    const probe = await probeKernelBoot({ accel: 'kvm', kernel: kernel ?? '/boot/vmlinuz-none', deadlineMs: 30_000 });
    assert.equal(probe.booted, false);
    assert.match(probe.detail, /QEMU \(-accel kvm\) exited after \d+ ms: .*(kvm|KVM)/);
  });

  it('refuses bad probe arguments', async () => {
    await assert.rejects(probeKernelBoot({ accel: 'tcg', kernel: '/boot/vmlinuz,x', deadlineMs: 1000 }), /not a plain absolute path/);
    await assert.rejects(probeKernelBoot({ accel: 'tcg', kernel: '/boot/vmlinuz', deadlineMs: 0 }), /deadline/);
    await assert.rejects(probeKernelBoot({ accel: 'tcg', kernel: '/boot/vmlinuz', deadlineMs: 1.5 }), /deadline/);
  });

  it('reads the QEMU version in Nova’s form', async () => {
    const { stdout } = await run('qemu-system-x86_64', ['--version']);
    const [, major, minor, micro] = /version (\d+)\.(\d+)\.(\d+)/.exec(stdout) ?? [];
    const version = await qemuVersion();
    assert.equal(version, Number(major) * 1_000_000 + Number(minor) * 1_000 + Number(micro));
    assert.ok(version >= 7_000_000, `QEMU ${version} is at least 7.0`);
    await assert.rejects(qemuVersion('/nonexistent/qemu-system-x86_64'), (error: Error) => error instanceof VirtError);
    await assert.rejects(qemuVersion('qemu,x'), /not a plain absolute path/);
  });
});
