import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { endAllGuests } from '../agents/compute/virt/qemu/host-teardown.js';
import { stopStorageDaemons } from '../agents/volume/backends/nbd/storage-daemon.js';
import { linuxBridgeBlockers } from '../agents/network/start.js';
import { LinuxBridgeDataplane } from '../agents/network/dataplane/linuxbridge/linuxbridge.js';
import { publicBridgeFor } from '../agents/network/start.js';
import { alive } from '../core/host/daemons.js';
import type { KumoConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { pidFileOf, runningKumo } from './pid-file.js';

/** How long a running `kumo up` gets to stop on SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 60_000;

export interface DownReport {
  /** The `kumo up` that was running on the data directory, stopped first. */
  stopped?: { pid: number; killed: boolean };
  guests: string[];
  /** How many qemu-storage-daemons of the nbd volume backend were ended. */
  storageDaemons: number;
  removed: string[];
  /** Why the dataplane's objects could not be looked for (no root or tools). */
  skipped?: string;
}

/**
 * `kumo down --data-dir DIR`: removes everything DIR's cloud made on this host. A `kumo up`
 * still running on DIR (its pid file) is stopped first, with SIGTERM, which leaves guests and
 * the dataplane in place; then the guests' QEMU processes end, and the dataplane's devices,
 * namespaces (with their dnsmasq and haproxy), iptables chains and ipsets go, found by the
 * cloud's id and its state directory, and that runtime state with them. Whatever is already
 * gone is fine: a second run finds nothing to do. The data directory itself is kept.
 */
export async function down(config: KumoConfig, log: Logger): Promise<DownReport> {
  const report: DownReport = { guests: [], storageDaemons: 0, removed: [] };
  const pid = runningKumo(config.dataDir);
  if (pid !== undefined) report.stopped = await stopProcess(pid);
  rmSync(pidFileOf(config.dataDir), { force: true });

  const stateDir = config.dataplane.stateDir;
  report.guests = await endAllGuests(stateDir);
  report.storageDaemons = await stopStorageDaemons(stateDir);
  const blockers = linuxBridgeBlockers();
  if (blockers.length > 0) {
    report.skipped = `looking for the dataplane's objects needs ${blockers.join(', ')}`;
  } else {
    const d = config.dataplane;
    const publicBridge = publicBridgeFor(config);
    const dataplane = new LinuxBridgeDataplane(
      {
        cloudId: config.cloudId,
        physicalInterfaceMappings: d.physicalInterfaceMappings,
        // The host bridge for `public` (DevStack's br-ex), its veth pair and its uplink chains.
        ...(publicBridge ? { publicBridge } : {}),
        stateDir,
        // With a socket configured the proxies count as enabled, so those without a namespace go too.
        metadataSocket: join(stateDir, 'metadata.sock'),
        ...(d.hostNamespace ? { hostNamespace: d.hostNamespace } : {}),
        ...(d.namespacePrefix ? { namespacePrefix: d.namespacePrefix } : {}),
      },
      log,
    );
    report.removed = await dataplane.removeAll();
  }
  removeRuntimeState(stateDir);
  return report;
}

async function stopProcess(pid: number): Promise<{ pid: number; killed: boolean }> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!alive(pid)) return { pid, killed: false };
  process.kill(pid, 'SIGKILL');
  return { pid, killed: true };
}

/** What Kumo keeps in the state directory (it may be an operator's own directory: only ours goes). */
const RUNTIME_ENTRIES = /^(dhcp|qemu|volume-nbd|metadata\.sock|accel\.json|cloud-id|haproxy-.*\.(cfg|pid))$/;

function removeRuntimeState(stateDir: string): void {
  if (!existsSync(stateDir)) return;
  for (const name of readdirSync(stateDir)) {
    if (RUNTIME_ENTRIES.test(name)) rmSync(join(stateDir, name), { recursive: true, force: true });
  }
  try {
    rmdirSync(stateDir);
  } catch {
    // not empty: something not Kumo's is in it
  }
}

export function downText(config: KumoConfig, report: DownReport): string {
  const lines = [`Kumo on ${config.dataDir} (cloud ${config.cloudId}) is down.`];
  if (report.stopped) lines.push(`  stopped:  kumo up, pid ${report.stopped.pid}${report.stopped.killed ? ' (killed: it did not stop within 60 s of SIGTERM)' : ''}`);
  lines.push(`  guests:   ${report.guests.length === 0 ? 'none running' : `${report.guests.length} ended (${report.guests.join(', ')})`}`);
  if (report.storageDaemons > 0) lines.push(`  volumes:  ${report.storageDaemons} NBD storage daemon(s) ended`);
  if (report.skipped) lines.push(`  network:  not looked at: ${report.skipped}`);
  else lines.push(`  network:  ${report.removed.length === 0 ? 'nothing left to remove' : `removed ${report.removed.length}: ${report.removed.join(', ')}`}`);
  return `${lines.join('\n')}\n`;
}
