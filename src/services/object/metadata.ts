import { badRequest } from './errors.js';
import { LIMITS } from './names.js';

export type Metadata = Record<string, string>;
export type Level = 'account' | 'container' | 'object';
type Headers = Record<string, string | string[] | undefined>;

/** Headers a container keeps besides its user metadata, and X-Remove-* can clear. */
const CONTAINER_SYSTEM = ['x-container-read', 'x-container-write', 'x-versions-location', 'x-history-location', 'x-container-sync-to', 'x-container-sync-key'];
/** Headers an object keeps besides its user metadata (a POST replaces them with the rest). */
export const OBJECT_KEPT = ['content-encoding', 'content-disposition', 'content-language', 'cache-control', 'expires', 'x-object-manifest', 'x-robots-tag'];

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

export function parseMetadata(text: string): Metadata {
  return JSON.parse(text) as Metadata;
}

/**
 * The metadata after a request's headers: `X-<Level>-Meta-*` set (an empty value removes),
 * `X-Remove-<Level>-Meta-*` removes; for containers the ACL and versioning headers too.
 * `replace` starts from nothing (an object POST or PUT), else from `existing`.
 */
export function applyMetadataHeaders(level: Level, headers: Headers, existing: Metadata, replace: boolean): Metadata {
  const result: Metadata = replace ? {} : { ...existing };
  if (replace && level === 'object') {
    // Sysmeta and what is not the user's to replace survives a POST.
    for (const [k, v] of Object.entries(existing)) if (k.startsWith('x-object-sysmeta-')) result[k] = v;
  }
  const userPrefix = `x-${level}-meta-`;
  const removePrefix = `x-remove-${level}-meta-`;
  for (const [name, raw] of Object.entries(headers)) {
    const value = one(raw);
    if (value === undefined) continue;
    if (name.startsWith(userPrefix)) {
      if (name.length === userPrefix.length) continue;
      if (value === '' && level !== 'object') delete result[name];
      else result[name] = value;
    } else if (name.startsWith(removePrefix)) {
      delete result[`${userPrefix}${name.slice(removePrefix.length)}`];
    } else if (level === 'container' && CONTAINER_SYSTEM.includes(name)) {
      if (value === '') delete result[name];
      else result[name] = value;
    } else if (level === 'container' && name.startsWith('x-remove-') && CONTAINER_SYSTEM.includes(`x-${name.slice('x-remove-'.length)}`)) {
      delete result[`x-${name.slice('x-remove-'.length)}`];
      if (name === 'x-remove-versions-location' || name === 'x-remove-history-location') {
        delete result['x-versions-location'];
        delete result['x-history-location'];
      }
    } else if (level === 'object' && OBJECT_KEPT.includes(name)) {
      result[name] = value;
    }
  }
  checkMetadata(level, result);
  return result;
}

/** Swift's constraints.check_metadata: name and value lengths, count and overall size of user metadata. */
export function checkMetadata(level: Level, metadata: Metadata): void {
  const prefix = `x-${level}-meta-`;
  let count = 0;
  let size = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!name.startsWith(prefix)) continue;
    const key = name.slice(prefix.length);
    count += 1;
    size += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (Buffer.byteLength(key) > LIMITS.maxMetaNameLength) throw badRequest(`Metadata name too long: ${name}`);
    if (Buffer.byteLength(value) > LIMITS.maxMetaValueLength) throw badRequest(`Metadata value longer than ${LIMITS.maxMetaValueLength}: ${name}`);
    if (count > LIMITS.maxMetaCount) throw badRequest(`Too many metadata items; max ${LIMITS.maxMetaCount}`);
    if (size > LIMITS.maxMetaOverallSize) throw badRequest(`Total metadata too large; max ${LIMITS.maxMetaOverallSize}`);
  }
}

/** Metadata as response headers (sysmeta stays inside). */
export function metadataHeaders(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (!k.includes('-sysmeta-')) out[k] = v;
  return out;
}
