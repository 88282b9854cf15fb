import type { HostState, RequestSpec } from '../types.js';
import { passesViaRequest, type HostFilter, type HostPredicate } from './filter.js';

/**
 * Nova's SameHostFilter: with a `same_host` hint, only hosts running one of the named
 * instances. An empty list constrains nothing, as Nova's `if affinity_uuids:` does.
 */
export class SameHostFilter implements HostFilter {
  readonly name = 'SameHostFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return passesViaRequest(this, host, spec);
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    if (spec.sameHost === undefined || spec.sameHost.length === 0) return undefined;
    const wanted = new Set(spec.sameHost);
    return (host) => wanted.has(host.host);
  }
}
