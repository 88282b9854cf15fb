import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/http/errors.js';
import { Microversion, requestedMicroversion, resolveMicroversion } from '../../core/http/microversion.js';

/**
 * Cinder's microversions: 3.0 to 3.70 (Zed), through `OpenStack-API-Version: volume X.Y`.
 * Steps that change shapes Kumo implements: 3.13 group_id, 3.21 provider_id, 3.27
 * attachments, 3.41 snapshot user_id, 3.42 extend of in-use volumes, 3.44 attachment
 * complete, 3.48 shared_targets, 3.63 volume_type_id, 3.65 consumes_quota.
 */
export const MIN = { major: 3, minor: 0 } as const;
export const MAX = { major: 3, minor: 70 } as const;

/** Cinder's requests carry the same `X.Y` as Nova's. */
export { Microversion as VolumeMicroversion };

declare module 'fastify' {
  interface FastifyRequest {
    volumeVersion: Microversion;
  }
}

export function negotiateVolume(request: FastifyRequest): Microversion {
  const wanted = requestedMicroversion(request, 'volume');
  const version = resolveMicroversion(wanted, MIN, MAX);
  if (version === 'malformed') throw new ApiError(400, `Invalid API version: ${wanted}. Version string must be of the form MajorNum.MinorNum.`);
  if ('unsupported' in version) {
    throw new ApiError(406, `Version ${version.unsupported} is not supported by the API. Minimum is ${MIN.major}.${MIN.minor} and maximum is ${MAX.major}.${MAX.minor}.`);
  }
  return version;
}

export function stampVolumeVersion(request: FastifyRequest, reply: FastifyReply): void {
  const version = request.volumeVersion ?? new Microversion(MIN.major, MIN.minor);
  reply.header('OpenStack-API-Version', `volume ${version}`);
  reply.header('Vary', 'OpenStack-API-Version');
}

/** 404 for routes that appear at a later microversion, as Cinder answers. */
export function requireVersion(request: FastifyRequest, version: string): void {
  if (!request.volumeVersion.atLeast(version)) throw new ApiError(404, `The resource could not be found (it needs microversion ${version}).`);
}
