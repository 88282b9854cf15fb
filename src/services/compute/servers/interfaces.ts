import { isUuidLike } from '../../../core/ids.js';
import { badRequest, conflict, notFound, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { FixedIpAlreadyInUse, NetworkAmbiguous, NetworkNotFound, PortBindingFailed, PortInUse, PortNotFound, type NetworkPorts } from '../peers.js';
import { checkActionAllowed } from './access.js';
import type { ServerServices } from './services.js';

/** os-interface's rules: which states take a new port, how the network's refusals read, who keeps a port. */

const ATTACHABLE = new Set(['active', 'paused', 'stopped']);

/** A server's port as os-interface shows it. */
export type InstancePort = Awaited<ReturnType<NetworkPorts['ports']>>[number];

/** What to attach: a network (with an address, perhaps) or a port the user made. */
export interface InterfaceRequest {
  uuid?: string;
  port?: string;
  fixed_ip?: string;
}

/**
 * The network's refusals as Nova's attach_interfaces words them, which is not as a boot does:
 * an unknown network or port is a 404 here, an address or port in use a 409, an ambiguous
 * network a 400.
 */
function attachRefusal(error: unknown): unknown {
  if (error instanceof NetworkNotFound || error instanceof PortNotFound) return notFound(error.message);
  if (error instanceof PortInUse || error instanceof FixedIpAlreadyInUse) return conflict(error.message);
  if (error instanceof NetworkAmbiguous) return badRequest(error.message);
  return error;
}

function network(ctx: ComputeContext) {
  if (!ctx.network) throw badRequest('Network service is not available.');
  return ctx.network;
}

/** The server's ports; without a network service it has none. */
export async function serverPorts(ctx: ComputeContext, instance: Instance): Promise<InstancePort[]> {
  return ctx.network ? ctx.network.ports(instance) : [];
}

/** Attaches a port to a running (or paused, or stopped) server and answers it once bound. */
export async function attachInterface(ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance, entry: InterfaceRequest): Promise<InstancePort> {
  checkActionAllowed(instance, caller, 'other');
  if (!ATTACHABLE.has(instance.vmState) || !instance.host) {
    throw conflict(`Cannot 'attach_interface' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
  }
  if (instance.taskState !== null) throw conflict(`Cannot 'attach_interface' instance ${instance.id} while it is in task_state ${instance.taskState}`);
  await network(ctx)
    .validate(caller, instance.projectId, [entry])
    .catch((error: unknown) => {
      throw attachRefusal(error);
    });
  await svc.actions.start(instance.id, 'attach_interface', caller);
  const [portId] = await network(ctx)
    .allocate({ id: instance.id, projectId: instance.projectId, host: instance.host, securityGroups: instance.securityGroups }, [entry])
    .catch((error: unknown) => {
      // The host cannot realise that network: Nova's InterfaceAttachFailed, here a 409 that says why.
      if (error instanceof PortBindingFailed) throw conflict(`Failed to attach network adapter device to ${instance.id}: ${error.message}`);
      throw error;
    });
  if (entry.port) {
    // A port the user brought stays theirs: unbound, not deleted, when the server goes.
    const requested = Array.isArray(instance.requestedNetworks) ? instance.requestedNetworks : [];
    await svc.instances.update(instance.id, { requested_networks: JSON.stringify([...requested, { port: entry.port }]) });
  }
  const port = (await serverPorts(ctx, instance)).find((p) => p.id === portId);
  if (!port) throw conflict('The interface was detached while it was being attached.');
  return port;
}

/** Detaches one of the server's ports: a port the user brought is unbound and kept, one Nova made is deleted. */
export async function detachInterface(ctx: ComputeContext, svc: ServerServices, caller: Caller, instance: Instance, portId: string): Promise<void> {
  checkActionAllowed(instance, caller, 'other');
  if (!isUuidLike(portId) || !ctx.network) throw notFound(`Port ${portId} is not attached`);
  if (instance.taskState !== null) throw conflict(`Cannot 'detach_interface' instance ${instance.id} while it is in task_state ${instance.taskState}`);
  const preserve = Array.isArray(instance.requestedNetworks) && instance.requestedNetworks.some((n) => n.port === portId);
  await ctx.network.detach(instance, portId, preserve);
  await svc.actions.start(instance.id, 'detach_interface', caller);
}
