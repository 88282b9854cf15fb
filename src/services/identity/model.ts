/** Identity's entities as the service logic sees them (rows decoded, booleans real). */
export type Extra = Record<string, unknown>;

export interface Domain {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  extra: Extra;
}

export interface Project {
  id: string;
  name: string;
  domainId: string;
  parentId: string | null;
  description: string;
  enabled: boolean;
  tags: string[];
  extra: Extra;
}

export interface User {
  id: string;
  name: string;
  domainId: string;
  enabled: boolean;
  passwordHash: string | null;
  passwordExpiresAt: string | null;
  defaultProjectId: string | null;
  description: string;
  extra: Extra;
  options: Extra;
}

export interface Group {
  id: string;
  name: string;
  domainId: string;
  description: string;
  extra: Extra;
}

export interface Role {
  id: string;
  name: string;
  domainId: string | null;
  description: string;
  options: Extra;
  extra: Extra;
}

export interface Region {
  id: string;
  description: string;
  parentRegionId: string | null;
  extra: Extra;
}

export interface Service {
  id: string;
  type: string;
  name: string;
  description: string;
  enabled: boolean;
  extra: Extra;
}

export interface Endpoint {
  id: string;
  serviceId: string;
  interface: 'public' | 'internal' | 'admin';
  regionId: string | null;
  url: string;
  enabled: boolean;
  extra: Extra;
}

export interface ApplicationCredential {
  id: string;
  name: string;
  userId: string;
  projectId: string;
  secretHash: string;
  description: string;
  expiresAt: string | null;
  unrestricted: boolean;
  roleIds: string[];
  /** The user's access rules this credential's tokens are confined to; none is no confinement. */
  accessRuleIds: string[];
}

/** What an application credential's token may call: one service's method on paths matching a pattern. */
export interface AccessRule {
  id: string;
  userId: string;
  /** A service type from the catalog, e.g. `compute`. */
  service: string;
  /** A path below the service's endpoint prefix, with `*` (or `{name}`) for one segment and `**` for any. */
  path: string;
  method: string;
}

export interface Trust {
  id: string;
  trustorUserId: string;
  trusteeUserId: string;
  projectId: string | null;
  impersonation: boolean;
  expiresAt: string | null;
  remainingUses: number | null;
  roleIds: string[];
  allowRedelegation: boolean;
  redelegationCount: number | null;
  redelegatedTrustId: string | null;
}

export interface RevocationEvent {
  id: string;
  userId: string | null;
  projectId: string | null;
  domainId: string | null;
  auditId: string | null;
  issuedBefore: number;
  revokedAt: number;
}

export type ActorType = 'user' | 'group';
export type TargetType = 'project' | 'domain' | 'system';

export interface Assignment {
  actorType: ActorType;
  actorId: string;
  targetType: TargetType;
  targetId: string;
  roleId: string;
  inherited: boolean;
}
