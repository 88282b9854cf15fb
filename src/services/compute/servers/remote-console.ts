import { isAbsolute } from 'node:path';
import { COMPUTE_TOPIC, ComputeMethods, type ConsoleArgs } from '../../../contracts/compute.js';
import { noVncUrl } from '../../../contracts/console.js';
import { ConsoleAuthTokens, type ConsoleEndpoint } from '../console-tokens.js';
import { badRequest, conflict, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';

/**
 * Every protocol Nova's API names: Kumo's agents serve VNC and serial only; RDP (Hyper-V's) and
 * MKS (VMware's) exist so that a client asking for them hears "unavailable", as from a Nova
 * whose hypervisor has none, and not that the action does not exist.
 */
export type RemoteConsoleProtocol = ConsoleArgs['protocol'] | 'rdp' | 'mks';

/** The longest unix socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * A console URL for an active instance, as Nova's compute API gets one: the agent says where
 * the console is, a fresh token is recorded for it, and the URL leads to the console proxy on
 * Kumo's own port. Kumo proxies noVNC only: serial, SPICE, RDP, MKS and xvpvnc consoles, and a guest
 * without a VNC console, are Nova's "Unavailable console type" (400).
 */
export async function remoteConsoleUrl(ctx: ComputeContext, instance: Instance, protocol: RemoteConsoleProtocol, type: string): Promise<string> {
  if (!instance.host || instance.vmState !== 'active') throw conflict(`Instance ${instance.id} is not ready`);
  const unavailable = () => badRequest(`Unavailable console type ${type}.`);
  if (protocol !== 'vnc' || type !== 'novnc') throw unavailable();
  const args: ConsoleArgs = { instanceId: instance.id, protocol };
  const target = await ctx.bus.call({ topic: COMPUTE_TOPIC, server: instance.host }, ComputeMethods.console, args, { timeoutMs: 30_000 });
  const endpoint = consoleEndpoint(target);
  if (!endpoint) throw unavailable();
  const token = await new ConsoleAuthTokens(ctx.db).issue(
    { instanceId: instance.id, consoleType: type, endpoint, computeHost: instance.host },
    ctx.config.compute.consoleTokenTtlSeconds,
  );
  return noVncUrl(ctx.config.publicUrl, token);
}

/** The endpoint of an agent's ConsoleTarget, checked as anything that crossed the bus; undefined when it names none. */
export function consoleEndpoint(target: unknown): ConsoleEndpoint | undefined {
  if (typeof target !== 'object' || target === null) return undefined;
  const { unixSocket, host, port } = target as Record<string, unknown>;
  if (typeof unixSocket === 'string') {
    const fits = isAbsolute(unixSocket) && Buffer.byteLength(unixSocket) <= MAX_SOCKET_PATH && !unixSocket.includes('\0');
    return fits ? { unixSocket } : undefined;
  }
  if (typeof host === 'string' && /^[A-Za-z0-9.:_-]{1,255}$/.test(host) && typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535) {
    return { host, port };
  }
  return undefined;
}
