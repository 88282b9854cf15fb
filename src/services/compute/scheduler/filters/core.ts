import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/** vCPUs the host can still promise, overcommitted by its ratio. */
export function usableVcpus(host: HostState): number {
  return host.vcpus * host.cpuAllocationRatio - host.vcpusUsed;
}

function fits(host: HostState, requestedVcpus: number): boolean {
  // Nova's CoreFilter lets an instance overcommit against other instances but never against
  // itself: one server with more vCPUs than the host has physical CPUs is refused outright.
  return requestedVcpus <= host.vcpus && usableVcpus(host) >= requestedVcpus;
}

/** Nova's CoreFilter: the request's vCPUs fit in the host's usable (overcommitted) vCPUs. */
export class CoreFilter implements HostFilter {
  readonly name = 'CoreFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return fits(host, spec.vcpus);
  }

  forRequest(spec: RequestSpec): HostPredicate {
    const requestedVcpus = spec.vcpus;
    return (host) => fits(host, requestedVcpus);
  }
}
