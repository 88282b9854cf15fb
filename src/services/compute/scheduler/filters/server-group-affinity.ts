import type { HostState, RequestSpec } from '../types.js';
import { passesViaRequest, type HostFilter, type HostPredicate } from './filter.js';

/**
 * Nova's ServerGroupAffinityFilter: a member of an `affinity` group goes where the group's
 * other members are. The first member (no member hosts yet) may go anywhere.
 */
export class ServerGroupAffinityFilter implements HostFilter {
  readonly name = 'ServerGroupAffinityFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return passesViaRequest(this, host, spec);
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    const group = spec.group;
    if (group === undefined || group.policy !== 'affinity' || group.memberHosts.length === 0) return undefined;
    const groupHosts = new Set(group.memberHosts);
    return (host) => groupHosts.has(host.host);
  }
}
