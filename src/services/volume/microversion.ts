import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/http/errors.js';

/**
 * Cinder's microversions: 3.0 to 3.70 (Zed), through `OpenStack-API-Version: volume X.Y`.
 * Steps that change shapes Kumo implements: 3.13 group_id, 3.21 provider_id, 3.27
 * attachments, 3.41 snapshot user_id, 3.42 extend of in-use volumes, 3.44 attachment
 * complete, 3.48 shared_targets, 3.63 volume_type_id, 3.65 consumes_quota.
 */
export const MIN = { major: 3, minor: 0 } as const;
export const MAX = { major: 3, minor: 70 } as const;

export class VolumeMicroversion {
  constructor(
    readonly major: number,
    readonly minor: number,
  ) {}
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
    volumeVersion: VolumeMicroversion;
  }
}

export function negotiateVolume(request: FastifyRequest): VolumeMicroversion {
  const header = request.headers['openstack-api-version'];
  const value = Array.isArray(header) ? header.join(',') : header;
  let wanted: string | undefined;
  if (value) {
    for (const part of value.split(',')) {
      const [service, version] = part.trim().split(/\s+/, 2);
      if (service?.toLowerCase() === 'volume' && version) wanted = version;
    }
  }
  if (wanted === undefined) return new VolumeMicroversion(MIN.major, MIN.minor);
  if (wanted.toLowerCase() === 'latest') return new VolumeMicroversion(MAX.major, MAX.minor);
  const match = /^(\d+)\.(\d+)$/.exec(wanted.trim());
  if (!match) throw new ApiError(400, `Invalid API version: ${wanted}. Version string must be of the form MajorNum.MinorNum.`);
  const version = new VolumeMicroversion(Number(match[1]), Number(match[2]));
  const below = version.major < MIN.major || (version.major === MIN.major && version.minor < MIN.minor);
  const above = version.major > MAX.major || (version.major === MAX.major && version.minor > MAX.minor);
  if (below || above) throw new ApiError(406, `Version ${version} is not supported by the API. Minimum is ${MIN.major}.${MIN.minor} and maximum is ${MAX.major}.${MAX.minor}.`);
  return version;
}

export function stampVolumeVersion(request: FastifyRequest, reply: FastifyReply): void {
  const version = request.volumeVersion ?? new VolumeMicroversion(MIN.major, MIN.minor);
  reply.header('OpenStack-API-Version', `volume ${version}`);
  reply.header('Vary', 'OpenStack-API-Version');
}

/** 404 for routes that appear at a later microversion, as Cinder answers. */
export function requireVersion(request: FastifyRequest, version: string): void {
  if (!request.volumeVersion.atLeast(version)) throw new ApiError(404, `The resource could not be found (it needs microversion ${version}).`);
}
