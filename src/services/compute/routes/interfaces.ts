import type { FastifyInstance } from 'fastify';
import { badRequest, callerFrom, notFound, type ComputeContext } from '../context.js';
import { visibleInstance } from '../servers/access.js';
import { attachInterface, detachInterface, serverPorts, type InstancePort, type InterfaceRequest } from '../servers/interfaces.js';
import type { ServerServices } from '../servers/services.js';
import { attachInterface as attachInterfaceBody } from '../schemas/server-resources.js';

type IdParams = { id: string };
type PortParams = IdParams & { portId: string };

/** os-interface: a server's ports, and attaching or detaching one while it runs (the rules: ../servers/interfaces.ts). */
export function interfaceRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices): void {
  const render = (p: InstancePort) => ({
    port_state: p.status,
    fixed_ips: p.fixedIps.map((ip) => ({ subnet_id: ip.subnetId, ip_address: ip.ipAddress })),
    port_id: p.id,
    net_id: p.networkId,
    mac_addr: p.mac,
  });

  app.get<{ Params: IdParams }>('/servers/:id/os-interface', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-attach-interfaces:list');
    return { interfaceAttachments: (await serverPorts(ctx, instance)).map(render) };
  });

  app.get<{ Params: PortParams }>('/servers/:id/os-interface/:portId', async (request) => {
    const instance = await visibleInstance(ctx, svc.instances, callerFrom(request), request.params.id, 'os_compute_api:os-attach-interfaces:show');
    const port = (await serverPorts(ctx, instance)).find((p) => p.id === request.params.portId);
    if (!port) throw notFound(`Port ${request.params.portId} is not attached`);
    return { interfaceAttachment: render(port) };
  });

  app.post<{ Params: IdParams; Body: { interfaceAttachment: AttachmentBody } }>('/servers/:id/os-interface', { schema: { body: attachInterfaceBody } }, async (request) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-attach-interfaces:create');
    const port = await attachInterface(ctx, svc, caller, instance, parseAttachment(request.body.interfaceAttachment));
    return { interfaceAttachment: render(port) };
  });

  app.delete<{ Params: PortParams }>('/servers/:id/os-interface/:portId', async (request, reply) => {
    const caller = callerFrom(request);
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, 'os_compute_api:os-attach-interfaces:delete');
    await detachInterface(ctx, svc, caller, instance, request.params.portId);
    reply.code(202).send();
  });
}

type AttachmentBody = { net_id?: string; port_id?: string; fixed_ips?: [{ ip_address: string }] };

/** What to attach, as Nova's controller reads the (schema-checked) body. */
function parseAttachment(body: AttachmentBody): InterfaceRequest {
  const { net_id: netId, port_id: portId, fixed_ips: fixed } = body;
  if (netId !== undefined && portId !== undefined) throw badRequest('Must not input both network_id and port_id');
  if (portId !== undefined) return { port: portId };
  if (netId === undefined) throw badRequest('Must input network_id or port_id');
  return fixed === undefined ? { uuid: netId } : { uuid: netId, fixed_ip: fixed[0].ip_address };
}
