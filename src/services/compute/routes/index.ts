import type { FastifyInstance } from 'fastify';
import { aggregateRoutes } from './aggregates.js';
import { extensionRoutes } from './extensions.js';
import type { ComputeContext } from '../context.js';
import { ServerServices } from '../servers/services.js';
import { flavorRoutes } from './flavors.js';
import { hostRoutes } from './hosts.js';
import { imageRoutes } from './images.js';
import { interfaceRoutes } from './interfaces.js';
import { tagRoutes } from './tags.js';
import { usageRoutes } from './usage.js';
import { volumeAttachmentRoutes } from './volume-attachments.js';
import { keypairRoutes } from './keypairs.js';
import { quotaRoutes } from './quotas.js';
import { networkProxyRoutes } from './network-proxies.js';
import { securityGroupRoutes } from './security-groups.js';
import { serverGroupRoutes } from './server-groups.js';
import { serverRoutes } from './servers.js';
import { zoneAndLimitRoutes } from './zones-and-limits.js';

/** Every /compute/v2.1 resource; each file registers its own routes. */
export function registerComputeRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  const services = new ServerServices(ctx);
  flavorRoutes(app, ctx, baseUrl);
  keypairRoutes(app, ctx);
  quotaRoutes(app, ctx);
  serverGroupRoutes(app, ctx);
  zoneAndLimitRoutes(app, ctx);
  serverRoutes(app, ctx, services, baseUrl);
  hostRoutes(app, ctx, services.hosts);
  interfaceRoutes(app, ctx, services);
  volumeAttachmentRoutes(app, ctx, services);
  tagRoutes(app, ctx, services);
  imageRoutes(app, ctx, baseUrl);
  securityGroupRoutes(app, ctx);
  networkProxyRoutes(app, ctx);
  usageRoutes(app, ctx);
  aggregateRoutes(app, ctx, services.hosts);
  extensionRoutes(app, ctx);
}
