import { badRequest, type ComputeContext } from './context.js';
import type { Instance } from './instances/model.js';
import { novaIsoTime } from './nova-time.js';
import { InstanceRecords } from './store/instances.js';

/** The reporting window of os-simple-tenant-usage. */
export interface UsagePeriod {
  start: Date;
  stop: Date;
  /** start and stop as Nova echoes them: Python's isoformat of what it parsed, microseconds and all (a Date keeps milliseconds). */
  startText?: string;
  stopText?: string;
}

/** One server's line (Nova's server_usages entry). */
export interface ServerUsage {
  instance_id: string;
  name: string;
  tenant_id: string;
  hours: number;
  memory_mb: number;
  local_gb: number;
  vcpus: number;
  flavor: string;
  started_at: string | null;
  ended_at: string | null;
  state: string;
  uptime: number;
}

/** One project's totals (Nova's tenant_usage), with its servers' lines. */
export interface TenantUsage {
  tenant_id: string;
  start: string;
  stop: string;
  total_hours: number;
  total_local_gb_usage: number;
  total_memory_mb_usage: number;
  total_vcpus_usage: number;
  server_usages: ServerUsage[];
}

/** The three forms Nova's usage API parses; each is UTC without a zone. */
const NOVA_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/;

/** `start` and `end` as Nova reads them: a missing one is now, and start must come before end. */
export function usagePeriod(start: string | undefined, end: string | undefined, now = new Date()): UsagePeriod {
  const period: UsagePeriod = { start: parseTime(start, now), stop: parseTime(end, now) };
  if (start === undefined && end === undefined) period.start = new Date(now.getTime() - 1);
  if (!(period.start.getTime() < period.stop.getTime())) throw badRequest('Invalid start time. The start time cannot occur after the end time.');
  const startText = isoText(start);
  const stopText = isoText(end);
  return { ...period, ...(startText ? { startText } : {}), ...(stopText ? { stopText } : {}) };
}

/** A given time as Python's isoformat prints what Nova parsed: the fraction to six digits, none when it is zero. */
function isoText(value: string | undefined): string | undefined {
  const m = value === undefined ? null : NOVA_TIME.exec(value);
  if (!m) return undefined;
  const base = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  const fraction = (m[7] ?? '.').slice(1).padEnd(6, '0');
  return Number(fraction) === 0 ? base : `${base}.${fraction}`;
}

function parseTime(value: string | undefined, now: Date): Date {
  if (value === undefined) return now;
  const m = NOVA_TIME.exec(value);
  const at = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? m[7].slice(0, 4) : ''}Z`) : NaN;
  if (Number.isNaN(at)) throw badRequest(`Invalid input for field/attribute. Datetime is in invalid format: ${value}`);
  return new Date(at);
}

/** The instances (of one project, or of all) that lived in the window, oldest first. */
export async function instancesActiveIn(ctx: ComputeContext, period: UsagePeriod, projectId?: string): Promise<Instance[]> {
  const listed = await new InstanceRecords(ctx.db).list(projectId !== undefined ? { projectId } : {});
  return listed.filter((i) => activeInPeriod(i, period)).reverse();
}

/** Whether an instance lived at all in the window (Nova's instance_get_active_by_window_joined). */
export function activeInPeriod(instance: Instance, period: UsagePeriod): boolean {
  if (instance.terminatedAt && Date.parse(instance.terminatedAt) < period.start.getTime()) return false;
  if (instance.launchedAt && Date.parse(instance.launchedAt) > period.stop.getTime()) return false;
  return true;
}

/** Hours the instance ran inside the window: from its launch (or the window's start) to its end (or the window's). */
function hoursIn(instance: Instance, period: UsagePeriod): number {
  if (!instance.launchedAt) return 0;
  const launched = Date.parse(instance.launchedAt);
  const terminated = instance.terminatedAt ? Date.parse(instance.terminatedAt) : undefined;
  if (terminated !== undefined && terminated < period.start.getTime()) return 0;
  if (launched > period.stop.getTime()) return 0;
  const from = Math.max(launched, period.start.getTime());
  const to = terminated !== undefined ? Math.min(period.stop.getTime(), terminated) : period.stop.getTime();
  return Math.max(0, to - from) / 3_600_000;
}

export function serverUsage(instance: Instance, period: UsagePeriod, now = new Date()): ServerUsage {
  const ended = instance.terminatedAt ? new Date(instance.terminatedAt) : null;
  const started = instance.launchedAt ? new Date(instance.launchedAt) : null;
  const upTo = ended ?? now;
  return {
    instance_id: instance.id,
    name: instance.name,
    tenant_id: instance.projectId,
    hours: hoursIn(instance, period),
    memory_mb: instance.flavor.memoryMb,
    local_gb: instance.flavor.rootGb + instance.flavor.ephemeralGb,
    vcpus: instance.flavor.vcpus,
    flavor: instance.flavor.name,
    started_at: started ? novaIsoTime(started) : null,
    ended_at: ended ? novaIsoTime(ended) : null,
    state: ended ? 'terminated' : instance.vmState,
    uptime: started ? Math.max(0, Math.floor((upTo.getTime() - started.getTime()) / 1000)) : 0,
  };
}

/** Each project's usage in the window, in the order its instances come. */
export function tenantUsages(instances: Instance[], period: UsagePeriod, now = new Date()): TenantUsage[] {
  const byProject = new Map<string, TenantUsage>();
  for (const instance of instances) {
    if (!activeInPeriod(instance, period)) continue;
    const line = serverUsage(instance, period, now);
    let usage = byProject.get(instance.projectId);
    if (!usage) {
      usage = {
        tenant_id: instance.projectId,
        start: period.startText ?? novaIsoTime(period.start),
        stop: period.stopText ?? novaIsoTime(period.stop),
        total_hours: 0,
        total_local_gb_usage: 0,
        total_memory_mb_usage: 0,
        total_vcpus_usage: 0,
        server_usages: [],
      };
      byProject.set(instance.projectId, usage);
    }
    usage.total_hours += line.hours;
    usage.total_local_gb_usage += line.local_gb * line.hours;
    usage.total_memory_mb_usage += line.memory_mb * line.hours;
    usage.total_vcpus_usage += line.vcpus * line.hours;
    usage.server_usages.push(line);
  }
  return [...byProject.values()];
}
