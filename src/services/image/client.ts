import { Readable } from 'node:stream';
import { ApiError } from '../../core/http/errors.js';
import type { ComputeImage, ImageActor, ImageLookup } from '../compute/client.js';
import type { ImageContext, Caller as ImageCaller } from './context.js';
import { downloadImageData, uploadImageData } from './data.js';
import { createImage, deleteImage, loadVisible } from './images.js';
import { listImages } from './listing.js';
import type { Image } from './model.js';

/**
 * Image's public surface for other services: Glance in the same process, as compute's
 * ImageLookup (compute/client.ts declares it). Compute acts for the instance's project, as
 * Nova acts with the user's token; a snapshot is created and uploaded in that project's name.
 */
export class InProcessImages implements ImageLookup {
  constructor(private readonly ctx: ImageContext) {}

  private caller(projectId: string, actor?: ImageActor): ImageCaller {
    if (actor) return { projectId: actor.projectId, isAdmin: actor.isAdmin, credentials: actor.credentials };
    return {
      projectId,
      isAdmin: false,
      credentials: { user_id: 'nova', project_id: projectId, roles: ['member', 'reader'], is_admin: false },
    };
  }

  async get(projectId: string, imageId: string, actor?: ImageActor): Promise<ComputeImage | undefined> {
    try {
      return toComputeImage(await loadVisible(this.ctx, this.caller(projectId, actor), imageId));
    } catch {
      return undefined;
    }
  }

  async list(actor: ImageActor, query: { limit?: number; marker?: string; name?: string }): Promise<{ images: ComputeImage[]; nextMarker?: string }> {
    // Glance's own listing (visibility, membership, paging), with the user's rights, as Nova's proxy asks it.
    const glanceQuery: Record<string, string> = {};
    if (query.limit !== undefined) glanceQuery.limit = String(query.limit);
    if (query.marker !== undefined) glanceQuery.marker = query.marker;
    if (query.name !== undefined) glanceQuery.name = query.name;
    const page = await listImages(this.ctx, this.caller(actor.projectId, actor), glanceQuery);
    return { images: page.images.map(toComputeImage), ...(page.nextMarker ? { nextMarker: page.nextMarker } : {}) };
  }

  async createSnapshot(projectId: string, name: string, properties: Record<string, string>, like: ComputeImage | undefined): Promise<ComputeImage> {
    const body: Record<string, unknown> = {
      name,
      container_format: like?.containerFormat ?? 'bare',
      disk_format: like?.diskFormat ?? 'qcow2',
      min_disk: like?.minDisk ?? 0,
      min_ram: like?.minRam ?? 0,
      visibility: 'private',
      ...properties,
    };
    return toComputeImage(await createImage(this.ctx, this.caller(projectId), body));
  }

  async upload(projectId: string, imageId: string, data: AsyncIterable<Buffer> | Buffer): Promise<void> {
    const stream = Buffer.isBuffer(data) ? Readable.from([data]) : Readable.from(data);
    await uploadImageData(this.ctx, this.caller(projectId), imageId, stream);
  }

  async download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }> {
    // The same path as GET /v2/images/{id}/file: visibility, the download_image rule, deactivation.
    const { image, stream } = await downloadImageData(this.ctx, this.caller(projectId), imageId, undefined);
    if (image.status !== 'active' || !stream) {
      stream?.destroy();
      throw new ApiError(409, `Image ${image.id} is ${image.status}; only an active image with data can be downloaded.`);
    }
    return { data: stream, diskFormat: image.diskFormat, checksum: image.checksum };
  }

  async discard(projectId: string, imageId: string, actor?: ImageActor): Promise<void> {
    await deleteImage(this.ctx, this.caller(projectId, actor), imageId);
  }
}

function toComputeImage(image: Image): ComputeImage {
  return {
    id: image.id,
    name: image.name,
    status: image.status,
    size: image.size,
    minDisk: image.minDisk,
    minRam: image.minRam,
    diskFormat: image.diskFormat,
    containerFormat: image.containerFormat,
    properties: image.properties,
    createdAt: image.createdAt,
    updatedAt: image.updatedAt,
  };
}
