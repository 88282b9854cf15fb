import type { InstanceRef, SecurityGroupCaller } from '../../compute/client.js';
import type { NetworkContext } from '../context.js';
import type { Port } from '../model.js';
import type { SecurityGroupRow } from '../tables.js';

/**
 * An instance's ports as Nova finds them in Neutron: device_id = the instance and tenant_id =
 * the instance's project. Anyone may write any device_id on a port of their own, so a port of
 * another project naming the instance is not the instance's: it never shows in the server's
 * views, metadata or config drive, never becomes a NIC, and the server never detaches or
 * deletes it. Oldest first, as Nova's network info keeps the boot's order.
 */
export async function instancePorts(ctx: NetworkContext, instance: InstanceRef): Promise<Port[]> {
  // An empty device_id is every unbound port: no instance has that id.
  if (!instance.id || !instance.projectId) return [];
  const ports = await ctx.records.listPorts({ deviceId: instance.id, projectId: instance.projectId });
  return ports.sort((a, b) => (a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt.localeCompare(b.createdAt)));
}

/**
 * The groups on `ports` the viewer may see, once per port that has them (Nova's
 * get_instances_security_groups_bindings lists them with the user's rights and skips the
 * others).
 */
export async function groupsOnPorts(ctx: NetworkContext, viewer: SecurityGroupCaller, ports: Port[]): Promise<SecurityGroupRow[]> {
  const ids = [...new Set(ports.flatMap((p) => p.securityGroups))];
  if (ids.length === 0) return [];
  const rows = await ctx.groups.list(viewer.isAdmin ? { ids } : { ids, projectId: viewer.projectId });
  const byId = new Map(rows.map((g) => [g.id, g]));
  return ports.flatMap((p) => p.securityGroups.map((id) => byId.get(id)).filter((g): g is SecurityGroupRow => g !== undefined));
}
