/**
 * Glance as the volume service needs it: an image's record (to check it exists, is visible
 * to the caller and is active) and where its data is, all over the Image API with the
 * caller's token, as Cinder's glance client does. Nothing is read from Glance's tables.
 */
export interface ImageRecord {
  id: string;
  status: string;
  disk_format: string | null;
  size: number | null;
  min_disk: number;
  virtual_size: number | null;
  /** Glance's user properties, copied into volume_image_metadata. */
  properties: Record<string, string>;
}

export interface ImageRecordsClient {
  /** The image as the caller sees it; null when it does not exist or is not visible. */
  get(token: string, imageId: string): Promise<ImageRecord | null>;
  /** Where its data is downloaded from. */
  dataUrl(imageId: string): string;
  /** Registers a new image record to upload a volume into (os-volume_upload_image). */
  create(token: string, body: Record<string, unknown>): Promise<{ id: string }>;
}

const CORE = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size',
  'virtual_size', 'container_format', 'disk_format', 'min_ram', 'min_disk', 'created_at', 'updated_at', 'tags', 'self', 'file',
  'schema', 'direct_url', 'locations', 'stores',
]);

export class HttpImageRecords implements ImageRecordsClient {
  constructor(private readonly baseUrl: () => string) {}

  dataUrl(imageId: string): string {
    return `${this.baseUrl()}/image/v2/images/${encodeURIComponent(imageId)}/file`;
  }

  async get(token: string, imageId: string): Promise<ImageRecord | null> {
    if (!/^[0-9a-fA-F-]{1,64}$/.test(imageId)) return null;
    const response = await fetch(`${this.baseUrl()}/image/v2/images/${imageId}`, { headers: { 'x-auth-token': token } });
    if (response.status === 404 || response.status === 403) return null;
    if (!response.ok) throw new Error(`the Image API answered ${response.status} for image ${imageId}`);
    const body = (await response.json()) as Record<string, unknown>;
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(body)) if (!CORE.has(key) && typeof value === 'string') properties[key] = value;
    return {
      id: String(body.id),
      status: String(body.status),
      disk_format: typeof body.disk_format === 'string' ? body.disk_format : null,
      size: typeof body.size === 'number' ? body.size : null,
      min_disk: typeof body.min_disk === 'number' ? body.min_disk : 0,
      virtual_size: typeof body.virtual_size === 'number' ? body.virtual_size : null,
      properties,
    };
  }

  async create(token: string, body: Record<string, unknown>): Promise<{ id: string }> {
    const response = await fetch(`${this.baseUrl()}/image/v2/images`, {
      method: 'POST',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`the Image API refused the new image (${response.status}): ${await response.text()}`);
    return (await response.json()) as { id: string };
  }
}
