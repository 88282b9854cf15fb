import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

const isUsable: HostPredicate = (host) => host.enabled && host.up;

/** Nova's ComputeFilter: the host's compute service is enabled and its heartbeat is recent. */
export class ComputeFilter implements HostFilter {
  readonly name = 'ComputeFilter';

  // The request is irrelevant: a disabled or dead host takes nothing.
  passes(host: HostState, _spec?: RequestSpec): boolean {
    return isUsable(host);
  }

  forRequest(): HostPredicate {
    return isUsable;
  }
}
