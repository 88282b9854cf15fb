import type { FastifyInstance } from 'fastify';
import type { ComputeContext } from '../context.js';
import { flavorRoutes } from './flavors.js';
import { keypairRoutes } from './keypairs.js';
import { quotaRoutes } from './quotas.js';
import { serverGroupRoutes } from './server-groups.js';
import { zoneAndLimitRoutes } from './zones-and-limits.js';

/** Every /compute/v2.1 resource; each file registers its own routes. */
export function registerComputeRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  flavorRoutes(app, ctx, baseUrl);
  keypairRoutes(app, ctx);
  quotaRoutes(app, ctx);
  serverGroupRoutes(app, ctx);
  zoneAndLimitRoutes(app, ctx);
}
