import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/** RAM the host can still promise, overcommitted by its ratio, after the host's own reserve. */
export function usableRamMb(host: HostState): number {
  return host.memoryMb * host.ramAllocationRatio - host.reservedHostMemoryMb - host.memoryMbUsed;
}

/** Nova's RamFilter: the request's memory fits in the host's usable (overcommitted) RAM. */
export class RamFilter implements HostFilter {
  readonly name = 'RamFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return usableRamMb(host) >= spec.memoryMb;
  }

  forRequest(spec: RequestSpec): HostPredicate {
    const requestedMb = spec.memoryMb;
    return (host) => usableRamMb(host) >= requestedMb;
  }
}
