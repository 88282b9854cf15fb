import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, notFound } from '../../../core/http/errors.js';
import { authorize, callerFrom, type ImageContext } from '../context.js';
import { checkTags } from '../attributes.js';
import { importMethods } from '../data.js';
import { createImage, deleteImage, glanceTime, loadVisible, parsePatch, patchImage } from '../images.js';
import { listImages } from '../listing.js';
import { renderImage } from '../render.js';
import { isOwner } from '../visibility.js';

const PATCH_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'];

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function imageRoutes(app: FastifyInstance, ctx: ImageContext): void {
  app.get('/v2/images', async (request) => {
    const page = await listImages(ctx, callerFrom(request), request.query);
    const body: Record<string, unknown> = { images: page.images.map(renderImage), first: '/v2/images', schema: '/v2/schemas/images' };
    if (page.nextMarker) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(request.query as Record<string, unknown>)) {
        if (key === 'marker') continue;
        for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string') params.append(key, v);
      }
      params.set('marker', page.nextMarker);
      body.next = `/v2/images?${params.toString()}`;
    }
    return body;
  });

  app.post('/v2/images', async (request, reply) => {
    const image = await createImage(ctx, callerFrom(request), request.body);
    reply.code(201).header('location', `/v2/images/${image.id}`);
    // Clients (openstacksdk's create_image with use_import) learn from this header that import works.
    reply.header('openstack-image-import-methods', importMethods(ctx).join(','));
    return renderImage(image);
  });

  app.get<{ Params: { id: string } }>('/v2/images/:id', async (request) => {
    const caller = callerFrom(request);
    const image = await loadVisible(ctx, caller, request.params.id);
    authorize(ctx, caller, 'get_image', image);
    return renderImage(image);
  });

  app.patch<{ Params: { id: string } }>('/v2/images/:id', async (request) => {
    if (!PATCH_TYPES.includes(mediaType(request))) {
      throw new ApiError(415, `Unsupported Content-Type: use ${PATCH_TYPES[0]}.`);
    }
    const image = await patchImage(ctx, callerFrom(request), request.params.id, parsePatch(request.body));
    return renderImage(image);
  });

  app.delete<{ Params: { id: string } }>('/v2/images/:id', async (request, reply) => {
    await deleteImage(ctx, callerFrom(request), request.params.id);
    reply.code(204).send();
  });

  for (const action of ['deactivate', 'reactivate'] as const) {
    app.post<{ Params: { id: string } }>(`/v2/images/:id/actions/${action}`, async (request, reply) => {
      const caller = callerFrom(request);
      const image = await loadVisible(ctx, caller, request.params.id);
      authorize(ctx, caller, action, image);
      const from = action === 'deactivate' ? ['active', 'deactivated'] : ['active', 'deactivated'];
      const to = action === 'deactivate' ? 'deactivated' : 'active';
      if (!(await ctx.records.transition(image.id, from as Array<'active' | 'deactivated'>, to))) {
        throw new ApiError(403, `Not allowed to ${action} an image in status '${image.status}'.`);
      }
      reply.code(204).send();
    });
  }

  app.put<{ Params: { id: string; tag: string } }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    const caller = callerFrom(request);
    const image = await loadVisible(ctx, caller, request.params.id);
    // Glance has no rules of its own for tags: a tag is a change of the image.
    authorize(ctx, caller, 'modify_image', image);
    if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to modify tags of this image.');
    const tags = checkTags([...image.tags, request.params.tag]);
    await ctx.records.update({ ...image, tags, updatedAt: glanceTime() });
    reply.code(204).send();
  });

  app.delete<{ Params: { id: string; tag: string } }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    const caller = callerFrom(request);
    const image = await loadVisible(ctx, caller, request.params.id);
    authorize(ctx, caller, 'modify_image', image);
    if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to modify tags of this image.');
    if (!image.tags.includes(request.params.tag)) throw notFound(`Tag ${request.params.tag} not found`);
    await ctx.records.update({ ...image, tags: image.tags.filter((t) => t !== request.params.tag), updatedAt: glanceTime() });
    reply.code(204).send();
  });
}
