import type { HostState, RequestSpec } from '../types.js';

/** One host check specialised to one request. */
export type HostPredicate = (host: HostState) => boolean;

/**
 * A Nova scheduler filter: says whether a host can take the request.
 *
 * `passes` is the plain, self-contained check (used by tests and one-off callers).
 * `forRequest` is what the scheduler runs: it does the per-request work once (turning host
 * lists into Sets, canonicalising names) and returns a check for each host, or `undefined`
 * when the request does not constrain hosts through this filter at all, so the scheduler can
 * leave the filter out of the per-host loop instead of calling it 10,000 times to get `true`.
 */
export interface HostFilter {
  readonly name: string;
  passes(host: HostState, spec: RequestSpec): boolean;
  forRequest(spec: RequestSpec): HostPredicate | undefined;
}

/** `passes` for filters whose logic lives in `forRequest`, so both paths cannot drift apart. */
export function passesViaRequest(filter: HostFilter, host: HostState, spec: RequestSpec): boolean {
  const predicate = filter.forRequest(spec);
  return predicate === undefined || predicate(host);
}
