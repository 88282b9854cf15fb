import type { HostState } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

const isUsable: HostPredicate = (host) => host.enabled && host.up;

/** Nova's ComputeFilter: the host's compute service is enabled and its heartbeat is recent. */
export class ComputeFilter implements HostFilter {
  readonly name = 'ComputeFilter';

  passes(host: HostState): boolean {
    return isUsable(host);
  }

  forRequest(): HostPredicate {
    return isUsable;
  }
}
