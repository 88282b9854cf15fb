// A starting cloud never waits for the KVM probe: `resolveAccel` answers at once when /dev/kvm
// cannot be used or an answer for this kernel, QEMU and /dev/kvm node is kept, and otherwise
// hands back the probe running in the background, which can be stopped and keeps only a whole answer.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { accelCacheKey, resolveAccel } from '../../../src/agents/compute/virt/qemu/accel.js';
import { kvmOpens, missingTools } from './qemu-tools.js';

const missing = missingTools([['qemu-system-x86_64', 'qemu-system-x86']]);

describe('the accelerator, without waiting', { skip: missing ? `needs ${missing}` : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-accel-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers kvm and tcg as asked, with nothing probed or kept', async () => {
    const file = join(dir, 'asked.json');
    const tcg = await resolveAccel('tcg', { cacheFile: file });
    assert.deepEqual(tcg, { known: { accel: 'tcg', reason: 'TCG was asked for' } });
    assert.ok(!existsSync(file));
  });

  it('keys an answer by the kernel, the QEMU version and the /dev/kvm node', async () => {
    const key = await accelCacheKey();
    assert.equal(key.kernel, (await import('node:os')).release());
    assert.match(key.qemu, /^QEMU emulator version \d+\.\d+/);
    assert.match(key.kvm, existsSync('/dev/kvm') ? /^\d+:\d+:\d+$/ : /^absent$/);
  });

  it('takes a kept answer for this host at once, and not one kept for another kernel', { skip: kvmOpens() ? false : 'auto answers tcg at once without a usable /dev/kvm' }, async () => {
    const file = join(dir, 'kept.json');
    const key = await accelCacheKey();
    writeFileSync(file, JSON.stringify({ key, choice: { accel: 'kvm', reason: 'KVM booted it' }, probedAt: '2026-01-01T00:00:00.000Z' }));
    const started = Date.now();
    const kept = await resolveAccel('auto', { cacheFile: file });
    assert.ok('known' in kept, 'no probe runs');
    assert.equal(kept.known.accel, 'kvm');
    assert.match(kept.known.reason, /KVM booted it \(probed 2026-01-01T00:00:00.000Z, answer kept in .*kept\.json\)/);
    assert.ok(Date.now() - started < 5_000);

    writeFileSync(file, JSON.stringify({ key: { ...key, kernel: 'another' }, choice: { accel: 'kvm', reason: 'elsewhere' }, probedAt: 'x' }));
    const stale = await resolveAccel('auto', { cacheFile: file, deadlineMs: 60_000 });
    assert.ok('probing' in stale, 'an answer for another kernel is not taken');
    // Stopped at once: the probe's QEMU ends and its cut-short answer is not kept.
    stale.abort();
    const answer = await stale.probing;
    assert.equal(answer.accel, 'tcg');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).key.kernel, 'another', 'the stopped probe kept nothing');
  });

  it('probes in the background and keeps the whole answer', { skip: kvmOpens() ? false : 'auto answers tcg at once without a usable /dev/kvm', timeout: 60_000 }, async () => {
    const file = join(dir, 'probed.json');
    const resolution = await resolveAccel('auto', { cacheFile: file, deadlineMs: 1_000 });
    assert.ok('probing' in resolution, 'nothing kept yet: the probe runs');
    const answer = await resolution.probing;
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { key: unknown; choice: { accel: string; reason: string } };
    assert.deepEqual(kept.key, await accelCacheKey());
    assert.deepEqual(kept.choice, answer);
    const again = await resolveAccel('auto', { cacheFile: file });
    assert.ok('known' in again && again.known.accel === answer.accel, 'the next start has it at once');
  });

  it('answers tcg at once when /dev/kvm cannot be used', { skip: kvmOpens() ? '/dev/kvm opens here' : false }, async () => {
    const resolution = await resolveAccel('auto', { cacheFile: join(dir, 'none.json') });
    assert.ok('known' in resolution);
    assert.equal(resolution.known.accel, 'tcg');
  });
});
