import type { FastifyRequest } from 'fastify';
import { callerOf, policyCredentials } from '../../core/auth/context.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { Credentials, Enforcer } from '../../core/policy/index.js';
import type { IdentityClient } from '../identity/client.js';
import type { Image } from './model.js';
import type { ImageRecords } from './store.js';
import type { ImageDataStore } from './stores/driver.js';

/** Everything the image service's logic shares. */
export interface ImageContext {
  records: ImageRecords;
  /** Where active images' data lives (the default store). */
  store: ImageDataStore;
  /** Where glance-direct imports stage their data before import. */
  staging: ImageDataStore;
  identity: IdentityClient;
  enforcer: Enforcer;
  log: Logger;
  /** An upload that sends nothing for this long is given up. */
  uploadIdleTimeoutMs: number;
}

/** The caller as image rules need it. */
export interface Caller {
  projectId: string | null;
  isAdmin: boolean;
  credentials: Credentials;
}

export function callerFrom(request: FastifyRequest): Caller {
  const auth = callerOf(request);
  return {
    projectId: auth.projectId ?? null,
    isAdmin: auth.roles.includes('admin'),
    credentials: policyCredentials(auth),
  };
}

/** Glance answers a refused action with 403 and this sentence. */
export function authorize(ctx: ImageContext, caller: Caller, action: string, image?: Image): void {
  const target = image ? { owner: image.owner, visibility: image.visibility, id: image.id } : {};
  if (!ctx.enforcer.enforce(action, target, caller.credentials)) {
    throw new ApiError(403, `You are not authorized to complete ${action} action.`);
  }
}
