import { ApiError, badRequest } from '../../core/http/errors.js';
import type { IdentityContext } from './context.js';
import type { User } from './model.js';

/** Keystone [security_compliance] rules: account lockout and password history. */

export async function refuseIfLocked(ctx: IdentityContext, user: User): Promise<void> {
  const { lockoutFailureAttempts, lockoutDurationSeconds } = ctx.config.identity;
  if (lockoutFailureAttempts <= 0) return;
  const failed = await ctx.stores.users.failedAuth(user.id);
  if (failed.count < lockoutFailureAttempts || failed.at === null) return;
  if (Date.now() - failed.at < lockoutDurationSeconds * 1000) {
    throw new ApiError(401, `The account is locked for user: ${user.id}.`);
  }
}

export async function recordPasswordAttempt(ctx: IdentityContext, user: User, succeeded: boolean): Promise<void> {
  if (ctx.config.identity.lockoutFailureAttempts <= 0) return;
  if (succeeded) await ctx.stores.users.clearFailedAuth(user.id);
  else await ctx.stores.users.recordFailedAuth(user.id);
}

/** Refuses a new password equal to one of the user's last `uniqueLastPasswordCount` ones (the current one included). */
export async function refuseReusedPassword(ctx: IdentityContext, userId: string, password: string): Promise<void> {
  const unique = ctx.config.identity.uniqueLastPasswordCount;
  if (unique <= 1) return;
  for (const hash of await ctx.stores.users.passwordHistory(userId, unique)) {
    if (await ctx.hasher.verify(password, hash)) {
      throw badRequest(
        `The new password cannot be identical to a previous password. The total number which includes the new password that must be unique is ${unique}.`,
      );
    }
  }
}
