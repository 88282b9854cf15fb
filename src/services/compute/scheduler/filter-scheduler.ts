import { defaultFilters, type HostFilter, type HostPredicate } from './filters/index.js';
import { ranksBefore, siftDownWorst, sortBestFirst } from './ranking.js';
import type { HostState, RequestSpec, Scheduler, SchedulerOptions } from './types.js';
import { defaultWeighers, type HostWeigher, type HostWeight } from './weighers/index.js';

/** Unrolled loop sizes: at least the number of filters and weighers. */
const FILTER_SLOTS = 12;
const WEIGHER_SLOTS = 6;
/** A tuple of `length` Ts, so the unrolled loops can destructure the slots without undefined checks. */
type Slots<T, Length extends number, Built extends T[] = []> = Built['length'] extends Length ? Built : Slots<T, Length, [...Built, T]>;
/** Stands in for a filter the request does not involve. */
const passEverything: HostPredicate = () => true;
/** Stands in for a weigher the request does not involve. */
const weighNothing: HostWeight = () => 0;

/**
 * Nova's filter scheduler as a pure function of the host states: drop the hosts any filter
 * refuses, weigh the rest (each weigher normalised over the candidates, times its multiplier,
 * summed) and return them best first, equal weights in host-name order so the same input
 * always gives the same answer.
 *
 * Built for 10,000 hosts per call: the filters specialised to the request run in one pass per
 * host, cheapest first; candidates, raw weights and totals live in typed arrays the instance
 * reuses from call to call, so a call allocates the result and little else; and a caller that
 * only needs the best few gets them by partial selection instead of a sort of every candidate.
 * The reuse is safe because select() is synchronous: no two calls can interleave.
 */
export class FilterScheduler implements Scheduler {
  private readonly filters: readonly HostFilter[];
  private readonly weighers: readonly HostWeigher[];

  /** Indexes into `hosts` of the hosts that passed every filter, in input order, then best first. */
  private candidates = new Int32Array(0);
  /** Each weigher's raw weight per candidate: WEIGHER_SLOTS rows of `candidates.length`. */
  private rawWeights = new Float64Array(0);
  /** The summed, normalised weight of each candidate, by index into `hosts`. */
  private totalWeights = new Float64Array(0);
  /** The binary heap for partial selection. */
  private heap = new Int32Array(0);

  /** This request's check per filter, by filter position; reused from call to call. */
  private readonly filterSlots = new Array<HostPredicate>(FILTER_SLOTS).fill(passEverything) as Slots<HostPredicate, typeof FILTER_SLOTS>;
  /** This request's raw weight per weigher, by weigher position; reused from call to call. */
  private readonly weigherSlots = new Array<HostWeight>(WEIGHER_SLOTS).fill(weighNothing) as Slots<HostWeight, typeof WEIGHER_SLOTS>;

  constructor(options: SchedulerOptions) {
    this.filters = defaultFilters();
    this.weighers = defaultWeighers(options);
    // The per-host loops are unrolled over fixed slots (see filter()); more filters or weighers need more slots.
    if (this.filters.length > FILTER_SLOTS || this.weighers.length > WEIGHER_SLOTS) {
      throw new Error(`FilterScheduler has ${FILTER_SLOTS} filter and ${WEIGHER_SLOTS} weigher slots; raise them`);
    }
  }

  /** The enabled filters in the order they run, for logging (Nova's enabled_filters). */
  filterNames(): string[] {
    return this.filters.map((filter) => filter.name);
  }

  /** The enabled weighers with their multipliers, for logging. */
  weigherNames(): string[] {
    return this.weighers.map((weigher) => `${weigher.name}(${weigher.multiplier})`);
  }

  /**
   * The hosts that can take `spec`, best first; at most `limit` of them (all by default).
   * A forced host skips the filters, as in Nova, but not ignoreHosts, which Nova strips first.
   */
  select(spec: RequestSpec, hosts: readonly HostState[], limit?: number): HostState[] {
    if (limit !== undefined && Number.isNaN(limit)) throw new RangeError('select(): limit is NaN');
    const wanted = limit === undefined ? hosts.length : Math.max(0, Math.floor(limit));
    if (wanted === 0) return [];
    if (spec.forceHost !== undefined) return forcedHost(spec, hosts);

    this.reserve(hosts.length);
    const count = this.filter(spec, hosts);
    if (count === 0) return [];
    this.weigh(spec, hosts, count);
    return this.best(hosts, count, wanted);
  }

  /** Grows the scratch arrays to hold `hostCount` hosts; they never shrink. */
  private reserve(hostCount: number): void {
    if (this.candidates.length >= hostCount) return;
    const capacity = Math.max(hostCount, this.candidates.length * 2);
    this.candidates = new Int32Array(capacity);
    this.rawWeights = new Float64Array(capacity * WEIGHER_SLOTS);
    this.totalWeights = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
  }

  /** Runs every relevant filter on every host in one pass, cheapest first; returns how many passed. */
  private filter(spec: RequestSpec, hosts: readonly HostState[]): number {
    const slots = this.filterSlots;
    for (let f = 0; f < this.filters.length; f++) slots[f] = this.filters[f]!.forRequest(spec) ?? passEverything;
    // One call site per slot: each sees only its filter's check or passEverything, so V8 inlines
    // both. A loop over an array of checks would be one site seeing every filter, a generic call
    // each time, measured 4× slower over 10,000 hosts.
    const [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11] = slots;
    const candidates = this.candidates;
    let count = 0;
    for (let index = 0; index < hosts.length; index++) {
      const host = hosts[index]!;
      if (f0(host) && f1(host) && f2(host) && f3(host) && f4(host) && f5(host) && f6(host) && f7(host) && f8(host) && f9(host) && f10(host) && f11(host)) {
        candidates[count++] = index;
      }
    }
    // Let go of this request's checks (and the Sets they hold) rather than keep them until the next call.
    slots.fill(passEverything);
    return count;
  }

  /** Sets totalWeights for the candidates: Σ multiplier × normalised raw weight, as Nova sums them. */
  private weigh(spec: RequestSpec, hosts: readonly HostState[], count: number): void {
    const { candidates, rawWeights, totalWeights } = this;
    for (let c = 0; c < count; c++) totalWeights[candidates[c]!] = 0;
    // Nova does not weigh a single host: there is nothing to order.
    if (count === 1) return;

    const slots = this.weigherSlots;
    let anyWeigher = false;
    for (let w = 0; w < this.weighers.length; w++) {
      const rawWeight = this.weighers[w]!.forRequest(spec);
      slots[w] = rawWeight ?? weighNothing;
      anyWeigher ||= rawWeight !== undefined;
    }
    if (!anyWeigher) return;

    // Raw weights in one pass, a call site per slot for the same reason as the filters;
    // weigher w's row starts at w × stride.
    const stride = this.candidates.length;
    const [w0, w1, w2, w3, w4, w5] = slots;
    for (let c = 0; c < count; c++) {
      const host = hosts[candidates[c]!]!;
      rawWeights[c] = w0(host);
      rawWeights[stride + c] = w1(host);
      rawWeights[2 * stride + c] = w2(host);
      rawWeights[3 * stride + c] = w3(host);
      rawWeights[4 * stride + c] = w4(host);
      rawWeights[5 * stride + c] = w5(host);
    }

    // Then each weigher's contribution, normalised over the candidates, added in weigher order
    // so the sums round exactly as Nova's do.
    for (let w = 0; w < this.weighers.length; w++) {
      if (slots[w] === weighNothing) continue;
      const row = w * stride;
      let min = Infinity;
      let max = -Infinity;
      for (let c = 0; c < count; c++) {
        const raw = rawWeights[row + c]!;
        if (raw < min) min = raw;
        if (raw > max) max = raw;
      }
      // All equal normalises to 0 for every host: nothing to add.
      if (min === max) continue;
      const range = max - min;
      const multiplier = this.weighers[w]!.multiplier;
      for (let c = 0; c < count; c++) {
        totalWeights[candidates[c]!]! += multiplier * ((rawWeights[row + c]! - min) / range);
      }
    }
    slots.fill(weighNothing);
  }

  /** The best `wanted` candidates, best first. */
  private best(hosts: readonly HostState[], count: number, wanted: number): HostState[] {
    let ranked: Int32Array;
    let rankedCount: number;
    if (wanted >= count) {
      ranked = this.candidates;
      rankedCount = count;
    } else {
      ranked = this.heap;
      rankedCount = this.keepBest(hosts, count, wanted);
    }
    sortBestFirst(ranked, rankedCount, this.totalWeights, hosts);
    const result: HostState[] = [];
    for (let r = 0; r < rankedCount; r++) result.push(hosts[ranked[r]!]!);
    return result;
  }

  /**
   * Partial selection: gathers the best `wanted` candidates into `heap`, unordered, and returns
   * how many. The heap keeps the worst of those kept on top, so each further candidate costs
   * one comparison unless it beats that one: O(count × log wanted) instead of a full sort.
   */
  private keepBest(hosts: readonly HostState[], count: number, wanted: number): number {
    const { candidates, heap, totalWeights } = this;
    let size = 0;
    for (let c = 0; c < count; c++) {
      const candidate = candidates[c]!;
      if (size < wanted) {
        // Sift up: a parent better than the newcomer moves down, keeping the worst on top.
        let child = size++;
        while (child > 0) {
          const parent = (child - 1) >> 1;
          if (!ranksBefore(totalWeights, hosts, heap[parent]!, candidate)) break;
          heap[child] = heap[parent]!;
          child = parent;
        }
        heap[child] = candidate;
      } else if (ranksBefore(totalWeights, hosts, candidate, heap[0]!)) {
        // Better than the worst kept: it takes the top's place and sinks to where it belongs.
        heap[0] = candidate;
        siftDownWorst(heap, 0, 0, size, totalWeights, hosts);
      }
    }
    return size;
  }
}

/**
 * Nova matches forced hosts case-insensitively and returns them unfiltered; hosts in
 * ignoreHosts were stripped before, so a forced host that is ignored gives no candidate.
 */
function forcedHost(spec: RequestSpec, hosts: readonly HostState[]): HostState[] {
  const forced = spec.forceHost!;
  const forcedLower = forced.toLowerCase();
  for (const host of hosts) {
    const name = host.host;
    // The length check first spares lower-casing (which allocates) nearly every host.
    if (name.length !== forced.length) continue;
    if (name === forced || name.toLowerCase() === forcedLower) {
      return spec.ignoreHosts.has(name) ? [] : [host];
    }
  }
  return [];
}
