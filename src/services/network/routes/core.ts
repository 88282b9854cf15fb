import type { FastifyInstance } from 'fastify';
import { NETWORK, PORT, SUBNET } from '../attributes/resources.js';
import { mapInTurns } from '../../../core/cooperative.js';
import type { NetworkContext } from '../context.js';
import { createNetwork, deleteNetwork, updateNetwork, visibleNetwork, visibleNetworks } from '../networks.js';
import { createPort, deletePort, updatePort, visiblePort } from '../ports.js';
import { renderNetwork, renderPort, renderSubnet } from '../render.js';
import { createSubnet, deleteSubnet, subnetsVisible, updateSubnet, visibleSubnet } from '../subnets.js';
import { resourceRoutes } from './resource.js';

/** Networks, subnets and ports. */
export function coreRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  const subnetIdsOf = async (networkIds: string[]) => {
    const map = new Map<string, string[]>();
    for (const s of await ctx.records.listSubnets({ networkIds })) map.set(s.networkId, [...(map.get(s.networkId) ?? []), s.id]);
    return map;
  };

  resourceRoutes(app, baseUrl, {
    attributes: NETWORK,
    list: async (caller) => {
      const networks = await visibleNetworks(ctx, caller);
      const subnets = await subnetIdsOf(networks.map((n) => n.id));
      return mapInTurns(networks, (n) => renderNetwork(n, subnets.get(n.id) ?? [], caller));
    },
    show: async (caller, id) => {
      const n = await visibleNetwork(ctx, caller, id);
      return renderNetwork(n, (await subnetIdsOf([n.id])).get(n.id) ?? [], caller);
    },
    create: async (caller, body) => renderNetwork(await createNetwork(ctx, caller, body), [], caller),
    update: async (caller, id, body) => {
      const n = await updateNetwork(ctx, caller, id, body);
      return renderNetwork(n, (await subnetIdsOf([n.id])).get(n.id) ?? [], caller);
    },
    remove: (caller, id) => deleteNetwork(ctx, caller, id),
  });

  resourceRoutes(app, baseUrl, {
    attributes: SUBNET,
    list: async (caller) => {
      const networks = await visibleNetworks(ctx, caller);
      const subnets = await ctx.records.listSubnets({ networkIds: networks.filter((n) => subnetsVisible(n, caller)).map((n) => n.id) });
      return mapInTurns(subnets, renderSubnet);
    },
    show: async (caller, id) => renderSubnet(await visibleSubnet(ctx, caller, id)),
    create: async (caller, body) => renderSubnet(await createSubnet(ctx, caller, body)),
    update: async (caller, id, body) => renderSubnet(await updateSubnet(ctx, caller, id, body)),
    remove: (caller, id) => deleteSubnet(ctx, caller, id),
  });

  resourceRoutes(app, baseUrl, {
    attributes: PORT,
    list: async (caller) => {
      if (caller.isAdmin) return mapInTurns(await ctx.records.listPorts(), (p) => renderPort(p, caller));
      // A project sees its own ports and every port on the networks it owns.
      const owned = (await ctx.records.listNetworks({ visibleTo: caller.projectId })).filter((n) => n.projectId === caller.projectId);
      const ports = new Map((await ctx.records.listPorts({ projectId: caller.projectId })).map((p) => [p.id, p]));
      for (const p of await ctx.records.listPorts({ networkIds: owned.map((n) => n.id) })) ports.set(p.id, p);
      return mapInTurns([...ports.values()], (p) => renderPort(p, caller));
    },
    show: async (caller, id) => renderPort(await visiblePort(ctx, caller, id), caller),
    create: async (caller, body) => renderPort(await createPort(ctx, caller, body), caller),
    update: async (caller, id, body) => renderPort(await updatePort(ctx, caller, id, body), caller),
    remove: (caller, id) => deletePort(ctx, caller, id),
  });

}
