import type { Caller } from './context.js';
import type { Image, ImageMember } from './model.js';

/** Whether the caller may see an image at all (Glance answers 404 otherwise). */
export function canSee(image: Image, caller: Caller, membership: ImageMember | undefined): boolean {
  if (caller.isAdmin) return true;
  if (image.owner !== null && image.owner === caller.projectId) return true;
  if (image.visibility === 'public' || image.visibility === 'community') return true;
  return image.visibility === 'shared' && membership !== undefined;
}

export function isOwner(image: Image, caller: Caller): boolean {
  return caller.isAdmin || (image.owner !== null && image.owner === caller.projectId);
}
