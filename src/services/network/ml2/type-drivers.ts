import { NeutronError } from '../context.js';
import type { Segment, SegmentRequest, TypeDriver } from './driver.js';
import { FlatTypeDriver, LocalTypeDriver, TunnelTypeDriver, VlanTypeDriver, type Range } from './types.js';

export interface TypeDriverConfig {
  flatNetworks: string[];
  vlanRanges: Map<string, Range[]>;
  vxlanRanges: Range[];
  greRanges: Range[];
}

/** The registry of type drivers (Neutron's ML2 TypeManager). */
export class TypeDrivers {
  private readonly drivers = new Map<string, TypeDriver>();

  constructor(config: TypeDriverConfig) {
    for (const driver of [
      new LocalTypeDriver(),
      new FlatTypeDriver(config.flatNetworks),
      new VlanTypeDriver(config.vlanRanges),
      // VXLAN: 24-bit VNIs, 50 bytes of IPv4 + UDP + VXLAN headers; GRE: 32-bit keys, 42 bytes.
      new TunnelTypeDriver('vxlan', config.vxlanRanges, 50, 16_777_215),
      new TunnelTypeDriver('gre', config.greRanges, 42, 4_294_967_295),
    ]) {
      this.drivers.set(driver.type, driver);
    }
  }

  driver(type: string): TypeDriver {
    const driver = this.drivers.get(type);
    if (!driver) throw new NeutronError(400, 'InvalidInput', `Invalid input for operation: network_type value '${type}' not supported.`);
    return driver;
  }

  validate(request: SegmentRequest): SegmentRequest {
    return this.driver(request.networkType).validate(request);
  }

  /** Up to `count` candidates, so concurrent allocations can spread instead of all racing for the first free id. */
  candidates(request: SegmentRequest, used: ReadonlySet<string>, count: number): Segment[] {
    const out: Segment[] = [];
    for (const candidate of this.driver(request.networkType).candidates(request, used)) {
      out.push(candidate);
      if (out.length >= count) break;
    }
    return out;
  }

  mtu(type: string, physicalMtu: number): number {
    return physicalMtu - this.driver(type).overhead;
  }
}

/** Parses `physnet1:100:200,physnet2` (Neutron's network_vlan_ranges). */
export function parseVlanRanges(spec: string): Map<string, Range[]> {
  const ranges = new Map<string, Range[]>();
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [physnet, low, high] = part.split(':');
    if (!physnet) throw new Error(`bad VLAN range ${part}`);
    const list = ranges.get(physnet) ?? [];
    if (low !== undefined) list.push(parseRange(`${low}:${high ?? ''}`, 4094));
    ranges.set(physnet, list);
  }
  return ranges;
}

/** Parses `1:1000,2000:2100` (vni_ranges, tunnel_id_ranges). */
export function parseRanges(spec: string, max: number): Range[] {
  return spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => parseRange(p, max));
}

function parseRange(text: string, max: number): Range {
  const [low, high] = text.split(':').map(Number);
  if (!Number.isInteger(low) || !Number.isInteger(high) || (low as number) < 1 || (high as number) > max || (low as number) > (high as number)) {
    throw new Error(`bad id range ${text} (1..${max})`);
  }
  return [low as number, high as number];
}
