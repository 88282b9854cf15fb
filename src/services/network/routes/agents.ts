import type { FastifyInstance } from 'fastify';
import { AGENT } from '../attributes/resources.js';
import { deleteAgent, listAgents, showAgent, updateAgent } from '../agents.js';
import type { NetworkContext } from '../context.js';
import { methodNotAllowed, resourceRoutes } from './resource.js';

/** Neutron's agents extension: list, show, update (admin_state_up, description) and delete; agents create themselves. */
export function agentRoutes(app: FastifyInstance, ctx: NetworkContext, baseUrl: () => string): void {
  resourceRoutes(app, baseUrl, {
    attributes: AGENT,
    list: (caller) => listAgents(ctx, caller),
    show: (caller, id) => showAgent(ctx, caller, id),
    update: (caller, id, body) => updateAgent(ctx, caller, id, body),
    remove: (caller, id) => deleteAgent(ctx, caller, id),
  });
  app.post('/v2.0/agents', async () => {
    throw methodNotAllowed();
  });
}
