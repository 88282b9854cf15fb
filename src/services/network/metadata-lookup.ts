import ipaddr from 'ipaddr.js';
import type { MetadataLookupArgs, MetadataLookupResult } from '../../contracts/network-agent.js';
import type { NetworkContext } from './context.js';
import { isAddress } from './ipam.js';
import { DEVICE_OWNER_ROUTER_INTERFACE } from './model.js';

/** A bus request the server refuses; the caller gets it as a RemoteError with this name. */
export class MetadataLookupError extends Error {
  override readonly name = 'InvalidMetadataLookup';
}

const MAX_ID_LENGTH = 255;

/** Checks the relay's arguments; anything else is refused with a message that says what is wrong. */
export function parseMetadataLookup(args: unknown): MetadataLookupArgs {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new MetadataLookupError('metadata_lookup takes { ip, routerId } or { ip, networkId }');
  }
  const { routerId, networkId, ip } = args as Record<string, unknown>;
  const id = (value: unknown, what: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
      throw new MetadataLookupError(`metadata_lookup: ${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
    }
    return value;
  };
  const router = id(routerId, 'routerId');
  const network = id(networkId, 'networkId');
  if ((router === undefined) === (network === undefined)) {
    throw new MetadataLookupError('metadata_lookup needs exactly one of routerId and networkId');
  }
  if (typeof ip !== 'string' || !isAddress(ip)) {
    throw new MetadataLookupError(`metadata_lookup: ip must be an IPv4 or IPv6 address, got ${JSON.stringify(ip) ?? String(ip)}`);
  }
  // Addresses are stored in canonical form; `fe80::0001` must find `fe80::1`.
  const canonical = ipaddr.parse(ip).toString();
  return router !== undefined ? { routerId: router, ip: canonical } : { networkId: network as string, ip: canonical };
}

/**
 * The instance behind a guest address, as Neutron's metadata agent finds it: the networks are
 * the one given, or those the router has interfaces on; among their ports, the compute port
 * holding the address. None, or more than one (overlapping addresses), is no answer.
 */
export async function metadataLookup(ctx: NetworkContext, args: MetadataLookupArgs): Promise<MetadataLookupResult | null> {
  const networkIds =
    args.networkId !== undefined
      ? [args.networkId]
      : [...new Set((await ctx.records.listPorts({ deviceId: args.routerId, deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE })).map((p) => p.networkId))];
  if (networkIds.length === 0) return null;
  const ports = (await ctx.records.portsWithAddress(networkIds, args.ip)).filter((p) => p.deviceOwner.startsWith('compute:') && p.deviceId !== '');
  const [port, ...others] = ports;
  if (!port || others.length > 0) return null;
  return { instanceId: port.deviceId, projectId: port.projectId };
}
