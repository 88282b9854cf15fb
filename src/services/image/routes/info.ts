import type { FastifyInstance } from 'fastify';
import { authorize, callerFrom, type ImageContext } from '../context.js';
import { importMethods } from '../data.js';
import { imageSchema, imagesSchema, memberSchema, membersSchema } from '../schemas.js';

export function infoRoutes(app: FastifyInstance, ctx: ImageContext, publicUrl: () => string): void {
  const versions = () => {
    const href = `${publicUrl()}/image/v2/`;
    return ['2.16', '2.15', '2.9', '2.7', '2.6', '2.5', '2.4', '2.3', '2.2', '2.1', '2.0'].map((v, i) => ({
      id: `v${v}`,
      status: i === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href }],
    }));
  };
  app.get('/', { config: { public: true } }, async (_request, reply) => {
    reply.code(300);
    return { versions: versions() };
  });
  app.get('/versions', { config: { public: true } }, async () => ({ versions: versions() }));
  for (const path of ['/v2', '/v2/']) {
    app.get(path, { config: { public: true } }, async (_request, reply) => {
      reply.code(300);
      return { versions: versions() };
    });
  }

  app.get('/v2/schemas/image', async () => imageSchema());
  app.get('/v2/schemas/images', async () => imagesSchema());
  app.get('/v2/schemas/member', async () => memberSchema());
  app.get('/v2/schemas/members', async () => membersSchema());

  app.get('/v2/info/import', async () => ({
    'import-methods': { description: 'Import methods available.', type: 'array', value: importMethods(ctx) },
  }));
  app.get('/v2/info/stores', async () => ({
    stores: [{ id: ctx.store.id, description: ctx.store.description, default: true }],
  }));
  app.get('/v2/info/stores/detail', async (request) => {
    authorize(ctx, callerFrom(request), 'stores_info_detail');
    return { stores: [{ id: ctx.store.id, description: ctx.store.description, default: true, type: 'file', properties: {} }] };
  });
}
