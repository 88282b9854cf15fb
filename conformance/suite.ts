import type { KumoProcess } from '../bench/lib/kumo-process.js';
import type { ServiceCounts, ServiceName, TestResult } from './results.js';

/** What a suite is handed: the running cloud, an admin token, and the run's options. */
export interface SuiteContext {
  kumo: KumoProcess;
  token: string;
  /** Catalog types, and each type's public endpoint. */
  types: Set<string>;
  endpoints: Map<string, string>;
  /** A scratch directory of the suite's own. */
  workspace: string;
  /** conformance/ in the source tree (data files). */
  source: string;
  /** `--services a,b`, unparsed. */
  services: string | undefined;
  concurrency: string;
}

/** What a suite hands back for the report and the ratchet. */
export interface SuiteRun {
  title: string;
  selection: string;
  /** The suite's own version, for the report. */
  version: string;
  exitCode: number;
  counts: Record<ServiceName, ServiceCounts>;
  failures: TestResult[];
  skips: TestResult[];
  serviceOf: (r: TestResult) => ServiceName | undefined;
  /** What the baseline file's counts are of. */
  baselineList: string;
  /** More lines for the report's list under the title. */
  notes?: string[];
}

/** `--services a,b` as a set, checked; undefined when every service is wanted. */
export function wantedServices(services: string | undefined, known: readonly string[]): Set<string> | undefined {
  if (!services) return undefined;
  const wanted = new Set(services.split(',').map((s) => s.trim()));
  for (const s of wanted) if (!known.includes(s)) throw new Error(`unknown service ${s}: use ${known.join(', ')}`);
  return wanted;
}
