import { badRequest, notFound, preconditionFailed, SwiftError } from './errors.js';

export const LIMITS = {
  maxFileSize: 5 * 1024 * 1024 * 1024 + 2,
  maxMetaNameLength: 128,
  maxMetaValueLength: 256,
  maxMetaCount: 90,
  maxMetaOverallSize: 4096,
  maxHeaderSize: 8192,
  maxObjectNameLength: 1024,
  maxContainerNameLength: 256,
  maxAccountNameLength: 256,
  containerListingLimit: 10000,
  accountListingLimit: 10000,
  maxManifestSegments: 1000,
  maxManifestSize: 8 * 1024 * 1024,
};

/** The parts of a Swift path: /v1/<account>[/<container>[/<object>]]. */
export interface SwiftPath {
  account: string;
  /** The project the account belongs to (AUTH_<project>). */
  project: string;
  container?: string;
  object?: string;
}

export const RESELLER_PREFIX = 'AUTH_';

function decode(part: string): string {
  let text: string;
  try {
    text = decodeURIComponent(part);
  } catch {
    throw preconditionFailed('Invalid UTF8 or contains NULL');
  }
  if (text.includes('\0')) throw preconditionFailed('Invalid UTF8 or contains NULL');
  return text;
}

/**
 * Splits the path after `/v1/` as Swift's proxy does: the object name is everything after the
 * container's slash (it may hold slashes of its own, and may be empty).
 */
export function parseSwiftPath(rest: string): SwiftPath {
  const first = rest.indexOf('/');
  const accountPart = first < 0 ? rest : rest.slice(0, first);
  const account = decode(accountPart);
  if (!account.startsWith(RESELLER_PREFIX) || account.length <= RESELLER_PREFIX.length || account.length > LIMITS.maxAccountNameLength) {
    throw notFound();
  }
  const path: SwiftPath = { account, project: account.slice(RESELLER_PREFIX.length) };
  if (first < 0) return path;
  const afterAccount = rest.slice(first + 1);
  const second = afterAccount.indexOf('/');
  const containerPart = second < 0 ? afterAccount : afterAccount.slice(0, second);
  if (containerPart === '') {
    if (second >= 0 && afterAccount.slice(second + 1) !== '') throw badRequest('Container name is required.');
    return path;
  }
  path.container = decode(containerPart);
  if (path.container.length > LIMITS.maxContainerNameLength) {
    throw badRequest(`Container name length of ${path.container.length} longer than ${LIMITS.maxContainerNameLength}`);
  }
  if (second < 0) return path;
  const objectPart = afterAccount.slice(second + 1);
  if (objectPart === '') return path;
  path.object = decode(objectPart);
  checkObjectName(path.object);
  return path;
}

export function checkObjectName(name: string): void {
  if (name.length === 0) throw badRequest('Object name is required.');
  if (Buffer.byteLength(name) > LIMITS.maxObjectNameLength) {
    throw badRequest(`Object name length of ${Buffer.byteLength(name)} longer than ${LIMITS.maxObjectNameLength}`);
  }
}

/** `container/object` as X-Copy-From, Destination and X-Object-Manifest name it (leading slash optional). */
export function splitContainerObject(value: string, what: string, objectRequired = true): { container: string; object: string } {
  let text = value;
  try {
    text = decodeURIComponent(value);
  } catch {
    throw preconditionFailed(`${what} header must be of the form <container name>/<object name>`);
  }
  if (text.startsWith('/')) text = text.slice(1);
  const slash = text.indexOf('/');
  const container = slash < 0 ? text : text.slice(0, slash);
  const object = slash < 0 ? '' : text.slice(slash + 1);
  if (!container || (objectRequired && !object) || text.includes('\0')) {
    throw preconditionFailed(`${what} header must be of the form <container name>/<object name>`);
  }
  if (container.length > LIMITS.maxContainerNameLength) throw badRequest(`Container name length of ${container.length} longer than ${LIMITS.maxContainerNameLength}`);
  if (object) checkObjectName(object);
  return { container, object };
}

/** A header's value as one string. */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function assertNever(_x: never): never {
  throw new SwiftError(500);
}
