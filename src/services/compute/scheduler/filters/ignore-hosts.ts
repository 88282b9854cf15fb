import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/** Nova's ignore_hosts: hosts already tried for this boot (reschedules) are left out. */
export class IgnoreHostsFilter implements HostFilter {
  readonly name = 'IgnoreHostsFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return !spec.ignoreHosts.has(host.host);
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    const ignored = spec.ignoreHosts;
    if (ignored.size === 0) return undefined;
    return (host) => !ignored.has(host.host);
  }
}
