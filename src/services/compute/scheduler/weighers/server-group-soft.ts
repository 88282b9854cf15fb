import { countMembersPerHost } from '../group-members.js';
import type { HostState, RequestSpec } from '../types.js';
import type { HostWeigher, HostWeight } from './weigher.js';

type SoftPolicy = 'soft-affinity' | 'soft-anti-affinity';

/**
 * Nova's default multiplier for the soft policies is 1.0, where the RAM, CPU and disk weighers
 * (each normalised to 0..1) together weigh up to 3: on hosts of unequal load the policy is then
 * silently ignored, and operators are told to raise it. Kumo raises it by default, so a soft
 * policy is honoured whenever a host allows it.
 */
export const SOFT_POLICY_MULTIPLIER = 10;

/**
 * The members of the request's group on each host, when the group has `policy`; undefined
 * otherwise, or when no member is placed yet (every host then weighs 0).
 */
function membersOnHostFor(spec: RequestSpec, policy: SoftPolicy): HostWeight | undefined {
  const group = spec.group;
  if (group === undefined || group.policy !== policy || group.memberHosts.length === 0) return undefined;
  const counts = countMembersPerHost(group.memberHosts);
  return (host) => counts.get(host.host) ?? 0;
}

/** Nova's ServerGroupSoftAffinityWeigher: prefer hosts running more of the group's members. */
export class ServerGroupSoftAffinityWeigher implements HostWeigher {
  readonly name = 'ServerGroupSoftAffinityWeigher';
  /** See SOFT_POLICY_MULTIPLIER. */
  readonly multiplier = SOFT_POLICY_MULTIPLIER;

  weigh(host: HostState, spec: RequestSpec): number {
    return this.forRequest(spec)?.(host) ?? 0;
  }

  forRequest(spec: RequestSpec): HostWeight | undefined {
    return membersOnHostFor(spec, 'soft-affinity');
  }
}

/**
 * Nova's ServerGroupSoftAntiAffinityWeigher: prefer hosts running fewer of the group's
 * members. Like Nova, the raw weight is the negated count with a positive multiplier.
 */
export class ServerGroupSoftAntiAffinityWeigher implements HostWeigher {
  readonly name = 'ServerGroupSoftAntiAffinityWeigher';
  /** See SOFT_POLICY_MULTIPLIER. */
  readonly multiplier = SOFT_POLICY_MULTIPLIER;

  weigh(host: HostState, spec: RequestSpec): number {
    return this.forRequest(spec)?.(host) ?? 0;
  }

  forRequest(spec: RequestSpec): HostWeight | undefined {
    const membersOnHost = membersOnHostFor(spec, 'soft-anti-affinity');
    if (membersOnHost === undefined) return undefined;
    return (host) => -membersOnHost(host);
  }
}
