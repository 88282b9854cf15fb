import type { FastifyRequest } from 'fastify';
import { callerOf, policyCredentials } from '../../core/auth/context.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import type { Credentials, Enforcer } from '../../core/policy/index.js';
import type { IdentityClient } from '../identity/client.js';
import type { Image } from './model.js';
import type { MetadefRecords } from './metadefs/store.js';
import type { ImageRecords } from './store.js';
import type { ImageDataStore } from './stores/driver.js';
import type { WebDownloadPolicy } from './web-download.js';

/** Everything the image service's logic shares. */
export interface ImageContext {
  records: ImageRecords;
  /** Metadata definitions (namespaces, objects, properties, tags, resource types). */
  metadefs: MetadefRecords;
  /** Where Glance's default namespace files are read from at start, if anywhere. */
  metadefsDir?: string;
  /** Where active images' data lives (the default store). */
  store: ImageDataStore;
  /** Where glance-direct imports stage their data before import. */
  staging: ImageDataStore;
  identity: IdentityClient;
  enforcer: Enforcer;
  log: Logger;
  /** Which hosts the web-download import may fetch from (none: the method is not offered). */
  webDownload: WebDownloadPolicy;
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

/**
 * What Glance's rules read about an image (its ImageTarget): `project_id` is the owner, and
 * `member_id` the caller's project when that project is a member of the image. Without an
 * image (listing, or an image still to be made) the target is the caller's own project.
 */
export function imageTarget(caller: Caller, image?: Pick<Image, 'id' | 'owner' | 'visibility'>, memberId?: string | null): Record<string, unknown> {
  if (!image) return { project_id: caller.projectId, owner: caller.projectId };
  return { id: image.id, project_id: image.owner, owner: image.owner, visibility: image.visibility, member_id: memberId ?? null };
}

/** Glance answers a refused action with 403 and this sentence. */
export function authorize(ctx: ImageContext, caller: Caller, action: string, image?: Pick<Image, 'id' | 'owner' | 'visibility'>, memberId?: string | null): void {
  if (!ctx.enforcer.enforce(action, imageTarget(caller, image, memberId), caller.credentials)) {
    throw new ApiError(403, `You are not authorized to complete ${action} action.`);
  }
}
