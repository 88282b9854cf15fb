import { ComputeMethods, COMPUTE_TOPIC } from '../../../contracts/compute.js';
import { conflict, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';

/** Nova's power_state names (nova/compute/power_state.py STATE_MAP). */
const POWER_STATE_NAMES: Readonly<Record<number, string>> = { 0: 'pending', 1: 'running', 3: 'paused', 4: 'shutdown', 6: 'crashed', 7: 'suspended' };
const RUNNING = 1;

/**
 * GET /servers/{id}/diagnostics before 2.48: the host's driver's free-form figures. As Nova's
 * compute manager, only a running guest answers; a server not on a host is not ready.
 */
export async function serverDiagnostics(ctx: ComputeContext, instance: Instance): Promise<Record<string, number>> {
  if (!instance.host) throw conflict(`Instance ${instance.id} has not been scheduled yet`);
  if (instance.powerState !== RUNNING || instance.vmState !== 'active') {
    const state = POWER_STATE_NAMES[instance.powerState] ?? 'pending';
    throw conflict(`Instance ${instance.id} in power state ${state}. Cannot get_diagnostics while the instance is in this state.`);
  }
  const figures = await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.diagnostics, { instanceId: instance.id }, { timeoutMs: 30_000 });
  // The host's answer crosses the bus: only names and numbers go out.
  if (typeof figures !== 'object' || figures === null) return {};
  return Object.fromEntries(Object.entries(figures).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}
