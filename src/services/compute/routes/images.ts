import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerFrom, notFound, type ComputeContext } from '../context.js';
import { queryValue } from '../validate.js';
import { listImagesQuery } from '../schemas/images.js';
import { queryByVersion } from '../schemas/validation.js';
import { resourceLinks } from '../flavors.js';
import type { ComputeImage } from '../peers.js';

type IdParams = { id: string };

/** Glance's status as Nova's image proxy shows it, with its progress. */
const STATUS: Record<string, [string, number]> = {
  queued: ['SAVING', 25],
  saving: ['SAVING', 50],
  uploading: ['SAVING', 50],
  importing: ['SAVING', 50],
  active: ['ACTIVE', 100],
  killed: ['ERROR', 0],
  deleted: ['DELETED', 0],
  pending_delete: ['DELETED', 0],
};

const apiTime = (iso: string | undefined) => `${(iso ?? new Date(0).toISOString()).slice(0, 19)}Z`;

function renderImage(image: ComputeImage, baseUrl: string): Record<string, unknown> {
  const [status, progress] = STATUS[image.status] ?? ['UNKNOWN', 0];
  const links: Array<Record<string, string>> = resourceLinks(baseUrl, 'images', image.id);
  links.push({ rel: 'alternate', type: 'application/vnd.openstack.image', href: `${baseUrl.replace(/\/compute\/v2(\.1)?$/, '/image')}/images/${image.id}` });
  const body: Record<string, unknown> = {
    id: image.id,
    name: image.name,
    minRam: image.minRam,
    minDisk: image.minDisk,
    metadata: image.properties,
    created: apiTime(image.createdAt),
    updated: apiTime(image.updatedAt),
    status,
    progress,
    links,
    'OS-EXT-IMG-SIZE:size': image.size,
  };
  const server = image.properties.instance_uuid;
  if (server) body.server = { id: server, links: resourceLinks(baseUrl, 'servers', server) };
  return body;
}

/**
 * Nova's image proxy (deprecated in 2.36, so 404 from there on): list, show and delete Glance
 * images with the caller's rights, which tempest's compute image tests and old clients use before 2.36.
 */
export function imageRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  const proxied = (version: { atLeast(v: string): boolean }) => {
    if (version.atLeast('2.36')) throw notFound('The resource could not be found.');
  };
  const list = (detail: boolean) => async (request: FastifyRequest) => {
    proxied(request.computeVersion);
    const caller = callerFrom(request);
    const q = (key: string) => queryValue(request.query, key);
    const limitRaw = q('limit');
    let limit: number | undefined;
    // The route's query schema let through digits only.
    if (limitRaw !== undefined) limit = Number(limitRaw);
    const marker = q('marker');
    const name = q('name');
    const filter = name !== undefined ? { name } : {};
    let page = await ctx.images.list(caller, { ...(limit !== undefined ? { limit } : {}), ...(marker ? { marker } : {}), ...filter });
    // Without a limit Nova walks Glance's pages to the end (glanceclient's iterator), so the list is whole.
    if (limit === undefined) {
      const all = [...page.images];
      while (page.nextMarker) {
        page = await ctx.images.list(caller, { marker: page.nextMarker, ...filter });
        all.push(...page.images);
      }
      page = { images: all };
    }
    const base = baseUrl();
    const images = page.images.map((image) => {
      if (detail) return renderImage(image, base);
      const links = renderImage(image, base).links;
      return { id: image.id, name: image.name, links };
    });
    return {
      images,
      ...(page.nextMarker ? { images_links: [{ rel: 'next', href: `${base}/images${detail ? '/detail' : ''}?${limitRaw !== undefined ? `limit=${limitRaw}&` : ''}marker=${page.nextMarker}` }] } : {}),
    };
  };
  app.get('/images', queryByVersion({ '2.1': listImagesQuery, '2.36': null }), list(false));
  app.get('/images/detail', queryByVersion({ '2.1': listImagesQuery, '2.36': null }), list(true));
  app.get<{ Params: IdParams }>('/images/:id', async (request) => {
    proxied(request.computeVersion);
    const caller = callerFrom(request);
    const image = await ctx.images.get(caller.projectId, request.params.id, caller);
    if (!image || image.status === 'deleted' || image.status === 'pending_delete') throw notFound('Image not found.');
    return { image: renderImage(image, baseUrl()) };
  });
  app.delete<{ Params: IdParams }>('/images/:id', async (request, reply) => {
    proxied(request.computeVersion);
    const caller = callerFrom(request);
    const image = await ctx.images.get(caller.projectId, request.params.id, caller);
    if (!image) throw notFound('Image not found.');
    await ctx.images.discard(caller.projectId, image.id, caller);
    reply.code(204).send();
  });
}
