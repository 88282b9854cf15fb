/**
 * Who is asking, in the shape oslo.context's `to_policy_values()` hands to oslo.policy, so
 * rules written for OpenStack (`project_id:%(project_id)s`, `system_scope:all`, ...) read
 * the same fields here.
 */
export interface Credentials {
  readonly user_id: string;
  readonly project_id?: string | null;
  readonly domain_id?: string | null;
  readonly user_domain_id?: string | null;
  readonly project_domain_id?: string | null;
  readonly system_scope?: 'all' | null;
  /** Compared case-insensitively by `role:` checks, as oslo does. */
  readonly roles: readonly string[];
  readonly is_admin?: boolean;
  readonly is_admin_project?: boolean;
  readonly service_user_id?: string | null;
  readonly service_roles?: readonly string[];
  /** Anything else a rule's left side may name (`token.project.domain.id`, ...); dots walk nested objects. */
  readonly [key: string]: unknown;
}

/**
 * The object being acted on. `%(name)s` in a rule is looked up here: first as a flat key
 * (`'target.user.id'`, as Keystone flattens it), then by walking nested objects.
 * Typed as `object` so a service can pass its row interfaces without an index signature.
 */
export type PolicyTarget = object;

/** One compiled rule: pure, synchronous and allocation-free on the common paths. */
export type CheckFn = (target: PolicyTarget, credentials: Credentials) => boolean;
