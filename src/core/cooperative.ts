/**
 * Long work in small turns. Node serves every request on one thread: a list of ten thousand
 * ports read, mapped, rendered or serialized in one go holds the event loop for hundreds of
 * milliseconds, and every other request (a token validation that takes a millisecond) waits
 * behind it. Loops over many items, and every database statement, call `pace()`, which hands
 * the loop back (setImmediate: pending I/O runs first) once the current turn of the event loop
 * has run for a time slice, whoever spent it. A request that fits in a slice never yields.
 */

/** How long one turn of the event loop may run before the work in it lets others in. */
export const SLICE_MS = 4;

/** When the current turn started being measured; undefined once the event loop has moved on. */
let turnStarted: number | undefined;

function endTurn(): void {
  turnStarted = undefined;
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Undefined while the current turn is within its slice; otherwise a promise to await, which
 * resolves in a later turn. Cheap enough to call for every item of a loop.
 */
export function pace(): Promise<void> | undefined {
  const now = performance.now();
  if (turnStarted === undefined) {
    // The first look in this turn: the turn is measured from here, until the loop comes round.
    turnStarted = now;
    setImmediate(endTurn);
    return undefined;
  }
  if (now - turnStarted < SLICE_MS) return undefined;
  return yieldToEventLoop();
}

/** `items.map(fn)`, in turns. */
export async function mapInTurns<T, U>(items: readonly T[], fn: (item: T, index: number) => U): Promise<U[]> {
  const out = new Array<U>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i] as T, i);
    const pause = pace();
    if (pause) await pause;
  }
  return out;
}

/** `items.filter(keep)`, in turns. */
export async function filterInTurns<T>(items: readonly T[], keep: (item: T) => boolean): Promise<T[]> {
  const out: T[] = [];
  for (const item of items) {
    if (keep(item)) out.push(item);
    const pause = pace();
    if (pause) await pause;
  }
  return out;
}
