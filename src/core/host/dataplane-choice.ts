import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { KumoConfig } from '../config.js';

// Which network dataplane a host runs: the network agent starts it, and the compute agent asks
// the same question to choose its driver (real guests need linuxbridge), so it lives below both.

/** Which dataplane this host runs, and why, for the start-up banner. */
export interface DataplaneChoice {
  name: 'noop' | 'linuxbridge';
  reason: string;
}

/** The tools linuxbridge runs; it also needs root. */
const REQUIRED_TOOLS = ['ip', 'bridge', 'dnsmasq', 'iptables', 'iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore', 'ipset', 'conntrack'] as const;

/** Is this tool an executable on PATH (the dataplane runs its tools by name, through PATH)? */
export function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** What keeps linuxbridge from running here (empty: nothing). */
export function linuxBridgeBlockers(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const tool of REQUIRED_TOOLS) if (!onPath(tool)) missing.push(tool);
  return missing;
}

/**
 * `--dataplane`: linuxbridge when asked (and refused, naming what is missing, when it cannot
 * run); unset picks linuxbridge when it can run and noop otherwise, saying why.
 */
export function chooseDataplane(config: KumoConfig): DataplaneChoice {
  const wanted = config.dataplane.driver;
  if (wanted === 'noop') return { name: 'noop', reason: 'requested with --dataplane noop: networks exist in the API only' };
  if (wanted !== undefined && wanted !== 'linuxbridge') throw new Error(`--dataplane ${wanted}: use linuxbridge or noop`);
  const blockers = linuxBridgeBlockers();
  if (wanted === 'linuxbridge') {
    if (blockers.length > 0) throw new Error(`--dataplane linuxbridge needs ${blockers.join(', ')}`);
    return { name: 'linuxbridge', reason: 'requested with --dataplane linuxbridge' };
  }
  if (blockers.length > 0) return { name: 'noop', reason: `networks exist in the API only (noop dataplane): linuxbridge needs ${blockers.join(', ')}` };
  return { name: 'linuxbridge', reason: 'running as root with iproute2, dnsmasq and iptables: Linux bridges and namespaces' };
}
