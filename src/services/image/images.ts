import { ApiError, badRequest, conflict, notFound } from '../../core/http/errors.js';
import { isObject } from '../../core/http/body.js';
import { isUuidLike, newUuid } from '../../core/ids.js';
import { applyAttribute, READ_ONLY, WRITABLE } from './attributes.js';
import { authorize, imageTarget, type Caller, type ImageContext } from './context.js';
import type { Image } from './model.js';
import { canSee, isOwner } from './visibility.js';

export const CORE_ATTRIBUTES = new Set([...READ_ONLY, ...WRITABLE, 'id']);

/** Loads an image the caller may see, or answers 404 as Glance does for invisible ones. */
export async function loadVisible(ctx: ImageContext, caller: Caller, id: string): Promise<Image> {
  const image = isUuidLike(id) ? await ctx.records.get(id) : undefined;
  const membership = image && caller.projectId ? await ctx.records.getMember(image.id, caller.projectId) : undefined;
  if (!image || !canSee(image, caller, membership)) throw notFound(`No image found with ID ${id}`);
  return image;
}

export async function createImage(ctx: ImageContext, caller: Caller, body: unknown): Promise<Image> {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object describing the image.');
  const now = glanceTime();
  let id = newUuid();
  if (body.id !== undefined) {
    if (typeof body.id !== 'string' || !isUuidLike(body.id) || body.id.length !== 36) {
      throw badRequest("Invalid value for 'id': expected a UUID.");
    }
    id = body.id.toLowerCase();
  }
  const image: Image = {
    id,
    name: null,
    status: 'queued',
    visibility: 'shared',
    protected: false,
    osHidden: false,
    checksum: null,
    osHashAlgo: null,
    osHashValue: null,
    owner: caller.projectId,
    size: null,
    virtualSize: null,
    containerFormat: null,
    diskFormat: null,
    minRam: 0,
    minDisk: 0,
    store: null,
    properties: {},
    tags: [],
    createdAt: now,
    updatedAt: now,
  };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'id') continue;
    applyAttribute(image, key, value);
  }
  if (!ctx.enforcer.enforce('add_image', imageTarget(caller, image), caller.credentials)) {
    // Glance's words when the owner is the reason.
    if (image.owner !== caller.projectId) throw new ApiError(403, `You are not permitted to create images owned by '${image.owner}'.`);
    authorize(ctx, caller, 'add_image', image);
  }
  checkVisibilityChange(ctx, caller, image);
  if (image.owner) await checkCountQuota(ctx, image.owner);
  if (await ctx.records.get(image.id)) throw conflict(`An image with identifier ${image.id} already exists`);
  try {
    await ctx.records.create(image);
  } catch (error) {
    if (ctx.records.database.isUniqueViolation(error)) throw conflict(`An image with identifier ${image.id} already exists`);
    throw error;
  }
  return image;
}

export type PatchOperation = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

/** Parses a Glance JSON-patch body (openstack-images-v2.1-json-patch) into operations. */
export function parsePatch(body: unknown): PatchOperation[] {
  if (!Array.isArray(body)) throw badRequest('A JSON-patch body is a list of operations.');
  return body.map((entry: unknown, index) => {
    if (!isObject(entry)) throw badRequest(`Operation ${index} is not an object.`);
    let raw = entry;
    // The v2.0 patch form names the operation by its key: {"replace": "/name", "value": ...}.
    const legacy = (['add', 'replace', 'remove'] as const).filter((name) => typeof raw[name] === 'string');
    if (raw.op === undefined && legacy.length === 1) {
      const name = legacy[0] as 'add' | 'replace' | 'remove';
      raw = { op: name, path: raw[name], ...('value' in raw ? { value: raw.value } : {}) };
    }
    const op = raw.op;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw badRequest(`Operation ${index}: 'op' must be one of add, replace, remove.`);
    }
    const path = raw.path;
    if (typeof path !== 'string' || !/^\/[^/]/.test(path) || path.split('/').length !== 2) {
      throw badRequest(`Operation ${index}: 'path' must be a JSON pointer to one attribute, such as /name.`);
    }
    if (op !== 'remove' && !('value' in raw)) throw badRequest(`Operation ${index}: 'value' is required for ${op}.`);
    // JSON pointer escapes: ~1 is '/', ~0 is '~'.
    const attribute = path.slice(1).replaceAll('~1', '/').replaceAll('~0', '~');
    return { op, path: attribute, ...(op !== 'remove' ? { value: raw.value } : {}) };
  });
}

export async function patchImage(ctx: ImageContext, caller: Caller, id: string, operations: PatchOperation[]): Promise<Image> {
  const image = await loadVisible(ctx, caller, id);
  authorize(ctx, caller, 'modify_image', image);
  if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to modify this image.');
  const updated: Image = { ...image, properties: { ...image.properties }, tags: [...image.tags] };
  for (const { op, path, value } of operations) {
    const core = CORE_ATTRIBUTES.has(path);
    if (READ_ONLY.has(path) || path === 'id') throw new ApiError(403, `Attribute '${path}' is read-only.`);
    if ((path === 'disk_format' || path === 'container_format') && image.status !== 'queued') {
      throw new ApiError(403, `Attribute ${path} can be only replaced for a queued image.`);
    }
    if (op === 'remove') {
      if (core) throw new ApiError(403, `Attribute '${path}' is reserved and cannot be removed.`);
      if (!Object.hasOwn(updated.properties, path)) throw conflict(`Property ${path} does not exist.`);
      applyAttribute(updated, path, undefined);
      continue;
    }
    if (op === 'replace' && !core && !Object.hasOwn(updated.properties, path)) throw conflict(`Property ${path} does not exist.`);
    if (op === 'add' && path === 'tags' && !Array.isArray(value)) throw badRequest("Invalid value for 'tags'.");
    applyAttribute(updated, path, value);
  }
  if (updated.owner !== image.owner && !caller.isAdmin) throw new ApiError(403, 'Only an admin may change the owner of an image.');
  if (updated.visibility !== image.visibility) checkVisibilityChange(ctx, caller, updated);
  updated.updatedAt = glanceTime();
  await ctx.records.update(updated);
  return updated;
}

export async function deleteImage(ctx: ImageContext, caller: Caller, id: string): Promise<void> {
  const image = await loadVisible(ctx, caller, id);
  authorize(ctx, caller, 'delete_image', image);
  if (!isOwner(image, caller)) throw new ApiError(403, 'You are not permitted to delete this image.');
  if (image.protected) throw new ApiError(403, `Image ${image.id} is protected and cannot be deleted.`);
  await ctx.records.delete(image.id);
  await ctx.store.delete(image.id);
  await ctx.staging.delete(image.id);
}

function checkVisibilityChange(ctx: ImageContext, caller: Caller, image: Image): void {
  if (image.visibility === 'public') authorize(ctx, caller, 'publicize_image', image);
  if (image.visibility === 'community') authorize(ctx, caller, 'communitize_image', image);
}

async function checkCountQuota(ctx: ImageContext, owner: string): Promise<void> {
  const limit = await ctx.identity.limit(owner, 'image', 'image_count_total');
  if (limit === undefined || limit < 0) return;
  const { count } = await ctx.records.usage(owner);
  if (count + 1 > limit) {
    throw new ApiError(413, `Maximum number of images exceeded: the project may own ${limit} images (image_count_total).`);
  }
}

/** Glance's timestamps: second precision with a Z. */
export function glanceTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
