import type { HostState, RequestSpec } from '../types.js';
import { countMembersPerHost } from '../group-members.js';
import { passesViaRequest, type HostFilter, type HostPredicate } from './filter.js';

/**
 * Nova's ServerGroupAntiAffinityFilter: a member of an `anti-affinity` group avoids hosts
 * that already run `max_server_per_host` of its members (1 unless the group's rules say so).
 * memberHosts has one entry per member, so a host listed twice runs two members.
 */
export class ServerGroupAntiAffinityFilter implements HostFilter {
  readonly name = 'ServerGroupAntiAffinityFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    return passesViaRequest(this, host, spec);
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    const group = spec.group;
    if (group === undefined || group.policy !== 'anti-affinity' || group.memberHosts.length === 0) return undefined;
    const maxPerHost = group.maxServerPerHost ?? 1;
    if (maxPerHost === 1) {
      // The common case needs only membership, which a Set answers without counting.
      const occupied = new Set(group.memberHosts);
      return (host) => !occupied.has(host.host);
    }
    const membersOnHost = countMembersPerHost(group.memberHosts);
    return (host) => (membersOnHost.get(host.host) ?? 0) < maxPerHost;
  }
}
