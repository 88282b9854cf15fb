import { ApiError, badRequest, conflict, notFound } from '../../core/http/errors.js';
import { isObject } from '../../core/http/body.js';
import { authorize, type Caller, type ImageContext } from './context.js';
import { glanceTime, loadVisible } from './images.js';
import type { Image, ImageMember, MemberStatus } from './model.js';
import { isOwner } from './visibility.js';

const MAX_MEMBERS = 128;

/** A shared image the caller sees, and the caller's project when it is one of the image's members. */
async function sharedImage(ctx: ImageContext, caller: Caller, id: string): Promise<Image & { callerMembership: string | null }> {
  const image = await loadVisible(ctx, caller, id);
  if (image.visibility !== 'shared') {
    throw new ApiError(403, `Only shared images have members (image ${image.id} is ${image.visibility}).`);
  }
  const membership = caller.projectId ? await ctx.records.getMember(image.id, caller.projectId) : undefined;
  return { ...image, callerMembership: membership ? membership.memberId : null };
}

export async function listMembers(ctx: ImageContext, caller: Caller, id: string): Promise<ImageMember[]> {
  const image = await sharedImage(ctx, caller, id);
  authorize(ctx, caller, 'get_members', image, image.callerMembership);
  const members = await ctx.records.listMembers(image.id);
  // A member project sees only its own membership; the owner sees them all.
  return isOwner(image, caller) ? members : members.filter((m) => m.memberId === caller.projectId);
}

export async function getMember(ctx: ImageContext, caller: Caller, id: string, memberId: string): Promise<ImageMember> {
  const image = await sharedImage(ctx, caller, id);
  authorize(ctx, caller, 'get_member', image, image.callerMembership);
  const member = await ctx.records.getMember(image.id, memberId);
  if (!member || (!isOwner(image, caller) && memberId !== caller.projectId)) {
    throw notFound(`${memberId} is not a member of image ${image.id}`);
  }
  return member;
}

export async function addMember(ctx: ImageContext, caller: Caller, id: string, body: unknown): Promise<ImageMember> {
  const image = await sharedImage(ctx, caller, id);
  authorize(ctx, caller, 'add_member', image, image.callerMembership);
  if (!isOwner(image, caller)) throw new ApiError(403, 'Only the image owner may add members.');
  if (!isObject(body) || typeof body.member !== 'string' || body.member.length === 0 || body.member.length > 255) {
    throw badRequest('The request body must be {"member": "<project id>"}.');
  }
  const memberId = body.member;
  if (await ctx.records.getMember(image.id, memberId)) {
    throw conflict(`Member ${memberId} already exists for image ${image.id}.`);
  }
  if ((await ctx.records.listMembers(image.id)).length >= MAX_MEMBERS) {
    throw new ApiError(413, `Maximum number of image members exceeded: at most ${MAX_MEMBERS}.`);
  }
  const now = glanceTime();
  const member: ImageMember = { imageId: image.id, memberId, status: 'pending', createdAt: now, updatedAt: now };
  try {
    await ctx.records.addMember(member);
  } catch (error) {
    if (ctx.records.database.isUniqueViolation(error)) throw conflict(`Member ${memberId} already exists for image ${image.id}.`);
    throw error;
  }
  return member;
}

export async function updateMember(ctx: ImageContext, caller: Caller, id: string, memberId: string, body: unknown): Promise<ImageMember> {
  const image = await sharedImage(ctx, caller, id);
  authorize(ctx, caller, 'modify_member', image, image.callerMembership);
  const status = isObject(body) ? body.status : undefined;
  if (status !== 'accepted' && status !== 'rejected' && status !== 'pending') {
    throw badRequest('The request body must be {"status": "accepted" | "rejected" | "pending"}.');
  }
  const member = await ctx.records.getMember(image.id, memberId);
  if (!member) throw notFound(`${memberId} is not a member of image ${image.id}`);
  // Only the member itself decides whether it accepts a shared image.
  if (caller.projectId !== memberId && !caller.isAdmin) {
    throw new ApiError(403, 'Only the member project may change its membership status.');
  }
  await ctx.records.setMemberStatus(image.id, memberId, status as MemberStatus);
  return { ...member, status: status as MemberStatus, updatedAt: glanceTime() };
}

export async function removeMember(ctx: ImageContext, caller: Caller, id: string, memberId: string): Promise<void> {
  const image = await sharedImage(ctx, caller, id);
  authorize(ctx, caller, 'delete_member', image, image.callerMembership);
  if (!isOwner(image, caller)) throw new ApiError(403, 'Only the image owner may remove members.');
  if (!(await ctx.records.getMember(image.id, memberId))) throw notFound(`${memberId} is not a member of image ${image.id}`);
  await ctx.records.removeMember(image.id, memberId);
}
