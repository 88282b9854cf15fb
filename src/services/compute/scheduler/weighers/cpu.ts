import type { HostState } from '../types.js';
import type { HostWeigher, HostWeight } from './weigher.js';

/** Free vCPUs as Nova's CPUWeigher computes them: total × cpu_allocation_ratio − used. */
export const freeVcpus: HostWeight = (host) => host.vcpus * host.cpuAllocationRatio - host.vcpusUsed;

/** Nova's CPUWeigher. */
export class CpuWeigher implements HostWeigher {
  readonly name = 'CPUWeigher';

  constructor(readonly multiplier: number) {}

  weigh(host: HostState): number {
    return freeVcpus(host);
  }

  forRequest(): HostWeight {
    return freeVcpus;
  }
}
