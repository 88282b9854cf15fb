import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { callerOf, policyCredentials } from '../../core/auth/context.js';
import type { Bus } from '../../core/bus/bus.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { Credentials, Enforcer } from '../../core/policy/index.js';
import type { VolumeCaller } from '../../contracts/volume.js';
import type { ImageRecordsClient } from './images.js';
import type { VolumeTables } from './tables.js';

/** Everything the volume service's logic shares. */
export interface VolumeContext {
  config: KumoConfig;
  database: Database;
  db: Kysely<VolumeTables>;
  bus: Bus;
  enforcer: Enforcer;
  log: Logger;
  /** Glance, over its HTTP API with the caller's token (so its visibility rules apply). */
  images: ImageRecordsClient;
  /** How long a backend's last report stays fresh (Cinder's service_down_time). */
  serviceDownTimeSeconds: number;
  /** Called when an attached volume grew, so compute can tell the guest (Nova's volume-extended event). */
  onAttachedVolumeExtended?: (volumeId: string, instanceIds: string[], newSizeGb: number) => void;
}

/** The caller as Cinder's rules need it. */
export interface Caller {
  projectId: string;
  userId: string;
  isAdmin: boolean;
  credentials: Credentials;
  token: string;
}

export function callerFrom(request: FastifyRequest): Caller {
  const auth = callerOf(request);
  return {
    projectId: auth.projectId ?? '',
    userId: auth.userId,
    isAdmin: auth.roles.includes('admin'),
    credentials: policyCredentials(auth),
    token: auth.token,
  };
}

/** A caller handed over in-process (compute's VolumeClient), with the same rules applied. */
export function callerFromClient(caller: VolumeCaller): Caller {
  const roles = caller.roles.map((r) => r.toLowerCase());
  return {
    projectId: caller.projectId,
    userId: caller.userId,
    isAdmin: caller.isAdmin === true || roles.includes('admin'),
    credentials: {
      user_id: caller.userId,
      project_id: caller.projectId,
      roles,
      system_scope: null,
      is_admin: false,
      is_admin_project: true,
    },
    token: caller.token ?? '',
  };
}

/** Cinder answers a refused action with 403 and this sentence. */
export function authorize(ctx: VolumeContext, caller: Caller, action: string, target: { project_id: string | null } = { project_id: null }): void {
  const t = { ...target, project_id: target.project_id ?? caller.projectId };
  if (!ctx.enforcer.enforce(action, t, caller.credentials)) {
    throw new ApiError(403, `Policy doesn't allow ${action} to be performed.`);
  }
}

/** Cinder's error body names its kind by status (webob faults). */
export const CINDER_ERROR_KEYS: Readonly<Record<number, string>> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  406: 'notAcceptable',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

export const nowIso = () => new Date().toISOString();
export const NOT_DELETABLE = 'Invalid volume';
