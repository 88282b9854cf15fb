import { badRequest } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import { extraAttributes } from './extras.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { PolicyBody } from './schemas.js';
import type { PolicyBlob } from './store/policies.js';

/** Members that are the policy's own; any other is kept as an extra attribute, as Keystone does. */
const KNOWN = ['type', 'blob'] as const;

/** /v3/policies: Keystone keeps these blobs for other services; nothing here enforces them. */

export type { PolicyBlob };

export async function loadPolicy(ctx: IdentityContext, id: string): Promise<PolicyBlob> {
  return (await ctx.stores.policies.get(id)) ?? Promise.reject(notFoundError('policy', id));
}

export async function createPolicy(ctx: IdentityContext, body: PolicyBody): Promise<PolicyBlob> {
  const policy: PolicyBlob = { id: newHexId(), type: body.type ?? '', blob: body.blob ?? '', extra: extraAttributes(body, KNOWN) };
  await ctx.stores.policies.create(policy);
  return policy;
}

export function listPolicies(ctx: IdentityContext, filters: { type?: string }): Promise<PolicyBlob[]> {
  return ctx.stores.policies.list(filters);
}

/** The id is fixed; type, blob and the extra attributes given change, the others stay. */
export async function updatePolicy(ctx: IdentityContext, id: string, body: PolicyBody): Promise<PolicyBlob> {
  const policy = await loadPolicy(ctx, id);
  if (body.id !== undefined && body.id !== policy.id) throw badRequest('The policy id cannot be changed.');
  const updated: PolicyBlob = {
    ...policy,
    type: body.type ?? policy.type,
    blob: body.blob ?? policy.blob,
    extra: { ...policy.extra, ...extraAttributes(body, KNOWN) },
  };
  await ctx.stores.policies.update(updated);
  return updated;
}

export async function deletePolicy(ctx: IdentityContext, id: string): Promise<void> {
  const policy = await loadPolicy(ctx, id);
  await ctx.stores.policies.delete(policy.id);
}
