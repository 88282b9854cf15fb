import type { Json } from '../../core/http/body.js';
import { authorize, authorizeAttributes, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, int, invalidInput, newResource, now, str } from './common.js';
import { requestedProject } from './routers.js';
import type { AddressScopeRow } from './tables.js';

/**
 * Neutron's address scopes: a named set of address space that subnet pools belong to, so
 * that addresses within one scope route between each other without NAT. Visible to their
 * project and, when `shared` (an admin's setting), to every project.
 */
export function renderAddressScope(row: AddressScopeRow): Json {
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    tenant_id: row.project_id,
    ip_version: row.ip_version,
    shared: row.shared === 1,
  };
}

export async function visibleAddressScope(ctx: NetworkContext, caller: Caller, id: string): Promise<AddressScopeRow> {
  const row = await ctx.pools.getScope(id);
  if (!row || !(caller.isAdmin || row.project_id === caller.projectId || row.shared === 1)) throw notFound('AddressScope', id);
  return row;
}

export async function listAddressScopes(ctx: NetworkContext, caller: Caller): Promise<AddressScopeRow[]> {
  return ctx.pools.listScopes(caller.isAdmin ? undefined : caller.projectId);
}

export async function createAddressScope(ctx: NetworkContext, caller: Caller, body: Json): Promise<AddressScopeRow> {
  const projectId = requestedProject(body, caller);
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_address_scope', target);
  authorizeAttributes(ctx, caller, 'create_address_scope', body.shared === undefined ? {} : { shared: body.shared }, target);
  const ipVersion = int(body, 'ip_version') as 4 | 6;
  const resource = newResource(body, projectId, 0);
  const row: AddressScopeRow = { ...standardRow(resource), ip_version: ipVersion, shared: bool(body, 'shared') ? 1 : 0 };
  await ctx.pools.createScope(row);
  return row;
}

export async function updateAddressScope(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<AddressScopeRow> {
  const row = await visibleAddressScope(ctx, caller, id);
  const target = { project_id: row.project_id };
  authorize(ctx, caller, 'update_address_scope', target);
  if (!caller.isAdmin && row.project_id !== caller.projectId) throw notFound('AddressScope', id);
  authorizeAttributes(ctx, caller, 'update_address_scope', body.shared === undefined ? {} : { shared: body.shared }, target);
  const shared = bool(body, 'shared');
  // Neutron: a shared scope cannot be unshared (others' pools may be in it).
  if (shared === false && row.shared === 1) throw invalidInput('Unsharing an address scope is not allowed.');
  const updated: AddressScopeRow = {
    ...row,
    name: str(body, 'name') ?? row.name,
    description: str(body, 'description') ?? row.description,
    shared: shared === undefined ? row.shared : shared ? 1 : 0,
    updated_at: now(),
    revision_number: row.revision_number + 1,
  };
  await ctx.pools.updateScope(updated);
  return updated;
}

export async function deleteAddressScope(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const row = await visibleAddressScope(ctx, caller, id);
  authorize(ctx, caller, 'delete_address_scope', { project_id: row.project_id });
  if (!caller.isAdmin && row.project_id !== caller.projectId) throw notFound('AddressScope', id);
  if ((await ctx.pools.listPools({ addressScopeId: id })).length > 0) {
    throw new NeutronError(409, 'AddressScopeInUse', `Unable to complete operation on address scope ${id}. There are one or more subnet pools in use on the address scope.`);
  }
  await ctx.pools.deleteScope(id);
}

export function standardRow(r: ReturnType<typeof newResource>) {
  return {
    id: r.id,
    project_id: r.projectId,
    name: r.name,
    description: r.description,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    revision_number: r.revisionNumber,
  };
}
