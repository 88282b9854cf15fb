import type { FastifyInstance } from 'fastify';
import { MAX_VERSION, MIN_VERSION, versionString } from '../microversion.js';

/** Version discovery at /compute and /compute/v2.1, as Nova publishes it. */
export function versionRoutes(app: FastifyInstance, baseUrl: () => string): void {
  const v21 = () => ({
    id: 'v2.1',
    status: 'CURRENT',
    version: versionString(MAX_VERSION),
    min_version: versionString(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z',
    links: [
      { rel: 'self', href: `${baseUrl()}/v2.1/` },
      { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
    ],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  });
  // Nova lists the legacy v2.0 API first (SUPPORTED, no microversions); tempest checks the order.
  const v20 = () => ({
    id: 'v2.0',
    status: 'SUPPORTED',
    version: '',
    min_version: '',
    updated: '2011-01-21T11:33:21Z',
    links: [{ rel: 'self', href: `${baseUrl()}/v2/` }],
  });
  app.get('/', { config: { public: true } }, async () => ({ versions: [v20(), v21()] }));
  app.get('/v2.1', { config: { public: true } }, async () => ({ version: v21() }));
  app.get('/v2.1/', { config: { public: true } }, async () => ({ version: v21() }));
}
