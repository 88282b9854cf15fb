import type { FastifyInstance } from 'fastify';
import type { ComputeContext } from '../context.js';
import { flavorRoutes } from './flavors.js';

/** Every /compute/v2.1 resource; each file registers its own routes. */
export function registerComputeRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  flavorRoutes(app, ctx, baseUrl);
}
