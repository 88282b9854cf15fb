import type { FastifyInstance } from 'fastify';
import { isUuidLike } from '../../../core/ids.js';
import { badRequest, callerFrom, conflict, notFound, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { FixedIpAlreadyInUse, NetworkAmbiguous, NetworkNotFound, PortBindingFailed, PortInUse, PortNotFound } from '../peers.js';
import { checkActionAllowed, visibleInstance } from '../servers/access.js';
import type { ServerServices } from '../servers/services.js';
import { attachInterface } from '../schemas/server-resources.js';

type IdParams = { id: string };
type PortParams = IdParams & { portId: string };

const ATTACHABLE = new Set(['active', 'paused', 'stopped']);

/**
 * The network's refusals as Nova's attach_interfaces words them, which is not as a boot does:
 * an unknown network or port is a 404 here, an address or port in use a 409, an ambiguous
 * network a 400.
 */
export function attachRefusal(error: unknown): unknown {
  if (error instanceof NetworkNotFound || error instanceof PortNotFound) return notFound(error.message);
  if (error instanceof PortInUse || error instanceof FixedIpAlreadyInUse) return conflict(error.message);
  if (error instanceof NetworkAmbiguous) return badRequest(error.message);
  return error;
}

/** os-interface: a server's ports, and attaching or detaching one while it runs. */
export function interfaceRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices): void {
  const network = () => {
    if (!ctx.network) throw badRequest('Network service is not available.');
    return ctx.network;
  };
  const render = (p: { id: string; networkId: string; mac: string; fixedIps: Array<{ subnetId: string; ipAddress: string }>; status: string }) => ({
    port_state: p.status,
    fixed_ips: p.fixedIps.map((ip) => ({ subnet_id: ip.subnetId, ip_address: ip.ipAddress })),
    port_id: p.id,
    net_id: p.networkId,
    mac_addr: p.mac,
  });
  const portsOf = async (instance: Instance) => (ctx.network ? await ctx.network.ports(instance) : []);

  app.get<{ Params: IdParams }>('/servers/:id/os-interface', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-attach-interfaces:list');
    return { interfaceAttachments: (await portsOf(instance)).map(render) };
  });

  app.get<{ Params: PortParams }>('/servers/:id/os-interface/:portId', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-attach-interfaces:show');
    const port = (await portsOf(instance)).find((p) => p.id === request.params.portId);
    if (!port) throw notFound(`Port ${request.params.portId} is not attached`);
    return { interfaceAttachment: render(port) };
  });

  app.post<{ Params: IdParams; Body: { interfaceAttachment: AttachmentBody } }>('/servers/:id/os-interface', { schema: { body: attachInterface } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-attach-interfaces:create');
    const entry = parseAttachment(request.body.interfaceAttachment);
    checkActionAllowed(instance, caller, 'other');
    if (!ATTACHABLE.has(instance.vmState) || !instance.host) {
      throw conflict(`Cannot 'attach_interface' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
    }
    if (instance.taskState !== null) throw conflict(`Cannot 'attach_interface' instance ${instance.id} while it is in task_state ${instance.taskState}`);
    await network()
      .validate(caller, instance.projectId, [entry])
      .catch((error: unknown) => {
        throw attachRefusal(error);
      });
    await svc.actions.start(instance.id, 'attach_interface', caller);
    const [portId] = await network()
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
    const port = (await portsOf(instance)).find((p) => p.id === portId);
    if (!port) throw conflict('The interface was detached while it was being attached.');
    return { interfaceAttachment: render(port) };
  });

  app.delete<{ Params: PortParams }>('/servers/:id/os-interface/:portId', async (request, reply) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-attach-interfaces:delete');
    checkActionAllowed(instance, caller, 'other');
    if (!isUuidLike(request.params.portId)) throw notFound(`Port ${request.params.portId} is not attached`);
    if (!ctx.network) throw notFound(`Port ${request.params.portId} is not attached`);
    if (instance.taskState !== null) throw conflict(`Cannot 'detach_interface' instance ${instance.id} while it is in task_state ${instance.taskState}`);
    const preserve = Array.isArray(instance.requestedNetworks) && instance.requestedNetworks.some((n) => n.port === request.params.portId);
    await network().detach(instance, request.params.portId, preserve);
    await svc.actions.start(instance.id, 'detach_interface', caller);
    reply.code(202).send();
  });
}

type AttachmentBody = { net_id?: string; port_id?: string; fixed_ips?: [{ ip_address: string }] };

/** What to attach, as Nova's controller reads the (schema-checked) body. */
function parseAttachment(body: AttachmentBody): { uuid?: string; port?: string; fixed_ip?: string } {
  const { net_id: netId, port_id: portId, fixed_ips: fixed } = body;
  if (netId !== undefined && portId !== undefined) throw badRequest('Must not input both network_id and port_id');
  if (portId !== undefined) return { port: portId };
  if (netId === undefined) throw badRequest('Must input network_id or port_id');
  return fixed === undefined ? { uuid: netId } : { uuid: netId, fixed_ip: fixed[0].ip_address };
}
