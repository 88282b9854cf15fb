/** A network's segment as type drivers see it (Neutron's provider attributes). */
export interface Segment {
  networkType: string;
  physicalNetwork: string | null;
  segmentationId: number | null;
}

/** What a request asked for; anything left out is for the driver to choose. */
export interface SegmentRequest {
  networkType: string;
  physicalNetwork?: string | null;
  segmentationId?: number | null;
}

/**
 * One network type (Neutron ML2's TypeDriver): validates provider requests and picks
 * free segment ids. The database's unique segment index settles races; `candidates`
 * only has to propose ids, never to lock.
 */
export interface TypeDriver {
  readonly type: string;
  /** Header overhead subtracted from the physical MTU. */
  readonly overhead: number;
  /** Normalises and checks a request, throwing a 400 NeutronError when it cannot be valid. */
  validate(request: SegmentRequest): SegmentRequest;
  /** Whether the type can allocate for tenant networks (has a configured range). */
  readonly allocatable: boolean;
  /**
   * Candidate segments for a request that left something open, in preference order, given
   * the (physnet, id) pairs already used by this type.
   */
  candidates(request: SegmentRequest, used: ReadonlySet<string>): Iterable<Segment>;
}

export const usedKey = (physicalNetwork: string | null, segmentationId: number | null) =>
  `${physicalNetwork ?? ''}|${segmentationId ?? 0}`;
