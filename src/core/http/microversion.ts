import type { FastifyRequest } from 'fastify';

export interface VersionBounds {
  major: number;
  minor: number;
}

/** A microversion a request asked for (Nova's, Cinder's, ...): `X.Y`. */
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

/**
 * What a request asks of `service` in `OpenStack-API-Version` (the last value naming it), else
 * in the service's legacy header (Nova's `X-OpenStack-Nova-API-Version`), else undefined.
 */
export function requestedMicroversion(request: FastifyRequest, service: string, legacyHeader?: string): string | undefined {
  const header = request.headers['openstack-api-version'];
  const value = Array.isArray(header) ? header.join(',') : header;
  let wanted: string | undefined;
  if (value) {
    for (const part of value.split(',')) {
      const [named, version] = part.trim().split(/\s+/, 2);
      if (named?.toLowerCase() === service && version) wanted = version;
    }
  }
  if (wanted !== undefined || legacyHeader === undefined) return wanted;
  const legacy = request.headers[legacyHeader];
  return Array.isArray(legacy) ? legacy[0] : legacy;
}

/**
 * The version to answer with: the minimum when none was asked for, the maximum for `latest`;
 * `malformed` (the service's 400) or `{ unsupported }` (its 406) otherwise, for the service to word.
 */
export function resolveMicroversion(wanted: string | undefined, min: VersionBounds, max: VersionBounds): Microversion | 'malformed' | { unsupported: Microversion } {
  if (wanted === undefined) return new Microversion(min.major, min.minor);
  if (wanted.toLowerCase() === 'latest') return new Microversion(max.major, max.minor);
  const match = /^(\d+)\.(\d+)$/.exec(wanted.trim());
  if (!match) return 'malformed';
  const version = new Microversion(Number(match[1]), Number(match[2]));
  const below = version.major < min.major || (version.major === min.major && version.minor < min.minor);
  const above = version.major > max.major || (version.major === max.major && version.minor > max.minor);
  return below || above ? { unsupported: version } : version;
}
