import type { HostState } from './types.js';

/**
 * Ordering candidates best first: heavier total weight first, then host name, then input
 * position. That is a strict total order, so the result is deterministic and needs no stable sort.
 *
 * Hand-written rather than `Int32Array.prototype.sort(compare)`: the builtin calls the
 * comparator closure through a generic call for every comparison, which made sorting 9,000
 * candidates cost ~1.5 ms. Here `ranksBefore` is a plain function V8 inlines into the loops.
 */

/** Host `a` (an index into `hosts`) comes before host `b`. */
export function ranksBefore(weights: Float64Array, hosts: readonly HostState[], a: number, b: number): boolean {
  const weightA = weights[a]!;
  const weightB = weights[b]!;
  if (weightA !== weightB) return weightA > weightB;
  const nameA = hosts[a]!.host;
  const nameB = hosts[b]!.host;
  if (nameA !== nameB) return nameA < nameB;
  return a < b;
}

/** Below this size insertion sort beats partitioning. */
const INSERTION_SORT_MAX = 16;

/**
 * Sorts `indexes[0, count)` best first: introsort (median-of-three quicksort that falls back to
 * heapsort if partitions keep coming out lopsided, so adversarial weights cannot make it
 * quadratic), with insertion sort for short ranges.
 */
export function sortBestFirst(indexes: Int32Array, count: number, weights: Float64Array, hosts: readonly HostState[]): void {
  if (count < 2) return;
  if (count < RADIX_SORT_MIN) {
    sortRange(indexes, 0, count - 1, weights, hosts);
    return;
  }
  radixSortByWeight(indexes, count, weights);
  // Radix sort is stable, so equal weights are still in input order: put each such run in
  // name order. Runs are short unless many hosts are identical, and then names decide anyway.
  let runStart = 0;
  while (runStart < count) {
    const weight = weights[indexes[runStart]!]!;
    let runEnd = runStart + 1;
    while (runEnd < count && weights[indexes[runEnd]!]! === weight) runEnd++;
    if (runEnd - runStart > 1) sortRange(indexes, runStart, runEnd - 1, weights, hosts);
    runStart = runEnd;
  }
}

function sortRange(indexes: Int32Array, low: number, high: number, weights: Float64Array, hosts: readonly HostState[]): void {
  introsort(indexes, low, high, 2 * Math.floor(Math.log2(high - low + 1)), weights, hosts);
}

/**
 * From this many candidates on, ordering by weight is a radix sort: eight linear passes beat
 * comparison sorting from about 4,000 candidates on this machine (1.8× faster at 8,700; the
 * builtin numeric sort was no faster than the comparison sort). Below, the passes cost more.
 */
export const RADIX_SORT_MIN = 4096;
const DIGIT_BITS = 8;
const DIGIT_VALUES = 1 << DIGIT_BITS;

/**
 * Scratch for the radix sort, grown on demand and reused: the sort runs synchronously, so no
 * two sorts share it at once. Keys are the weights as float64s, read as two 32-bit words.
 */
let keys = new Float64Array(0);
let keyWords = new Uint32Array(keys.buffer);
let spareKeyWords = new Uint32Array(0);
let spareIndexes = new Int32Array(0);
const digitCounts = new Int32Array(DIGIT_VALUES);
/** Little-endian machines keep a float64's low word first (all Node platforms are). */
const LOW_WORD = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1;
const HIGH_WORD = 1 - LOW_WORD;

/**
 * Stable LSD radix sort of indexes[0, count) by weight, heaviest first. Each weight's bits are
 * turned into an unsigned key whose order is the reverse of the numbers' (negative: flip all
 * bits; positive: flip the sign bit; then invert everything for descending), sorted a byte at a
 * time from the lowest; a pass where every key has the same byte is skipped.
 */
function radixSortByWeight(indexes: Int32Array, count: number, weights: Float64Array): void {
  if (keys.length < count) {
    keys = new Float64Array(count);
    keyWords = new Uint32Array(keys.buffer);
    spareKeyWords = new Uint32Array(2 * count);
    spareIndexes = new Int32Array(count);
  }
  for (let i = 0; i < count; i++) {
    keys[i] = weights[indexes[i]!]!;
    const high = keyWords[2 * i + HIGH_WORD]!;
    const low = keyWords[2 * i + LOW_WORD]!;
    const negative = (high & 0x80000000) !== 0;
    // Ascending-sortable is (negative ? ~bits : bits ^ signBit); descending is its complement.
    keyWords[2 * i + HIGH_WORD] = negative ? high : high ^ 0x7fffffff;
    keyWords[2 * i + LOW_WORD] = negative ? low : ~low;
  }

  // Keys move as their two words, never as float64s: a transformed key may be a NaN bit
  // pattern, which reading it as a number could canonicalise.
  let fromWords = keyWords;
  let fromIndexes: Int32Array = indexes;
  let toWords = spareKeyWords;
  let toIndexes: Int32Array = spareIndexes;
  for (let pass = 0; pass < 64 / DIGIT_BITS; pass++) {
    const word = pass < 32 / DIGIT_BITS ? LOW_WORD : HIGH_WORD;
    const shift = (pass * DIGIT_BITS) % 32;
    digitCounts.fill(0);
    for (let i = 0; i < count; i++) digitCounts[(fromWords[2 * i + word]! >>> shift) & (DIGIT_VALUES - 1)]!++;
    if (digitCounts[(fromWords[word]! >>> shift) & (DIGIT_VALUES - 1)] === count) continue;
    let position = 0;
    for (let digit = 0; digit < DIGIT_VALUES; digit++) {
      const digitCount = digitCounts[digit]!;
      digitCounts[digit] = position;
      position += digitCount;
    }
    for (let i = 0; i < count; i++) {
      const target = digitCounts[(fromWords[2 * i + word]! >>> shift) & (DIGIT_VALUES - 1)]!++;
      toWords[2 * target] = fromWords[2 * i]!;
      toWords[2 * target + 1] = fromWords[2 * i + 1]!;
      toIndexes[target] = fromIndexes[i]!;
    }
    const previousWords = fromWords;
    fromWords = toWords;
    toWords = previousWords;
    const previousIndexes = fromIndexes;
    fromIndexes = toIndexes;
    toIndexes = previousIndexes;
  }
  if (fromIndexes !== indexes) indexes.set(fromIndexes.subarray(0, count));
}

function introsort(indexes: Int32Array, low: number, high: number, depthLeft: number, weights: Float64Array, hosts: readonly HostState[]): void {
  while (high - low + 1 > INSERTION_SORT_MAX) {
    if (depthLeft-- === 0) {
      heapsort(indexes, low, high, weights, hosts);
      return;
    }
    const pivotAt = partition(indexes, low, high, weights, hosts);
    // Recurse into the smaller side, loop on the larger: stack depth stays O(log n).
    if (pivotAt - low < high - pivotAt) {
      introsort(indexes, low, pivotAt - 1, depthLeft, weights, hosts);
      low = pivotAt + 1;
    } else {
      introsort(indexes, pivotAt + 1, high, depthLeft, weights, hosts);
      high = pivotAt - 1;
    }
  }
  insertionSort(indexes, low, high, weights, hosts);
}

function swap(indexes: Int32Array, i: number, j: number): void {
  const held = indexes[i]!;
  indexes[i] = indexes[j]!;
  indexes[j] = held;
}

/** Hoare-style partition around the median of first, middle and last; returns the pivot's final place. */
function partition(indexes: Int32Array, low: number, high: number, weights: Float64Array, hosts: readonly HostState[]): number {
  const middle = low + ((high - low) >> 1);
  // Order low, middle, high so the median sits in the middle; it becomes the pivot.
  if (ranksBefore(weights, hosts, indexes[middle]!, indexes[low]!)) swap(indexes, middle, low);
  if (ranksBefore(weights, hosts, indexes[high]!, indexes[low]!)) swap(indexes, high, low);
  if (ranksBefore(weights, hosts, indexes[high]!, indexes[middle]!)) swap(indexes, high, middle);
  // Park the pivot next to the end; low and high already sit on the correct sides.
  swap(indexes, middle, high - 1);
  const pivot = indexes[high - 1]!;
  let i = low;
  let j = high - 1;
  for (;;) {
    while (ranksBefore(weights, hosts, indexes[++i]!, pivot));
    while (ranksBefore(weights, hosts, pivot, indexes[--j]!));
    if (i >= j) break;
    swap(indexes, i, j);
  }
  swap(indexes, i, high - 1);
  return i;
}

function insertionSort(indexes: Int32Array, low: number, high: number, weights: Float64Array, hosts: readonly HostState[]): void {
  for (let i = low + 1; i <= high; i++) {
    const moving = indexes[i]!;
    let j = i - 1;
    while (j >= low && ranksBefore(weights, hosts, moving, indexes[j]!)) {
      indexes[j + 1] = indexes[j]!;
      j--;
    }
    indexes[j + 1] = moving;
  }
}

/** Heapsort of indexes[low..high], best first: a heap with the worst on top, emptied from the back. */
function heapsort(indexes: Int32Array, low: number, high: number, weights: Float64Array, hosts: readonly HostState[]): void {
  const size = high - low + 1;
  for (let start = (size >> 1) - 1; start >= 0; start--) siftDownWorst(indexes, low, start, size, weights, hosts);
  for (let end = size - 1; end > 0; end--) {
    swap(indexes, low, low + end);
    siftDownWorst(indexes, low, 0, end, weights, hosts);
  }
}

/**
 * Restores a heap rooted at `indexes[base]` of `size` entries whose every parent ranks after
 * (is worse than) its children, moving the entry at `position` down.
 */
export function siftDownWorst(indexes: Int32Array, base: number, position: number, size: number, weights: Float64Array, hosts: readonly HostState[]): void {
  const moving = indexes[base + position]!;
  for (;;) {
    const left = 2 * position + 1;
    if (left >= size) break;
    const right = left + 1;
    let worseChild = left;
    if (right < size && ranksBefore(weights, hosts, indexes[base + left]!, indexes[base + right]!)) worseChild = right;
    if (!ranksBefore(weights, hosts, moving, indexes[base + worseChild]!)) break;
    indexes[base + position] = indexes[base + worseChild]!;
    position = worseChild;
  }
  indexes[base + position] = moving;
}
