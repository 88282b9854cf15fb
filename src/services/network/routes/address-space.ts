import type { FastifyInstance } from 'fastify';
import { ADDRESS_SCOPE, RBAC_POLICY, SUBNET_POOL } from '../attributes/resources.js';
import { createAddressScope, deleteAddressScope, listAddressScopes, renderAddressScope, updateAddressScope, visibleAddressScope } from '../address-scopes.js';
import type { NetworkContext } from '../context.js';
import { createRbac, deleteRbac, listRbac, renderRbac, updateRbac, visibleRbac } from '../rbac-policies.js';
import { createSubnetPool, deleteSubnetPool, listSubnetPools, renderSubnetPool, updateSubnetPool, visibleSubnetPool } from '../subnet-pools.js';
import { resourceRoutes } from './resource.js';

/** Address scopes, subnet pools (subnet_allocation) and RBAC policies. */
export function addressSpaceRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  const tagged = async <T extends { id: string }>(rows: T[]) => {
    const tags = await ctx.records.tagsOf(rows.map((r) => r.id));
    return (row: T) => (tags.get(row.id) ?? []).sort();
  };

  resourceRoutes(app, baseUrl, {
    attributes: ADDRESS_SCOPE,
    path: 'address-scopes',
    list: async (caller) => (await listAddressScopes(ctx, caller)).map(renderAddressScope),
    show: async (caller, id) => renderAddressScope(await visibleAddressScope(ctx, caller, id)),
    create: async (caller, body) => renderAddressScope(await createAddressScope(ctx, caller, body)),
    update: async (caller, id, body) => renderAddressScope(await updateAddressScope(ctx, caller, id, body)),
    remove: (caller, id) => deleteAddressScope(ctx, caller, id),
  });

  resourceRoutes(app, baseUrl, {
    attributes: SUBNET_POOL,
    list: async (caller) => {
      const rows = await listSubnetPools(ctx, caller);
      const tagsOf = await tagged(rows);
      return rows.map((r) => renderSubnetPool(r, tagsOf(r)));
    },
    show: async (caller, id) => {
      const row = await visibleSubnetPool(ctx, caller, id);
      return renderSubnetPool(row, (await tagged([row]))(row));
    },
    create: async (caller, body) => renderSubnetPool(await createSubnetPool(ctx, caller, body)),
    update: async (caller, id, body) => {
      const row = await updateSubnetPool(ctx, caller, id, body);
      return renderSubnetPool(row, (await tagged([row]))(row));
    },
    remove: (caller, id) => deleteSubnetPool(ctx, caller, id),
  });

  resourceRoutes(app, baseUrl, {
    attributes: RBAC_POLICY,
    path: 'rbac-policies',
    list: async (caller) => (await listRbac(ctx, caller)).map(renderRbac),
    show: async (caller, id) => renderRbac(await visibleRbac(ctx, caller, id)),
    create: async (caller, body) => renderRbac(await createRbac(ctx, caller, body)),
    update: async (caller, id, body) => renderRbac(await updateRbac(ctx, caller, id, body)),
    remove: (caller, id) => deleteRbac(ctx, caller, id),
  });
}
