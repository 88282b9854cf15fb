import type { FastifyRequest } from 'fastify';
import { callerOf, policyCredentials } from '../../../core/auth/context.js';
import { ApiError } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';

/** Checks `action` against the caller's credentials; 403 in Keystone's words when refused. */
export function authorize(
  ctx: IdentityContext,
  request: FastifyRequest,
  action: string,
  target: Record<string, unknown> = {},
): void {
  const auth = callerOf(request);
  const credentials = {
    ...policyCredentials(auth),
    'token.project.domain.id': auth.projectDomainId,
  };
  if (!ctx.enforcer.enforce(action, target, credentials)) {
    throw new ApiError(403, `You are not authorized to perform the requested action: ${action}.`);
  }
}

export { duplicateError, notFoundError } from '../errors.js';

/** The absolute URL of this request, for `links.self` of collections. */
export function requestUrl(ctx: IdentityContext, request: FastifyRequest): string {
  return `${ctx.config.publicUrl}${request.url}`;
}
