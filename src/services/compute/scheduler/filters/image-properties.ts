import type { HostState, RequestSpec } from '../types.js';
import type { HostFilter, HostPredicate } from './filter.js';

/**
 * Nova's HVType.canonicalize: case-insensitive, and `xapi` is the old name for `xen`.
 * Memoised because hosts report a handful of distinct types and lower-casing allocates:
 * the per-host check then costs a Map lookup and no garbage.
 */
const canonicalTypes = new Map<string, string>();
const CANONICAL_TYPE_LIMIT = 1024;

export function canonicalHypervisorType(type: string): string {
  let canonical = canonicalTypes.get(type);
  if (canonical === undefined) {
    const lower = type.toLowerCase();
    canonical = lower === 'xapi' ? 'xen' : lower;
    // Bounded so arbitrary image properties cannot grow the memo without limit.
    if (canonicalTypes.size < CANONICAL_TYPE_LIMIT) canonicalTypes.set(type, canonical);
  }
  return canonical;
}

/** The hypervisor type the image asks for; `hypervisor_type` is Nova's current name, `img_hv_type` the older one. */
export function requestedHypervisorType(imageProperties: Record<string, string>): string | undefined {
  const requested = imageProperties['hypervisor_type'] ?? imageProperties['img_hv_type'];
  return requested === undefined || requested === '' ? undefined : canonicalHypervisorType(requested);
}

/**
 * Nova's ImagePropertiesFilter, for the one property a HostState can answer: the hypervisor
 * type. Other properties (architecture, vm_mode, ...) are ignored rather than failing every
 * host, since the host state does not report them.
 */
export class ImagePropertiesFilter implements HostFilter {
  readonly name = 'ImagePropertiesFilter';

  passes(host: HostState, spec: RequestSpec): boolean {
    const requested = requestedHypervisorType(spec.imageProperties);
    return requested === undefined || canonicalHypervisorType(host.hypervisorType) === requested;
  }

  forRequest(spec: RequestSpec): HostPredicate | undefined {
    const requested = requestedHypervisorType(spec.imageProperties);
    if (requested === undefined) return undefined;
    return (host) => canonicalHypervisorType(host.hypervisorType) === requested;
  }
}
