/**
 * Raised by `Enforcer.authorize`. The HTTP layer maps it to 403 by its `name` (see
 * core/http/errors.ts), so the policy engine stays free of HTTP; the message is the one
 * Nova, Neutron and Keystone clients already show users.
 */
export class PolicyNotAuthorized extends Error {
  override readonly name = 'PolicyNotAuthorized';

  constructor(readonly action: string) {
    super(`Policy doesn't allow ${action} to be performed.`);
  }
}

export interface PolicyProblem {
  readonly rule: string;
  readonly message: string;
}

/**
 * A service registered defaults that cannot mean what their author intended (a syntax
 * error, a cycle, or a name another service already registered differently). These are
 * programming errors, so they stop startup instead of quietly denying.
 */
export class PolicyDefinitionError extends Error {
  override readonly name = 'PolicyDefinitionError';

  constructor(readonly problems: readonly PolicyProblem[]) {
    super(`Invalid default policy rules:\n${problems.map((p) => `  ${JSON.stringify(p.rule)}: ${p.message}`).join('\n')}`);
  }
}

/** A policy file that cannot be read or is not a YAML/JSON mapping of rule names to rules. */
export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError';

  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`Policy file ${path}: ${reason}`);
  }
}
