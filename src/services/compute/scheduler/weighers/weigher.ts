import type { HostState, RequestSpec } from '../types.js';

/** One host's raw weight for one request. */
export type HostWeight = (host: HostState) => number;

/**
 * A Nova weigher. The raw weights of the candidates are normalised to 0..1 over the candidate
 * set, multiplied by `multiplier` and summed over the weighers; the largest sum wins.
 *
 * `forRequest` does the per-request work once and returns the per-host function, or
 * `undefined` when every host would get the same raw weight: normalisation turns that into 0
 * for all, so the scheduler may skip the weigher without changing the order.
 */
export interface HostWeigher {
  readonly name: string;
  /** Positive prefers hosts with larger raw weights, negative smaller ones. */
  readonly multiplier: number;
  weigh(host: HostState, spec: RequestSpec): number;
  forRequest(spec: RequestSpec): HostWeight | undefined;
}

/** Nova's weights.normalize for one value: 0..1 over [min, max], 0 for all when they are equal. */
export function normalisedWeight(raw: number, min: number, max: number): number {
  return min === max ? 0 : (raw - min) / (max - min);
}

/** Nova's weights.normalize over a whole list. */
export function normaliseWeights(raw: readonly number[]): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const weight of raw) {
    if (weight < min) min = weight;
    if (weight > max) max = weight;
  }
  return raw.map((weight) => normalisedWeight(weight, min, max));
}

/** `spread` fills the emptiest hosts first (Nova's default +1.0), `stack` the fullest (-1.0). */
export function resourceMultiplier(weigh: 'spread' | 'stack'): number {
  return weigh === 'spread' ? 1 : -1;
}
