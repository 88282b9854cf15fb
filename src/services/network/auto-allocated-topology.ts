import { authorize, NeutronError, type Caller, type NetworkContext } from './context.js';
import { PUBLIC_NETWORK } from './default-networks.js';
import { createNetwork, deleteNetwork, visibleNetworks } from './networks.js';
import type { Network } from './model.js';
import { addRouterInterface, createRouter, deleteRouter, removeRouterInterface } from './routers.js';
import { deleteSubnet, createSubnet } from './subnets.js';

/**
 * Neutron's auto-allocated-topology (`get-me-a-network`): the first GET for a project makes
 * its network, a subnet from the default subnet pool and a router with its gateway on the
 * cloud's external network (`public`), and later ones answer the same network; DELETE takes
 * it all down. `?fields=dry-run` only checks that it could be made (`--check-resources`).
 * The topology is found again by its names, so an interrupted allocation is finished.
 */
const NETWORK_NAME = 'auto_allocated_network';
const SUBNET_NAME = 'auto_allocated_subnet_v4';
const ROUTER_NAME = 'auto_allocated_router';

const failure = (reason: string) => new NeutronError(409, 'AutoAllocationFailure', `Deployment error: ${reason}.`);

function target(ctx: NetworkContext, caller: Caller, projectId: string, action: string): void {
  authorize(ctx, caller, action, { project_id: projectId });
  // Only one's own project (an admin's: any), as Neutron's policy target.
  if (!caller.isAdmin && projectId !== caller.projectId) throw new NeutronError(403, 'PolicyNotAuthorized', `(rule:${action}) is disallowed by policy`);
}

/** Acts in the project with the caller's rights (an admin may allocate for another project). */
function inProject(caller: Caller, projectId: string): Caller {
  return projectId === caller.projectId ? caller : { ...caller, projectId, credentials: { ...caller.credentials, project_id: projectId } };
}

async function externalNetwork(ctx: NetworkContext, caller: Caller): Promise<Network> {
  const network = (await visibleNetworks(ctx, caller)).find((n) => n.external && n.name === PUBLIC_NETWORK);
  if (!network) throw failure('No default router:external network');
  if ((await ctx.records.listSubnets({ networkIds: [network.id] })).length === 0) throw failure('The external network has no subnet');
  return network;
}

async function defaultPool(ctx: NetworkContext, projectId: string) {
  const pool = (await ctx.pools.listPools({ defaultFor: 4 })).find((p) => p.shared === 1 || p.project_id === projectId);
  if (!pool) throw failure('No default subnetpools defined');
  return pool;
}

async function existing(ctx: NetworkContext, projectId: string) {
  const network = (await ctx.records.listNetworks({ visibleTo: projectId })).find((n) => n.projectId === projectId && n.name === NETWORK_NAME);
  const router = (await ctx.l3.listRouters({ projectId })).find((r) => r.name === ROUTER_NAME);
  return { network, router };
}

export async function getAutoAllocatedTopology(ctx: NetworkContext, caller: Caller, projectId: string, dryRun: boolean): Promise<Record<string, unknown>> {
  target(ctx, caller, projectId, 'get_auto_allocated_topology');
  const actor = inProject(caller, projectId);
  const found = await existing(ctx, projectId);
  if (dryRun) {
    if (!found.network) {
      await externalNetwork(ctx, actor);
      await defaultPool(ctx, projectId);
    }
    // Neutron's answer to a dry run (its _check_requirements): the id says it passed.
    return { id: 'dry-run=pass', project_id: projectId, tenant_id: projectId };
  }
  const external = await externalNetwork(ctx, actor);
  await defaultPool(ctx, projectId);
  const network = found.network ?? (await createNetwork(ctx, actor, { name: NETWORK_NAME }));
  const subnets = await ctx.records.listSubnets({ networkIds: [network.id] });
  const subnet = subnets.find((s) => s.name === SUBNET_NAME) ?? (await createSubnet(ctx, actor, { network_id: network.id, name: SUBNET_NAME, ip_version: 4, use_default_subnetpool: true }));
  const router = found.router ?? (await createRouter(ctx, actor, { name: ROUTER_NAME, external_gateway_info: { network_id: external.id } }));
  const attached = await ctx.records.listPorts({ deviceId: router.id, networkIds: [network.id] });
  if (!attached.some((p) => p.fixedIps.some((f) => f.subnetId === subnet.id))) await addRouterInterface(ctx, actor, router.id, { subnet_id: subnet.id });
  return { id: network.id, project_id: projectId, tenant_id: projectId };
}

export async function deleteAutoAllocatedTopology(ctx: NetworkContext, caller: Caller, projectId: string): Promise<void> {
  target(ctx, caller, projectId, 'delete_auto_allocated_topology');
  const actor = inProject(caller, projectId);
  const { network, router } = await existing(ctx, projectId);
  // Neutron deletes what there is: no topology is not an error (openstacksdk's tests tear down with a DELETE either way).
  if (router && network) {
    for (const subnet of await ctx.records.listSubnets({ networkIds: [network.id] })) {
      const attached = await ctx.records.listPorts({ deviceId: router.id, networkIds: [network.id] });
      if (attached.some((p) => p.fixedIps.some((f) => f.subnetId === subnet.id))) await removeRouterInterface(ctx, actor, router.id, { subnet_id: subnet.id });
    }
  }
  if (router) await deleteRouter(ctx, actor, router.id);
  if (network) {
    for (const subnet of await ctx.records.listSubnets({ networkIds: [network.id] })) await deleteSubnet(ctx, actor, subnet.id);
    await deleteNetwork(ctx, actor, network.id);
  }
}
