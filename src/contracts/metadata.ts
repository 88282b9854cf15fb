/**
 * The contract between the metadata relay (network agent, Neutron's metadata agent) and the
 * metadata service (Nova's): the headers the relay adds and how it signs them. Both sides
 * import this; neither imports the other.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names as Node lower-cases them. */
export const METADATA_HEADERS = {
  /** The guest's address; haproxy appends it, so the last entry is the one to trust. */
  forwardedFor: 'x-forwarded-for',
  /** Set by the namespace's haproxy: which router or network the request came in on. */
  routerId: 'x-neutron-router-id',
  networkId: 'x-neutron-network-id',
  /** Set by the relay once it has resolved the guest to an instance. */
  instanceId: 'x-instance-id',
  tenantId: 'x-tenant-id',
  signature: 'x-instance-id-signature',
} as const;

/** Hex HMAC-SHA256 of the instance id keyed by the shared secret, as Nova and Neutron compute it. */
export function signInstanceId(sharedSecret: string, instanceId: string): string {
  return createHmac('sha256', sharedSecret).update(instanceId, 'utf8').digest('hex');
}

/** Constant-time check of a signature, so the comparison leaks nothing about the expected value. */
export function signatureMatches(sharedSecret: string, instanceId: string, signature: string): boolean {
  const expected = Buffer.from(signInstanceId(sharedSecret, instanceId), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
