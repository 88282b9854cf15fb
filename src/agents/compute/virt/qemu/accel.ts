// placeholder until helper D's version lands
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { promisify } from 'node:util';
import { VirtError } from '../driver.js';

const run = promisify(execFile);

export async function chooseAccel(
  wanted: 'auto' | 'kvm' | 'tcg',
  opts: { binary?: string; deadlineMs?: number } = {},
): Promise<{ accel: 'kvm' | 'tcg'; reason: string }> {
  void opts;
  if (wanted === 'tcg') return { accel: 'tcg', reason: 'TCG was asked for' };
  const usable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
  if (wanted === 'kvm') {
    if (!usable) throw new VirtError('KVM was asked for, but /dev/kvm is not usable');
    return { accel: 'kvm', reason: 'KVM was asked for' };
  }
  return usable ? { accel: 'kvm', reason: '/dev/kvm is usable' } : { accel: 'tcg', reason: '/dev/kvm is not usable' };
}

export async function qemuVersion(binary = 'qemu-system-x86_64'): Promise<number> {
  const { stdout } = await run(binary, ['--version'], { encoding: 'utf8' });
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new VirtError(`cannot read the QEMU version from ${JSON.stringify(stdout.split('\n')[0])}`);
  return Number(match[1]) * 1_000_000 + Number(match[2]) * 1_000 + Number(match[3]);
}
