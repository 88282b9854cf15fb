import type { FastifyRequest } from 'fastify';
import { callerOf, policyCredentials } from '../../core/auth/context.js';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { Credentials, Enforcer } from '../../core/policy/index.js';
import type { Kysely } from 'kysely';
import type { ComputeTables } from './tables.js';
import type { ConfigDriveSource, ImageLookup, NetworkPorts } from './peers.js';
import type { VolumeClient } from '../../contracts/volume.js';

/** Everything the compute service's logic shares. */
export interface ComputeContext {
  config: KumoConfig;
  database: Database;
  db: Kysely<ComputeTables>;
  bus: Bus;
  enforcer: Enforcer;
  log: Logger;
  /** Glance, as compute needs it: image records (and, for agents, their data). */
  images: ImageLookup;
  /** Neutron's ports, when the networking service runs in this cloud. */
  network?: NetworkPorts;
  /** Cinder, as Nova calls it (nova/volume/cinder.py), when block storage runs in this cloud. */
  volumes?: VolumeClient;
  /** The metadata service's content, for the agents' config drives (set once metadata is wired in). */
  configDrive?: ConfigDriveSource;
}

/** The caller as Nova's rules need it. */
export interface Caller {
  projectId: string;
  userId: string;
  isAdmin: boolean;
  credentials: Credentials;
  /** The request's id, recorded with instance actions (`x-openstack-request-id`). */
  requestId: string;
  /** The caller's token, which Nova passes on to Cinder (a volume made from an image reads it with it). */
  token?: string;
}

export function callerFrom(request: FastifyRequest): Caller {
  const auth = callerOf(request);
  return {
    projectId: auth.projectId ?? '',
    userId: auth.userId,
    isAdmin: auth.roles.includes('admin'),
    credentials: policyCredentials(auth),
    // The HTTP layer's ids already read `req-<uuid>`, the id x-openstack-request-id carries.
    requestId: request.id.startsWith('req-') ? request.id : `req-${request.id}`,
    ...(typeof request.headers['x-auth-token'] === 'string' ? { token: request.headers['x-auth-token'] } : {}),
  };
}

/**
 * Nova's error body names its kind by status (`itemNotFound`, `badRequest`,
 * `conflictingRequest`, ...); the plugin renders an ApiError into that shape.
 */
export const NOVA_ERROR_KEYS: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  406: 'notAcceptable',
  409: 'conflictingRequest',
  // Nova has no name of its own for 410 (the removed nova-network APIs): its default.
  410: 'computeFault',
  413: 'overLimit',
  415: 'badMediaType',
  500: 'computeFault',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export const badRequest = (message: string) => new ApiError(400, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string) => new ApiError(404, message);
export const conflict = (message: string) => new ApiError(409, message);

/** Nova refuses with 403 and `Policy doesn't allow <rule> to be performed.` */
export function authorize(ctx: ComputeContext, caller: Caller, action: string, target: Record<string, unknown> = {}): void {
  const full = { project_id: caller.projectId, user_id: caller.userId, ...target };
  if (!ctx.enforcer.enforce(action, full, caller.credentials)) {
    throw new ApiError(403, `Policy doesn't allow ${action} to be performed.`);
  }
}

export const nowIso = () => new Date().toISOString();
