/** One tempest test outcome, as conformance/subunit_to_json.py reports it. */
export interface TestResult {
  id: string;
  status: string;
  reason: string;
}

export const SERVICES = ['identity', 'compute', 'image', 'network', 'volume', 'object_storage'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface ServiceCounts {
  passed: number;
  failed: number;
  skipped: number;
  /** Listed tests that produced no result (not found in this tempest, or the run broke). */
  missing: number;
  total: number;
}

export function serviceOf(testId: string): ServiceName | undefined {
  const match = /^tempest\.api\.([a-z_]+)\./.exec(testId);
  return SERVICES.find((s) => s === match?.[1]);
}

/** The idempotent id tempest puts in the test name: `name[id-<uuid>,smoke]`. */
export function idempotentId(testId: string): string | undefined {
  return /\bid-([0-9a-f-]{36})\b/.exec(testId)?.[1];
}

export function outcome(status: string): 'passed' | 'failed' | 'skipped' {
  if (status === 'success' || status === 'xfail') return 'passed';
  if (status === 'skip') return 'skipped';
  return 'failed';
}

/** The line of a traceback that says what went wrong. */
export function oneLine(reason: string): string {
  const lines = reason
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const exception = [...lines].reverse().find((l) => /^[a-zA-Z_.]+(Error|Exception|Failure|Exceeded|Forbidden|NotFound|Unauthorized|Conflict|BadRequest|Mismatch)\b|^[a-z_.]+\.[A-Z][A-Za-z]+:|^[A-Z][A-Za-z]+:/.test(l));
  const line = exception ?? lines[lines.length - 1] ?? '';
  return line.replaceAll('|', '\\|').slice(0, 240);
}
