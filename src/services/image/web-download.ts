import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { badRequest } from '../../core/http/errors.js';

/**
 * Which URLs the web-download import may fetch. The cloud fetches them from inside, so a
 * member who could name any URL could read the controller's loopback services, the metadata
 * API or the operator's private networks (Glance's import_filtering_opts guard the same):
 * nothing is allowed unless the operator lists it (KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS:
 * host names, addresses or CIDRs), and with no list the method is not offered at all.
 */
export interface WebDownloadPolicy {
  /** Lower-case host names, matched exactly. */
  names: string[];
  /** Addresses and networks the resolved address must be in. */
  networks: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

export function webDownloadPolicy(entries: readonly string[]): WebDownloadPolicy {
  const policy: WebDownloadPolicy = { names: [], networks: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry.includes('/')) {
      try {
        policy.networks.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS: '${raw}' is not a CIDR`);
      }
    } else if (!ipaddr.isValid(entry) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(entry)) {
      throw new Error(`KUMO_IMAGE_WEB_DOWNLOAD_ALLOWED_HOSTS: '${raw}' is not a host name, address or CIDR`);
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.parse(entry);
      policy.networks.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else {
      policy.names.push(entry);
    }
  }
  return policy;
}

export function webDownloadOffered(policy: WebDownloadPolicy): boolean {
  return policy.names.length > 0 || policy.networks.length > 0;
}

function inNetworks(address: string, policy: WebDownloadPolicy): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return policy.networks.some(([network, bits]) => network.kind() === parsed.kind() && parsed.match(network, bits));
}

/** A URL checked against the policy, with the one address the fetch will connect to. */
export interface CheckedUri {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * Refuses (400, as Glance words it) a URI that is not http(s), carries credentials, or whose
 * host is not allowed. The address is resolved here once and the fetch connects to exactly
 * that address, so a name cannot resolve to an allowed address now and another one later.
 */
export async function checkWebDownloadUri(uri: unknown, policy: WebDownloadPolicy): Promise<CheckedUri> {
  if (typeof uri !== 'string' || uri.length === 0) throw badRequest('The web-download import needs the "uri" of the image data.');
  const refused = () => badRequest(`URI for web-download does not pass filtering: ${uri.slice(0, 200)}`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refused();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) throw refused();
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  let address: string;
  let family: 4 | 6;
  if (isIP(host)) {
    address = host;
    family = isIP(host) as 4 | 6;
  } else {
    try {
      const resolved = await lookup(host);
      address = resolved.address;
      family = resolved.family as 4 | 6;
    } catch {
      throw refused();
    }
  }
  if (!policy.names.includes(host) && !inNetworks(address, policy)) throw refused();
  return { url, address, family };
}

/** Opens the checked URL at its checked address; only a 200 is image data (redirects are not followed). */
export function openWebDownload(target: CheckedUri, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (target.url.protocol === 'https:' ? httpsRequest : httpRequest)(
      target.url,
      {
        method: 'GET',
        // Connect to the address that was checked, whatever the name resolves to now.
        lookup: (_hostname, options, callback) => {
          if ((options as { all?: boolean }).all) callback(null, [{ address: target.address, family: target.family }]);
          else callback(null, target.address, target.family);
        },
        timeout: timeoutMs,
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`web-download of ${target.url.href} answered HTTP ${response.statusCode ?? '?'}`));
          return;
        }
        resolve(response);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`web-download of ${target.url.href} timed out`)));
    request.on('error', reject);
    request.end();
  });
}
