import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/http/errors.js';

/**
 * Nova's microversions this API speaks. The maximum is the newest whose shape changes are
 * all implemented for the resources Kumo has: 2.37, where a boot must name its networks
 * ('auto' or 'none' allowed), which `openstack server create --nic none` needs. Among the
 * steps: 2.3 extended server attributes, 2.9 `locked`, 2.10 keypair user_id, 2.11
 * forced_down, 2.13 group owners, 2.15 soft-affinity groups, 2.16 host_status, 2.17 crash
 * dumps, 2.19 descriptions, 2.26 tags, 2.28 cpu_info as an object, 2.33 and 2.35 paging of
 * hypervisors and keypairs, 2.36 no Neutron quotas in Nova's bodies. Steps about features
 * Kumo lacks (migrations, volumes, shelve) change nothing: those routes do not exist.
 */
export const MIN_VERSION = { major: 2, minor: 1 } as const;
export const MAX_VERSION = { major: 2, minor: 37 } as const;
export const versionString = (v: { major: number; minor: number }) => `${v.major}.${v.minor}`;

export class Microversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}
  /** True when the request asked for at least `X.Y`. */
  atLeast(version: string): boolean {
    const [major, minor] = version.split('.').map(Number) as [number, number];
    return this.major > major || (this.major === major && this.minor >= minor);
  }
  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    computeVersion: Microversion;
  }
}

/** Reads `OpenStack-API-Version: compute X.Y` (or the legacy header); 400/406 as Nova answers. */
export function negotiate(request: FastifyRequest): Microversion {
  const modern = request.headers['openstack-api-version'];
  const legacy = request.headers['x-openstack-nova-api-version'];
  let wanted: string | undefined;
  const modernValue = Array.isArray(modern) ? modern.join(',') : modern;
  if (modernValue) {
    for (const part of modernValue.split(',')) {
      const [service, version] = part.trim().split(/\s+/, 2);
      if (service?.toLowerCase() === 'compute' && version) wanted = version;
    }
  }
  if (wanted === undefined) wanted = Array.isArray(legacy) ? legacy[0] : legacy;
  if (wanted === undefined) return new Microversion(MIN_VERSION.major, MIN_VERSION.minor);
  if (wanted.toLowerCase() === 'latest') return new Microversion(MAX_VERSION.major, MAX_VERSION.minor);
  const match = /^(\d+)\.(\d+)$/.exec(wanted.trim());
  if (!match) throw new ApiError(400, `API Version String ${wanted} is of invalid format. Must be of format MajorNum.MinorNum.`);
  const version = new Microversion(Number(match[1]), Number(match[2]));
  const below = version.major < MIN_VERSION.major || (version.major === MIN_VERSION.major && version.minor < MIN_VERSION.minor);
  const above = version.major > MAX_VERSION.major || (version.major === MAX_VERSION.major && version.minor > MAX_VERSION.minor);
  if (below || above) {
    throw new ApiError(
      406,
      `Version ${version} is not supported by the API. Minimum is ${versionString(MIN_VERSION)} and maximum is ${versionString(MAX_VERSION)}.`,
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
