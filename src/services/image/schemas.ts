import type { Json } from '../../core/http/body.js';
import { CONTAINER_FORMATS, DISK_FORMATS } from './model.js';

const nullable = (type: string, extra: Json = {}): Json => ({ type: ['null', type], ...extra });

/** GET /v2/schemas/image: what clients such as glanceclient read to learn the image shape. */
export function imageSchema(): Json {
  return {
    name: 'image',
    additionalProperties: { type: 'string' },
    properties: {
      id: { type: 'string', description: 'An identifier for the image', pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$' },
      name: nullable('string', { description: 'Descriptive name for the image', maxLength: 255 }),
      status: {
        type: 'string',
        readOnly: true,
        description: 'Status of the image',
        enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'],
      },
      visibility: { type: 'string', description: 'Scope of image accessibility', enum: ['community', 'public', 'private', 'shared'] },
      protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
      os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
      checksum: nullable('string', { readOnly: true, description: 'md5 hash of image contents.', maxLength: 32 }),
      os_hash_algo: nullable('string', { readOnly: true, description: 'Algorithm to calculate the os_hash_value', maxLength: 64 }),
      os_hash_value: nullable('string', { readOnly: true, description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', maxLength: 128 }),
      owner: nullable('string', { description: 'Owner of the image', maxLength: 255 }),
      size: nullable('integer', { readOnly: true, description: 'Size of image file in bytes' }),
      virtual_size: nullable('integer', { readOnly: true, description: 'Virtual size of image in bytes' }),
      container_format: nullable('string', { description: 'Format of the container', enum: [null, ...CONTAINER_FORMATS] }),
      disk_format: nullable('string', { description: 'Format of the disk', enum: [null, ...DISK_FORMATS] }),
      created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
      updated_at: { type: 'string', readOnly: true, description: 'Date and time of the last image modification' },
      tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
      direct_url: { type: 'string', readOnly: true, description: 'URL to access the image file kept in external store' },
      min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
      min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
      self: { type: 'string', readOnly: true, description: 'An image self url' },
      file: { type: 'string', readOnly: true, description: 'An image file url' },
      stores: { type: 'string', readOnly: true, description: 'Store in which image data resides.' },
      schema: { type: 'string', readOnly: true, description: 'An image schema url' },
      locations: { type: 'array', items: { type: 'object' }, description: 'A set of URLs to access the image file kept in external store' },
    },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function imagesSchema(): Json {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: imageSchema() },
      schema: { type: 'string' },
      first: { type: 'string' },
      next: { type: 'string' },
    },
    links: [
      { rel: 'first', href: '{first}' },
      { rel: 'next', href: '{next}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

export function memberSchema(): Json {
  return {
    name: 'member',
    properties: {
      image_id: { type: 'string', description: 'An identifier for the image' },
      member_id: { type: 'string', description: 'An identifier for the image member (project id)' },
      status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
      created_at: { type: 'string', description: 'Date and time of image member creation' },
      updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
      schema: { type: 'string', readOnly: true },
    },
  };
}

export function membersSchema(): Json {
  return {
    name: 'members',
    properties: { members: { type: 'array', items: memberSchema() }, schema: { type: 'string' } },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}
