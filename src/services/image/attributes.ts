import { ApiError, badRequest } from '../../core/http/errors.js';
import { CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES, type Image, type Visibility } from './model.js';

/** Attributes Glance computes itself: setting them is refused with 403. */
export const READ_ONLY = new Set([
  'status',
  'checksum',
  'os_hash_algo',
  'os_hash_value',
  'size',
  'virtual_size',
  'created_at',
  'updated_at',
  'self',
  'file',
  'schema',
  'direct_url',
  'locations',
  'stores',
]);

/** Core attributes a user may set. */
export const WRITABLE = new Set([
  'name',
  'visibility',
  'protected',
  'os_hidden',
  'container_format',
  'disk_format',
  'min_ram',
  'min_disk',
  'tags',
  'owner',
]);

export const MAX_TAGS = 128;
export const MAX_PROPERTIES = 128;
const MAX_PROPERTY_KEY = 255;
const MAX_PROPERTY_VALUE = 65_535;

export function readOnlyError(attribute: string): ApiError {
  return new ApiError(403, `Attribute '${attribute}' is read-only.`);
}

/**
 * Applies one attribute to an image, validating it as Glance's schema does. `undefined`
 * removes a custom property; core attributes cannot be removed.
 */
export function applyAttribute(image: Image, key: string, value: unknown): void {
  if (READ_ONLY.has(key)) throw readOnlyError(key);
  if (key === 'id') throw new ApiError(403, "Attribute 'id' is read-only.");
  if (key.startsWith('os_glance')) throw new ApiError(403, `Attribute '${key}' is reserved.`);
  switch (key) {
    case 'name':
      if (value !== null && typeof value !== 'string') throw invalid(key, value, 'a string or null');
      if (typeof value === 'string' && value.length > 255) throw badRequest(`Invalid value for 'name': longer than 255 characters.`);
      image.name = value;
      return;
    case 'visibility':
      if (typeof value !== 'string' || !VISIBILITIES.includes(value as Visibility)) {
        throw invalid(key, value, `one of ${VISIBILITIES.join(', ')}`);
      }
      image.visibility = value as Visibility;
      return;
    case 'protected':
    case 'os_hidden':
      if (typeof value !== 'boolean') throw invalid(key, value, 'a boolean');
      if (key === 'protected') image.protected = value;
      else image.osHidden = value;
      return;
    case 'container_format':
    case 'disk_format': {
      const allowed: readonly string[] = key === 'disk_format' ? DISK_FORMATS : CONTAINER_FORMATS;
      if (value !== null && (typeof value !== 'string' || !allowed.includes(value))) {
        throw invalid(key, value, `one of ${allowed.join(', ')}`);
      }
      if (key === 'disk_format') image.diskFormat = value;
      else image.containerFormat = value;
      return;
    }
    case 'min_ram':
    case 'min_disk':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 2 ** 31 - 1) {
        throw invalid(key, value, 'a non-negative integer');
      }
      if (key === 'min_ram') image.minRam = value;
      else image.minDisk = value;
      return;
    case 'tags':
      image.tags = checkTags(value);
      return;
    case 'owner':
      if (value !== null && (typeof value !== 'string' || value.length > 255)) throw invalid(key, value, 'a project id');
      image.owner = value;
      return;
    default:
      setProperty(image, key, value);
  }
}

export function checkTags(value: unknown): string[] {
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t.length === 0 || t.length > 255 || t.includes('\u0000'))) {
    throw badRequest("Invalid value for 'tags': a list of strings of 1 to 255 characters, without NUL.");
  }
  const tags = [...new Set(value as string[])];
  if (tags.length > MAX_TAGS) throw new ApiError(413, `Maximum tags per image exceeded: at most ${MAX_TAGS}.`);
  return tags;
}

function setProperty(image: Image, key: string, value: unknown): void {
  if (key.length === 0 || key.length > MAX_PROPERTY_KEY) {
    throw badRequest(`Invalid property name: 1 to ${MAX_PROPERTY_KEY} characters.`);
  }
  // The JSON body parser refuses this name too; as a plain object key it would silently vanish.
  if (key === '__proto__') throw badRequest('Invalid property name: __proto__.');
  if (value === undefined) {
    delete image.properties[key];
    return;
  }
  if (typeof value !== 'string') throw invalid(key, value, 'a string');
  if (value.length > MAX_PROPERTY_VALUE) {
    throw badRequest(`Invalid value for '${key}': longer than ${MAX_PROPERTY_VALUE} characters.`);
  }
  image.properties[key] = value;
  if (Object.keys(image.properties).length > MAX_PROPERTIES) {
    throw new ApiError(413, `Maximum number of properties exceeded: at most ${MAX_PROPERTIES}.`);
  }
}

function invalid(key: string, value: unknown, expected: string): ApiError {
  const shown = JSON.stringify(value)?.slice(0, 64) ?? String(value);
  return badRequest(`Invalid value ${shown} for '${key}': expected ${expected}.`);
}
