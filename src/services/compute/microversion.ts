import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/http/errors.js';
import { Microversion, requestedMicroversion, resolveMicroversion } from '../../core/http/microversion.js';

/**
 * Nova's microversions this API speaks. The maximum is the newest whose shape changes are
 * all implemented for the resources Kumo has: 2.41. Among the steps: 2.3 extended server
 * attributes, 2.9 `locked`, 2.10 keypair user_id, 2.11 forced_down, 2.13 group owners, 2.15
 * soft-affinity groups, 2.16 host_status, 2.17 crash dumps, 2.19 descriptions, 2.26 tags, 2.28
 * cpu_info as an object, 2.33 and 2.35 paging of hypervisors and keypairs, 2.36 no Neutron
 * quotas in Nova's bodies (and no proxies), 2.37 a boot names its networks ('auto', 'none'),
 * 2.38 an unknown status filter is a 400, 2.39 no maxImageMeta in limits, 2.40 usage paged by
 * instance (limit, marker, links), 2.41 aggregate uuids. Steps about features Kumo lacks
 * (migrations, shelve, the image-metadata proxy) change nothing: those routes do not exist.
 */
export const MIN_VERSION = { major: 2, minor: 1 } as const;
export const MAX_VERSION = { major: 2, minor: 41 } as const;
export const versionString = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;

export { Microversion };

declare module 'fastify' {
  interface FastifyRequest {
    computeVersion: Microversion;
  }
}

/** Reads `OpenStack-API-Version: compute X.Y` (or the legacy header); 400/406 as Nova answers. */
export function negotiate(request: FastifyRequest): Microversion {
  const wanted = requestedMicroversion(request, 'compute', 'x-openstack-nova-api-version');
  const version = resolveMicroversion(wanted, MIN_VERSION, MAX_VERSION);
  if (version === 'malformed') throw new ApiError(400, `API Version String ${wanted} is of invalid format. Must be of format MajorNum.MinorNum.`);
  if ('unsupported' in version) {
    throw new ApiError(
      406,
      `Version ${version.unsupported} is not supported by the API. Minimum is ${versionString(MIN_VERSION)} and maximum is ${versionString(MAX_VERSION)}.`,
    );
  }
  return version;
}

/** Every versioned response says which version answered, as Nova does. */
export function stampVersion(request: FastifyRequest, reply: FastifyReply): void {
  const version = request.computeVersion ?? new Microversion(MIN_VERSION.major, MIN_VERSION.minor);
  reply.header('OpenStack-API-Version', `compute ${version}`);
  reply.header('X-OpenStack-Nova-API-Version', version.toString());
  reply.header('Vary', 'OpenStack-API-Version, X-OpenStack-Nova-API-Version');
}
