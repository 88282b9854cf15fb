import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { HostImageTransfer } from '../../contracts/compute-host.js';
import { ServiceHttpError, type ServiceSession } from '../../core/service-session.js';

/**
 * Image data over Glance's HTTP API, as nova-compute moves it: downloads for the host's own
 * _base cache and snapshot uploads, authenticated as the `nova` service user. Nothing is read
 * from the controller's disk. The conductor checked the project's right to the image when it
 * placed the build; the service user (admin in the service project, as in DevStack) fetches it.
 */
export class ImageApiTransfer implements HostImageTransfer {
  constructor(private readonly session: ServiceSession) {}

  private async imageUrl(imageId: string): Promise<string> {
    if (!/^[0-9a-f-]{36}$/i.test(imageId)) throw new Error(`not an image id: ${imageId}`);
    return `${await this.session.endpoint('image')}/v2/images/${imageId}`;
  }

  async download(_projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }> {
    const url = await this.imageUrl(imageId);
    const record = await this.session.request(url);
    if (record.status !== 200) throw new ServiceHttpError(record.status, `the Image API answered ${record.status} for image ${imageId}: ${await record.text()}`);
    const image = (await record.json()) as { status: string; disk_format: string | null; checksum: string | null };
    if (image.status !== 'active') throw new ServiceHttpError(409, `Image ${imageId} is ${image.status}; only an active image with data can be downloaded.`);
    const file = await this.session.request(`${url}/file`);
    if (file.status !== 200 || !file.body) throw new ServiceHttpError(file.status, `the Image API answered ${file.status} for the data of image ${imageId}: ${await file.text()}`);
    return { data: Readable.fromWeb(file.body as WebReadableStream<Uint8Array>), diskFormat: image.disk_format, checksum: image.checksum };
  }

  async upload(_projectId: string, imageId: string, data: AsyncIterable<Buffer> | Buffer): Promise<void> {
    const url = `${await this.imageUrl(imageId)}/file`;
    const body = Buffer.isBuffer(data) ? data : Readable.from(data);
    // A stream cannot be sent twice: no retry after a 401 for it.
    const response = await this.session.request(
      url,
      { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: body as unknown as RequestInit['body'], duplex: 'half' },
      Buffer.isBuffer(data),
    );
    if (response.status !== 204) throw new ServiceHttpError(response.status, `the Image API refused the data of snapshot ${imageId}: ${response.status} ${await response.text()}`);
  }

  async discard(_projectId: string, imageId: string): Promise<void> {
    const response = await this.session.request(await this.imageUrl(imageId), { method: 'DELETE' });
    if (response.status !== 204 && response.status !== 404) throw new ServiceHttpError(response.status, `the Image API would not delete ${imageId}: ${response.status}`);
  }
}
