import type { IdentityContext } from './context.js';

/**
 * What other services may ask Identity, as a typed interface: in the all-in-one it is an
 * in-process call; a split deployment can put the same interface over HTTP or the bus.
 */
export interface IdentityClient {
  /**
   * The project's limit on a resource of a service type (Keystone unified limits: the
   * project's own limit, else the registered default). Undefined or -1 means unlimited.
   */
  limit(projectId: string, serviceType: string, resourceName: string): Promise<number | undefined>;
}

export class InProcessIdentityClient implements IdentityClient {
  constructor(private readonly ctx: IdentityContext) {}

  async limit(projectId: string, serviceType: string, resourceName: string): Promise<number | undefined> {
    const { catalog, limits } = this.ctx.stores;
    const region = this.ctx.config.region;
    const services = await catalog.listServices({ type: serviceType });
    for (const service of services) {
      const own = (await limits.listLimits({ project_id: projectId, service_id: service.id, resource_name: resourceName })).find(
        (l) => l.region_id === null || l.region_id === region,
      );
      if (own) return own.resource_limit;
      const registered = (await limits.listRegistered({ service_id: service.id, resource_name: resourceName })).find(
        (l) => l.region_id === null || l.region_id === region,
      );
      if (registered) return registered.default_limit;
    }
    return undefined;
  }
}
