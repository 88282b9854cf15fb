/**
 * Identity's tables. Booleans are stored as 0/1 and timestamps as ISO-8601 text so one
 * schema serves SQLite and PostgreSQL alike; `extra` holds the free-form attributes
 * Keystone keeps on each entity, as JSON text.
 */
export interface DomainRow {
  id: string;
  name: string;
  description: string;
  enabled: number;
  extra: string;
  created_at: string;
}

export interface ProjectRow {
  id: string;
  name: string;
  domain_id: string;
  parent_id: string | null;
  description: string;
  enabled: number;
  extra: string;
  created_at: string;
}

export interface ProjectTagRow {
  project_id: string;
  name: string;
}

export interface UserRow {
  id: string;
  name: string;
  domain_id: string;
  enabled: number;
  password_hash: string | null;
  password_created_at: string | null;
  password_expires_at: string | null;
  default_project_id: string | null;
  description: string;
  extra: string;
  options: string;
  created_at: string;
  failed_auth_count: number;
  failed_auth_at: string | null;
}

export interface PasswordHistoryRow {
  user_id: string;
  password_hash: string;
  created_at: string;
}

export interface GroupRow {
  id: string;
  name: string;
  domain_id: string;
  description: string;
  extra: string;
}

export interface MembershipRow {
  user_id: string;
  group_id: string;
}

export interface RoleRow {
  id: string;
  name: string;
  /** '' for global roles: a NULL would defeat the unique (name, domain) index on SQLite. */
  domain_id: string;
  description: string;
  options: string;
  extra: string;
}

export interface ImpliedRoleRow {
  prior_role_id: string;
  implied_role_id: string;
}

export type AssignmentType = 'UserProject' | 'GroupProject' | 'UserDomain' | 'GroupDomain' | 'UserSystem' | 'GroupSystem';

export interface AssignmentRow {
  type: AssignmentType;
  actor_id: string;
  /** Project or domain id; 'system' for system assignments. */
  target_id: string;
  role_id: string;
  inherited: number;
}

export interface RegionRow {
  id: string;
  description: string;
  parent_region_id: string | null;
  extra: string;
}

export interface ServiceRow {
  id: string;
  type: string;
  name: string;
  description: string;
  enabled: number;
  extra: string;
}

export interface EndpointRow {
  id: string;
  service_id: string;
  interface: string;
  region_id: string | null;
  url: string;
  enabled: number;
  extra: string;
}

export interface ApplicationCredentialRow {
  id: string;
  name: string;
  user_id: string;
  project_id: string;
  secret_hash: string;
  description: string;
  expires_at: string | null;
  unrestricted: number;
  /** JSON array of role ids. */
  roles: string;
  /** JSON array of access rule ids, or null for none (identity-0006). */
  access_rules: string | null;
  created_at: string;
}

export interface AccessRuleRow {
  id: string;
  user_id: string;
  service: string;
  path: string;
  method: string;
  created_at: string;
}

export interface RevocationEventRow {
  id: string;
  user_id: string | null;
  project_id: string | null;
  domain_id: string | null;
  audit_id: string | null;
  /** Tokens issued at or before this instant are revoked when the other fields match. */
  issued_before: string;
  revoked_at: string;
}

export interface RegisteredLimitRow {
  id: string;
  service_id: string;
  region_id: string | null;
  resource_name: string;
  default_limit: number;
  description: string;
}

export interface LimitRow {
  id: string;
  project_id: string;
  service_id: string;
  region_id: string | null;
  resource_name: string;
  resource_limit: number;
  description: string;
}

/** A Keystone credential; `blob` is kept exactly as the client gave it. */
export interface CredentialRow {
  id: string;
  user_id: string;
  project_id: string | null;
  type: string;
  blob: string;
}

export interface PolicyRow {
  id: string;
  type: string;
  blob: string;
  /** JSON object: the attributes Keystone keeps beside type and blob (a description, say). */
  extra: string;
}

export interface DomainConfigRow {
  domain_id: string;
  /** JSON object: group name to an object of option values. */
  config: string;
}

/** An OS-TRUST trust: the trustor delegates `roles` on a project to the trustee. */
export interface TrustRow {
  id: string;
  trustor_user_id: string;
  trustee_user_id: string;
  project_id: string | null;
  impersonation: number;
  expires_at: string | null;
  /** Tokens it may still give; null is unlimited. */
  remaining_uses: number | null;
  /** JSON array of role ids. */
  roles: string;
  allow_redelegation: number;
  redelegation_count: number | null;
  redelegated_trust_id: string | null;
  created_at: string;
  /** Trusts are soft-deleted, as Keystone keeps them: a deleted one answers 404 and its tokens stop validating. */
  deleted_at: string | null;
}

/** One row per bootstrap step a database has had (`first-start`). */
export interface BootstrapRow {
  name: string;
  completed_at: string;
}

export interface IdentityTables {
  identity_domain: DomainRow;
  identity_project: ProjectRow;
  identity_project_tag: ProjectTagRow;
  identity_user: UserRow;
  identity_group: GroupRow;
  identity_membership: MembershipRow;
  identity_role: RoleRow;
  identity_implied_role: ImpliedRoleRow;
  identity_assignment: AssignmentRow;
  identity_region: RegionRow;
  identity_service: ServiceRow;
  identity_endpoint: EndpointRow;
  identity_application_credential: ApplicationCredentialRow;
  identity_revocation_event: RevocationEventRow;
  identity_registered_limit: RegisteredLimitRow;
  identity_limit: LimitRow;
  identity_password_history: PasswordHistoryRow;
  identity_credential: CredentialRow;
  identity_policy: PolicyRow;
  identity_domain_config: DomainConfigRow;
  identity_bootstrap: BootstrapRow;
  identity_trust: TrustRow;
  identity_access_rule: AccessRuleRow;
}
