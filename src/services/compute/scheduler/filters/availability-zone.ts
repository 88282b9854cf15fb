import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/** Nova's AvailabilityZoneFilter: a request naming a zone only goes to hosts in that zone. */
export class AvailabilityZoneFilter implements HostFilter {
  readonly name = 'AvailabilityZoneFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return spec.availabilityZone === undefined || host.availabilityZone === spec.availabilityZone;
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    const zone = spec.availabilityZone;
    if (zone === undefined) return undefined;
    return (host) => host.availabilityZone === zone;
  }
}
