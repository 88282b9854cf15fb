import type { Json } from '../../core/http/body.js';
import type { Image, ImageMember } from './model.js';

export function renderImage(image: Image): Json {
  return {
    ...image.properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: image.osHidden,
    checksum: image.checksum,
    os_hash_algo: image.osHashAlgo,
    os_hash_value: image.osHashValue,
    owner: image.owner,
    size: image.size,
    virtual_size: image.virtualSize,
    container_format: image.containerFormat,
    disk_format: image.diskFormat,
    min_ram: image.minRam,
    min_disk: image.minDisk,
    tags: image.tags,
    created_at: image.createdAt,
    updated_at: image.updatedAt,
    ...(image.store ? { stores: image.store } : {}),
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}

export function renderMember(member: ImageMember): Json {
  return {
    image_id: member.imageId,
    member_id: member.memberId,
    status: member.status,
    created_at: member.createdAt,
    updated_at: member.updatedAt,
    schema: '/v2/schemas/member',
  };
}
