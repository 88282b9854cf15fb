import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/** Local disk the host can still promise, overcommitted by its ratio. */
export function usableDiskGb(host: HostState): number {
  return host.localGb * host.diskAllocationRatio - host.localGbUsed;
}

/** Nova's DiskFilter: root + ephemeral + swap fit in the host's usable (overcommitted) disk. */
export class DiskFilter implements HostFilter {
  readonly name = 'DiskFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return usableDiskGb(host) >= spec.diskGb;
  }

  forRequest(spec: RequestSpec): HostPredicate {
    const requestedGb = spec.diskGb;
    return (host) => usableDiskGb(host) >= requestedGb;
  }
}
