import { AvailabilityZoneFilter } from './availability-zone.js';
import { ComputeFilter } from './compute.js';
import { CoreFilter } from './core.js';
import { DifferentHostFilter } from './different-host.js';
import { DiskFilter } from './disk.js';
import type { HostFilter } from './filter.js';
import { IgnoreHostsFilter } from './ignore-hosts.js';
import { ImagePropertiesFilter } from './image-properties.js';
import { RamFilter } from './ram.js';
import { SameHostFilter } from './same-host.js';
import { ServerGroupAffinityFilter } from './server-group-affinity.js';
import { ServerGroupAntiAffinityFilter } from './server-group-anti-affinity.js';

export type { HostFilter, HostPredicate } from './filter.js';
export {
  AvailabilityZoneFilter,
  ComputeFilter,
  CoreFilter,
  DifferentHostFilter,
  DiskFilter,
  IgnoreHostsFilter,
  ImagePropertiesFilter,
  RamFilter,
  SameHostFilter,
  ServerGroupAffinityFilter,
  ServerGroupAntiAffinityFilter,
};

/**
 * Every filter, cheapest first: a host is dropped by the first filter it fails, so the checks
 * that read two booleans or compare one interned string run before arithmetic, and those
 * before the hashed lookups (image type memo, Sets, Maps). The result does not depend on the
 * order, only the time does.
 */
export function defaultFilters(): HostFilter[] {
  return [
    new ComputeFilter(),
    new AvailabilityZoneFilter(),
    new RamFilter(),
    new CoreFilter(),
    new DiskFilter(),
    new ImagePropertiesFilter(),
    new IgnoreHostsFilter(),
    new SameHostFilter(),
    new DifferentHostFilter(),
    new ServerGroupAffinityFilter(),
    new ServerGroupAntiAffinityFilter(),
  ];
}
