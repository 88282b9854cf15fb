import type { HostState } from '../types.js';
import type { HostWeigher, HostWeight } from './weigher.js';

/**
 * Free RAM as Nova's RAMWeigher sees it (free_ram_mb): physical memory less the host's reserve
 * and what is used, without the allocation ratio, unlike the filter.
 */
export const freeRamMb: HostWeight = (host) => host.memoryMb - host.reservedHostMemoryMb - host.memoryMbUsed;

/** Nova's RAMWeigher. */
export class RamWeigher implements HostWeigher {
  readonly name = 'RAMWeigher';

  constructor(readonly multiplier: number) {}

  weigh(host: HostState): number {
    return freeRamMb(host);
  }

  forRequest(): HostWeight {
    return freeRamMb;
  }
}
