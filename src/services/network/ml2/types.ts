import { NeutronError } from '../context.js';
import { usedKey, type Segment, type SegmentRequest, type TypeDriver } from './driver.js';

export type Range = [number, number];

const invalid = (message: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${message}`);

/** `local`: the network stays on its host; no physnet, no id. */
export class LocalTypeDriver implements TypeDriver {
  readonly type = 'local';
  readonly overhead = 0;
  readonly allocatable = true;

  validate(request: SegmentRequest): SegmentRequest {
    if (request.physicalNetwork) throw invalid('provider:physical_network specified for local network.');
    if (request.segmentationId) throw invalid('provider:segmentation_id specified for local network.');
    return { networkType: this.type };
  }

  *candidates(): Iterable<Segment> {
    yield { networkType: this.type, physicalNetwork: null, segmentationId: null };
  }
}

/** `flat`: an untagged physical network; at most one network per physnet. */
export class FlatTypeDriver implements TypeDriver {
  readonly type = 'flat';
  readonly overhead = 0;
  readonly allocatable = false;

  /** `['*']` allows any physnet name. */
  constructor(private readonly physicalNetworks: string[]) {}

  validate(request: SegmentRequest): SegmentRequest {
    if (!request.physicalNetwork) throw invalid('provider:physical_network required for flat provider network.');
    if (request.segmentationId) throw invalid('provider:segmentation_id specified for flat provider network.');
    if (!this.physicalNetworks.includes('*') && !this.physicalNetworks.includes(request.physicalNetwork)) {
      throw invalid(`physical_network '${request.physicalNetwork}' unknown for flat provider network.`);
    }
    return { networkType: this.type, physicalNetwork: request.physicalNetwork };
  }

  *candidates(request: SegmentRequest, used: ReadonlySet<string>): Iterable<Segment> {
    if (!request.physicalNetwork) return;
    if (used.has(usedKey(request.physicalNetwork, 0))) {
      throw new NeutronError(409, 'FlatNetworkInUse', `Unable to create the flat network. Physical network ${request.physicalNetwork} is in use.`);
    }
    yield { networkType: this.type, physicalNetwork: request.physicalNetwork, segmentationId: null };
  }
}

/** `vlan`: 802.1Q ids 1-4094 on a physnet; tenant networks draw from configured ranges. */
export class VlanTypeDriver implements TypeDriver {
  readonly type = 'vlan';
  readonly overhead = 0;

  /** physnet -> ranges; a physnet with no range accepts provider networks only. */
  constructor(private readonly ranges: Map<string, Range[]>) {}

  get allocatable(): boolean {
    return [...this.ranges.values()].some((r) => r.length > 0);
  }

  validate(request: SegmentRequest): SegmentRequest {
    const id = request.segmentationId;
    if (id !== undefined && id !== null && (!Number.isInteger(id) || id < 1 || id > 4094)) {
      throw invalid(`segmentation_id out of range (1 through 4094).`);
    }
    if (request.physicalNetwork && !this.ranges.has(request.physicalNetwork)) {
      throw invalid(`physical_network '${request.physicalNetwork}' unknown for VLAN provider network.`);
    }
    if (id && !request.physicalNetwork) throw invalid('provider:physical_network required for VLAN provider network.');
    return { networkType: this.type, physicalNetwork: request.physicalNetwork ?? null, segmentationId: id ?? null };
  }

  *candidates(request: SegmentRequest, used: ReadonlySet<string>): Iterable<Segment> {
    if (request.physicalNetwork && request.segmentationId) {
      if (used.has(usedKey(request.physicalNetwork, request.segmentationId))) {
        throw new NeutronError(
          409,
          'VlanIdInUse',
          `Unable to create the network. The VLAN ${request.segmentationId} on physical network ${request.physicalNetwork} is in use.`,
        );
      }
      yield { networkType: this.type, physicalNetwork: request.physicalNetwork, segmentationId: request.segmentationId };
      return;
    }
    for (const [physnet, ranges] of this.ranges) {
      if (request.physicalNetwork && physnet !== request.physicalNetwork) continue;
      for (const [low, high] of ranges) {
        for (let id = low; id <= high; id++) {
          if (!used.has(usedKey(physnet, id))) yield { networkType: this.type, physicalNetwork: physnet, segmentationId: id };
        }
      }
    }
  }
}

/** `vxlan` (24-bit VNIs) and `gre` (32-bit keys): overlays between hosts' tunnel addresses. */
export class TunnelTypeDriver implements TypeDriver {
  readonly allocatable: boolean;

  constructor(
    readonly type: 'vxlan' | 'gre',
    private readonly ranges: Range[],
    readonly overhead: number,
    private readonly maxId: number,
  ) {
    this.allocatable = ranges.length > 0;
  }

  validate(request: SegmentRequest): SegmentRequest {
    if (request.physicalNetwork) throw invalid(`provider:physical_network specified for ${this.type} network.`);
    const id = request.segmentationId;
    if (id !== undefined && id !== null && (!Number.isInteger(id) || id < 1 || id > this.maxId)) {
      throw invalid(`segmentation_id out of range (1 through ${this.maxId}).`);
    }
    return { networkType: this.type, segmentationId: id ?? null };
  }

  *candidates(request: SegmentRequest, used: ReadonlySet<string>): Iterable<Segment> {
    if (request.segmentationId) {
      if (used.has(usedKey(null, request.segmentationId))) {
        throw new NeutronError(409, 'TunnelIdInUse', `Unable to create the network. The tunnel ID ${request.segmentationId} is in use.`);
      }
      yield { networkType: this.type, physicalNetwork: null, segmentationId: request.segmentationId };
      return;
    }
    for (const [low, high] of this.ranges) {
      for (let id = low; id <= high; id++) {
        if (!used.has(usedKey(null, id))) yield { networkType: this.type, physicalNetwork: null, segmentationId: id };
      }
    }
  }
}
