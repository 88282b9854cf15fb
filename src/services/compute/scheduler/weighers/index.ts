import { CpuWeigher } from './cpu.js';
import { DiskWeigher } from './disk.js';
import { RamWeigher } from './ram.js';
import { ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher } from './server-group-soft.js';
import { resourceMultiplier, type HostWeigher } from './weigher.js';
import type { SchedulerOptions } from '../types.js';

export type { HostWeigher, HostWeight } from './weigher.js';
export { normalisedWeight, normaliseWeights, resourceMultiplier } from './weigher.js';
export { CpuWeigher, DiskWeigher, RamWeigher, ServerGroupSoftAffinityWeigher, ServerGroupSoftAntiAffinityWeigher };

/** Nova's default weighers relevant to a HostState, the resource ones set by spread/stack. */
export function defaultWeighers(options: SchedulerOptions): HostWeigher[] {
  const multiplier = resourceMultiplier(options.weigh);
  return [
    new RamWeigher(multiplier),
    new CpuWeigher(multiplier),
    new DiskWeigher(multiplier),
    new ServerGroupSoftAffinityWeigher(),
    new ServerGroupSoftAntiAffinityWeigher(),
  ];
}
