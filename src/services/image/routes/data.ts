import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../../core/http/errors.js';
import { callerFrom, type ImageContext } from '../context.js';
import { downloadImageData, importImage, stageImageData, uploadImageData } from '../data.js';

/**
 * Glance refuses any other media type with 415 before it reads a byte, so this runs before the
 * body parsers: a JSON or text parser must not get to read (and reject) an image upload first.
 */
async function octetStreamOnly(request: FastifyRequest, _reply: FastifyReply, payload: Readable): Promise<Readable> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/octet-stream') {
    throw new ApiError(415, 'Unsupported Content-Type: image data is sent as application/octet-stream.');
  }
  return payload;
}

/** Upload bodies arrive as the raw request stream (see the octet-stream parser in plugin.ts). */
function bodyStream(request: FastifyRequest): Readable {
  return request.body as Readable;
}

export function dataRoutes(app: FastifyInstance, ctx: ImageContext): void {
  app.put<{ Params: { id: string } }>('/v2/images/:id/file', { preParsing: octetStreamOnly }, async (request, reply) => {
    await uploadImageData(ctx, callerFrom(request), request.params.id, bodyStream(request));
    reply.code(204).send();
  });

  app.put<{ Params: { id: string } }>('/v2/images/:id/stage', { preParsing: octetStreamOnly }, async (request, reply) => {
    await stageImageData(ctx, callerFrom(request), request.params.id, bodyStream(request));
    reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/v2/images/:id/import', async (request, reply) => {
    await importImage(ctx, callerFrom(request), request.params.id, request.body);
    reply.code(202).send();
  });

  app.get<{ Params: { id: string } }>('/v2/images/:id/file', async (request, reply) => {
    const range = request.headers.range;
    const download = await downloadImageData(ctx, callerFrom(request), request.params.id, range);
    if (!download.stream) {
      reply.code(204).send();
      return reply;
    }
    const { image, stream } = download;
    const size = image.size ?? 0;
    reply.header('content-type', 'application/octet-stream');
    if (image.checksum) reply.header('content-md5', image.checksum);
    if (download.range) {
      const { start, end } = download.range;
      reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', String(end - start + 1));
    } else {
      reply.header('content-length', String(size));
    }
    return reply.send(stream);
  });
}
