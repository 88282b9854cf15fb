import type { ComputeContext } from './context.js';
import { ComputeHosts } from './hosts.js';
import { ControlServices, controlServiceIsUp } from './control-services.js';
import type { ComputeHostRow } from './tables.js';

/** os-availability-zone: the zones compute hosts are in, and (for admins) those hosts. */

interface HostState {
  available: boolean;
  active: boolean;
  updated_at: string | null;
}

interface ZoneInfo {
  zoneName: string;
  zoneState: { available: boolean };
  hosts: Record<string, Record<string, HostState>> | null;
}

/** Nova prints service times as Python's isoformat: microseconds, no zone. */
const pythonTime = (iso: string) => `${iso.slice(0, 19)}.${iso.slice(20, 23).padEnd(3, '0')}000`;

export function serviceIsUp(ctx: ComputeContext, host: ComputeHostRow, now = Date.now()): boolean {
  if (host.forced_down === 1) return false;
  const beat = Date.parse(host.last_heartbeat);
  return Number.isFinite(beat) && now - beat <= ctx.config.compute.serviceDownTimeSeconds * 1000;
}

/**
 * A zone is available while it has an enabled host; zones whose hosts are all disabled
 * are listed as unavailable, after the available ones, as Nova lists them.
 */
export async function availabilityZones(ctx: ComputeContext, detail: boolean): Promise<ZoneInfo[]> {
  const hosts = await new ComputeHosts(ctx.db).list();
  const zones = new Map<string, ComputeHostRow[]>();
  for (const host of hosts) {
    const zone = host.availability_zone || 'nova';
    zones.set(zone, [...(zones.get(zone) ?? []), host]);
  }
  const now = Date.now();
  const infos: ZoneInfo[] = [...zones.entries()].map(([zoneName, members]) => {
    const enabled = members.filter((h) => h.disabled === 0);
    const shown = detail ? (enabled.length > 0 ? enabled : members) : [];
    const hostMap = Object.fromEntries(
      shown.map((h) => [
        h.host,
        { 'nova-compute': { available: serviceIsUp(ctx, h, now), active: h.disabled === 0, updated_at: pythonTime(h.updated_at > h.last_heartbeat ? h.updated_at : h.last_heartbeat) } },
      ]),
    );
    return { zoneName, zoneState: { available: enabled.length > 0 }, hosts: detail ? hostMap : null };
  });
  infos.sort((a, b) => Number(b.zoneState.available) - Number(a.zoneState.available) || (a.zoneName < b.zoneName ? -1 : 1));
  if (!detail) return infos;
  // The conductor and scheduler, in Nova's `internal` zone, alive by their heartbeat.
  const internalHosts: Record<string, Record<string, HostState>> = {};
  for (const row of await new ControlServices(ctx.db).list()) {
    (internalHosts[row.host] ??= {})[row.binary] = { available: controlServiceIsUp(row, ctx.config.compute.serviceDownTimeSeconds, now), active: true, updated_at: pythonTime(row.last_heartbeat) };
  }
  if (Object.keys(internalHosts).length === 0) return infos;
  return [{ zoneName: 'internal', zoneState: { available: true }, hosts: internalHosts }, ...infos];
}
