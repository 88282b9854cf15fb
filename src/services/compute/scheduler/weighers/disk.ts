import type { HostState } from '../types.js';
import type { HostWeigher, HostWeight } from './weigher.js';

/** Free local disk as Nova's DiskWeigher sees it (free_disk_mb): without the allocation ratio. */
export const freeDiskGb: HostWeight = (host) => host.localGb - host.localGbUsed;

/** Nova's DiskWeigher. */
export class DiskWeigher implements HostWeigher {
  readonly name = 'DiskWeigher';

  constructor(readonly multiplier: number) {}

  weigh(host: HostState): number {
    return freeDiskGb(host);
  }

  forRequest(): HostWeight {
    return freeDiskGb;
  }
}
