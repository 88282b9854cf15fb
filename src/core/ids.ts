import { randomUUID } from 'node:crypto';

/** Keystone-style identifier: a UUID4 as 32 hex digits without dashes. */
export function newHexId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Nova/Neutron/Glance-style identifier: a dashed UUID4. */
export function newUuid(): string {
  return randomUUID();
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function isUuidLike(value: string): boolean {
  return UUID_RE.test(value);
}
