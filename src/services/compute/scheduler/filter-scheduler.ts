import { defaultFilters, type HostFilter, type HostPredicate } from './filters/index.js';
import type { HostState, RequestSpec, Scheduler, SchedulerOptions } from './types.js';
import { defaultWeighers, type HostWeigher, type HostWeight } from './weighers/index.js';

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
  /** One weigher's raw weight per candidate, by candidate position. */
  private rawWeights = new Float64Array(0);
  /** The summed, normalised weight of each candidate, by index into `hosts`. */
  private totalWeights = new Float64Array(0);
  /** The binary heap for partial selection. */
  private heap = new Int32Array(0);

  constructor(options: SchedulerOptions) {
    this.filters = defaultFilters();
    this.weighers = defaultWeighers(options);
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
    this.rawWeights = new Float64Array(capacity);
    this.totalWeights = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
  }

  /** Runs every relevant filter on every host in one pass; returns how many passed. */
  private filter(spec: RequestSpec, hosts: readonly HostState[]): number {
    const predicates: HostPredicate[] = [];
    for (const filter of this.filters) {
      const predicate = filter.forRequest(spec);
      if (predicate !== undefined) predicates.push(predicate);
    }
    const predicateCount = predicates.length;
    const candidates = this.candidates;
    let count = 0;
    nextHost: for (let index = 0; index < hosts.length; index++) {
      const host = hosts[index]!;
      for (let p = 0; p < predicateCount; p++) {
        if (!predicates[p]!(host)) continue nextHost;
      }
      candidates[count++] = index;
    }
    return count;
  }

  /** Sets totalWeights for the candidates: Σ multiplier × normalised raw weight, as Nova sums them. */
  private weigh(spec: RequestSpec, hosts: readonly HostState[], count: number): void {
    const { candidates, rawWeights, totalWeights } = this;
    for (let c = 0; c < count; c++) totalWeights[candidates[c]!] = 0;
    // Nova does not weigh a single host: there is nothing to order.
    if (count === 1) return;

    for (const weigher of this.weighers) {
      const rawWeight: HostWeight | undefined = weigher.forRequest(spec);
      if (rawWeight === undefined) continue;
      let min = Infinity;
      let max = -Infinity;
      for (let c = 0; c < count; c++) {
        const raw = rawWeight(hosts[candidates[c]!]!);
        rawWeights[c] = raw;
        if (raw < min) min = raw;
        if (raw > max) max = raw;
      }
      // All equal normalises to 0 for every host: nothing to add.
      if (min === max) continue;
      const range = max - min;
      const multiplier = weigher.multiplier;
      for (let c = 0; c < count; c++) {
        totalWeights[candidates[c]!]! += multiplier * ((rawWeights[c]! - min) / range);
      }
    }
  }

  /** The best `wanted` candidates, best first. */
  private best(hosts: readonly HostState[], count: number, wanted: number): HostState[] {
    const totalWeights = this.totalWeights;
    /** Negative when host `a` ranks before host `b`: heavier first, then by name, then input order. */
    const compare = (a: number, b: number): number => {
      const weightA = totalWeights[a]!;
      const weightB = totalWeights[b]!;
      if (weightA !== weightB) return weightA > weightB ? -1 : 1;
      const nameA = hosts[a]!.host;
      const nameB = hosts[b]!.host;
      if (nameA !== nameB) return nameA < nameB ? -1 : 1;
      return a - b;
    };

    let ranked: Int32Array;
    if (wanted >= count) {
      ranked = this.candidates.subarray(0, count).sort(compare);
    } else {
      ranked = this.selectBest(count, wanted, compare).sort(compare);
    }
    const result: HostState[] = [];
    for (let r = 0; r < ranked.length; r++) result.push(hosts[ranked[r]!]!);
    return result;
  }

  /**
   * Partial selection: keeps the best `wanted` candidates in a heap whose root is the worst
   * kept, so each further candidate costs one comparison unless it beats that root.
   * O(count × log wanted) instead of sorting all candidates. Returns them unordered.
   */
  private selectBest(count: number, wanted: number, compare: (a: number, b: number) => number): Int32Array {
    const { candidates, heap } = this;
    let size = 0;
    for (let c = 0; c < count; c++) {
      const candidate = candidates[c]!;
      if (size < wanted) {
        // Sift up: the worse of parent and child goes to the top.
        let child = size++;
        while (child > 0) {
          const parent = (child - 1) >> 1;
          if (compare(heap[parent]!, candidate) >= 0) break;
          heap[child] = heap[parent]!;
          child = parent;
        }
        heap[child] = candidate;
      } else if (compare(candidate, heap[0]!) < 0) {
        // Better than the worst kept: it replaces the root, which sifts down.
        let parent = 0;
        for (;;) {
          const left = 2 * parent + 1;
          if (left >= size) break;
          const right = left + 1;
          const worseChild = right < size && compare(heap[right]!, heap[left]!) > 0 ? right : left;
          if (compare(heap[worseChild]!, candidate) <= 0) break;
          heap[parent] = heap[worseChild]!;
          parent = worseChild;
        }
        heap[parent] = candidate;
      }
    }
    return heap.subarray(0, size);
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
    if (name.length !== forced.length) continue;
    if (name === forced || name.toLowerCase() === forcedLower) {
      return spec.ignoreHosts.has(name) ? [] : [host];
    }
  }
  return [];
}
