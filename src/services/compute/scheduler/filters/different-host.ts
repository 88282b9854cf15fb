import type { HostState, RequestSpec } from '../types.js';
import { passesViaRequest, type HostFilter, type HostPredicate } from './filter.js';

/** Nova's DifferentHostFilter: with a `different_host` hint, no host running a named instance. */
export class DifferentHostFilter implements HostFilter {
  readonly name = 'DifferentHostFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return passesViaRequest(this, host, spec);
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    if (spec.differentHost === undefined || spec.differentHost.length === 0) return undefined;
    const avoided = new Set(spec.differentHost);
    return (host) => !avoided.has(host.host);
  }
}
