import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../context.js';

const UPDATED = '2022-09-07T00:00:00Z';

export function versionRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const v3 = () => ({
    id: 'v3.14',
    status: 'stable',
    updated: UPDATED,
    links: [{ rel: 'self', href: `${ctx.baseUrl}/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  });
  app.get('/', { config: { public: true } }, async (_request, reply) => {
    reply.code(300);
    return { versions: { values: [v3()] } };
  });
  for (const path of ['/v3', '/v3/']) app.get(path, { config: { public: true } }, async () => ({ version: v3() }));
}
