import type { FastifyInstance } from 'fastify';
import type { ComputeContext } from '../context.js';

/** Every /compute/v2.1 resource; each file registers its own routes. */
export function registerComputeRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  void app;
  void ctx;
  void baseUrl;
}
