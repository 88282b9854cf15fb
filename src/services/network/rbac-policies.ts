import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { invalidInput, newUuid, now, str, uuidOf } from './common.js';
import type { Network } from './model.js';
import { visibleNetwork } from './networks.js';
import { WILDCARD, type RbacAction } from './rbac-store.js';
import type { RbacRow } from './tables.js';
import { checkQuota } from './quotas.js';

/**
 * Neutron's rbac-policies for networks: `access_as_shared` lets the target project (or `*`,
 * everyone) see the network and put ports and subnets' addresses on it; `access_as_external`
 * lets it see the network as an external one (router gateways, floating IPs). The network's
 * `shared` flag is the `*` shared entry and its `router:external` flag is there being any
 * external entry, kept in step both ways: setting a flag makes or drops the entry, and an
 * entry made or dropped here sets the flag.
 */

export function renderRbac(row: RbacRow): Json {
  return {
    id: row.id,
    project_id: row.project_id,
    tenant_id: row.project_id,
    object_type: row.object_type,
    object_id: row.object_id,
    action: row.action,
    target_tenant: row.target_project,
    target_project_id: row.target_project,
  };
}

/** Who may see an entry: its owner (admins see all), as Neutron's get_rbac_policy. */
export async function visibleRbac(ctx: NetworkContext, caller: Caller, id: string): Promise<RbacRow> {
  const row = await ctx.rbac.get(id);
  if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw notFound('RbacPolicy', id);
  return row;
}

export async function listRbac(ctx: NetworkContext, caller: Caller): Promise<RbacRow[]> {
  return ctx.rbac.list(caller.isAdmin ? {} : { projectId: caller.projectId });
}

function readTarget(body: Json): string | undefined {
  const tenant = str(body, 'target_tenant');
  const project = str(body, 'target_project_id');
  if (tenant !== undefined && project !== undefined && tenant !== project) throw invalidInput("'target_tenant' and 'target_project_id' do not match.");
  return tenant ?? project;
}

export async function createRbac(ctx: NetworkContext, caller: Caller, body: Json): Promise<RbacRow> {
  const action = str(body, 'action') as RbacAction;
  const target = readTarget(body);
  if (target === undefined) throw new NeutronError(400, 'HTTPBadRequest', "Failed to parse request. Required attribute 'target_tenant' not specified");
  const objectId = uuidOf(body.object_id);
  const projectId = str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId;
  if (projectId !== caller.projectId && !caller.isAdmin) {
    throw new NeutronError(403, 'PolicyNotAuthorized', '(rule:create_rbac_policy:project_id) is disallowed by policy');
  }
  const target_ = { project_id: projectId, target_tenant: target };
  authorize(ctx, caller, 'create_rbac_policy', target_);
  // Neutron's `not field:rbac_policy:target_tenant=*`: sharing with everyone is an admin's.
  if (target === WILDCARD) authorize(ctx, caller, 'create_rbac_policy:target_tenant', target_);
  const network = await visibleNetwork(ctx, caller, objectId);
  if (!caller.isAdmin && network.projectId !== caller.projectId) {
    throw invalidInput('Only admins can manipulate policies on networks they do not own.');
  }
  await checkQuota(ctx, projectId, 'rbac_policy');
  const row: RbacRow = { id: newUuid(), project_id: projectId, object_type: 'network', object_id: objectId, action, target_project: target, created_at: now() };
  try {
    await ctx.rbac.create(row);
  } catch (error) {
    if (!ctx.records.database.isUniqueViolation(error)) throw error;
    throw new NeutronError(409, 'DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');
  }
  await flagsFromEntries(ctx, objectId);
  return row;
}

export async function updateRbac(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<RbacRow> {
  const row = await visibleRbac(ctx, caller, id);
  const target = readTarget(body);
  const policyTarget = { project_id: row.project_id, target_tenant: target ?? row.target_project };
  authorize(ctx, caller, 'update_rbac_policy', policyTarget);
  if (target === undefined || target === row.target_project) return row;
  if (target === WILDCARD) authorize(ctx, caller, 'update_rbac_policy:target_tenant', policyTarget);
  await refuseInUse(ctx, row);
  try {
    await ctx.rbac.updateTarget(id, target);
  } catch (error) {
    if (!ctx.records.database.isUniqueViolation(error)) throw error;
    throw new NeutronError(409, 'DuplicateRbacPolicy', 'An RBAC policy already exists with those values.');
  }
  await flagsFromEntries(ctx, row.object_id);
  return { ...row, target_project: target };
}

export async function deleteRbac(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const row = await visibleRbac(ctx, caller, id);
  authorize(ctx, caller, 'delete_rbac_policy', { project_id: row.project_id, target_tenant: row.target_project });
  await refuseInUse(ctx, row);
  await ctx.rbac.delete(id);
  await flagsFromEntries(ctx, row.object_id);
  ctx.changed([row.object_id]);
}

/**
 * Neutron's RbacPolicyInUse: an entry goes only when no project it let in still depends on
 * it: ports (other than the network's own) of a project no other entry covers, for a shared
 * entry; routers' gateways of such a project, for an external one.
 */
async function refuseInUse(ctx: NetworkContext, row: RbacRow): Promise<void> {
  const network = await ctx.records.getNetwork(row.object_id);
  if (!network) return;
  const others = (await ctx.rbac.list({ objectType: 'network', objectIds: [row.object_id] })).filter((e) => e.id !== row.id && e.action === row.action);
  const covered = (projectId: string) => projectId === network.projectId || others.some((e) => e.target_project === WILDCARD || e.target_project === projectId);
  const reliesOnIt = (projectId: string) => !covered(projectId) && (row.target_project === WILDCARD || row.target_project === projectId);
  let users: string[];
  if (row.action === 'access_as_shared') {
    users = (await ctx.records.listPorts({ networkIds: [network.id] })).filter((p) => !p.deviceOwner.startsWith('network:')).map((p) => p.projectId);
  } else {
    users = (await ctx.l3.listRouters({ gatewayNetworkIds: [network.id] })).map((r) => r.projectId);
  }
  if (users.some(reliesOnIt)) {
    throw new NeutronError(409, 'RbacPolicyInUse', `RBAC policy on object ${row.object_id} cannot be removed because other objects depend on it.`);
  }
}

/** The network's shared and external flags from its entries (after an entry changed). */
async function flagsFromEntries(ctx: NetworkContext, networkId: string): Promise<void> {
  const network = await ctx.records.getNetwork(networkId);
  if (!network) return;
  const entries = await ctx.rbac.list({ objectType: 'network', objectIds: [networkId] });
  const shared = entries.some((e) => e.action === 'access_as_shared' && e.target_project === WILDCARD);
  const external = entries.some((e) => e.action === 'access_as_external');
  if (shared === network.shared && external === network.external) return;
  await ctx.records.updateNetwork({ ...network, shared, external, updatedAt: now(), revisionNumber: network.revisionNumber + 1 });
  ctx.changed([networkId]);
}

/**
 * The entries a network's flags stand for, after the flags were set on the network itself:
 * `shared` is the `*` shared entry; `router:external` set makes the `*` external entry and
 * cleared drops every external entry (the network is no longer external for anyone).
 */
export async function syncFlagEntries(ctx: NetworkContext, network: Network, before: { shared: boolean; external: boolean }): Promise<void> {
  const entry = (action: RbacAction): RbacRow => ({
    id: newUuid(),
    project_id: network.projectId,
    object_type: 'network',
    object_id: network.id,
    action,
    target_project: WILDCARD,
    created_at: now(),
  });
  if (network.shared && !before.shared) await ctx.rbac.ensure(entry('access_as_shared'));
  if (!network.shared && before.shared) await ctx.rbac.deleteWildcard('network', network.id, 'access_as_shared');
  if (network.external && !before.external) await ctx.rbac.ensure(entry('access_as_external'));
  if (!network.external && before.external) {
    for (const e of await ctx.rbac.list({ objectType: 'network', objectIds: [network.id] })) if (e.action === 'access_as_external') await ctx.rbac.delete(e.id);
  }
}
