import { boolean, envelope, nullableString, object, string, stringArray, type JsonSchema } from '../../core/http/route-schemas.js';

/**
 * Keystone's request bodies as the routes declare them to Fastify (keystone/resource/schema.py
 * and its siblings): types and lengths. Rules that need the stored state, or that Keystone
 * words its own way (blank names, tag characters, immutable ids), stay in the domain files.
 * Unknown members are allowed: Keystone keeps them as extra attributes.
 */

const ID = string({ max: 64 });
const NULLABLE_ID = nullableString({ max: 64 });
const DESCRIPTION = nullableString({ max: 65_535 });

// Projects (keystone/resource/schema.py: project_create, project_update, project_tags_update).
const PROJECT = {
  name: string({ min: 1, max: 64 }),
  domain_id: NULLABLE_ID,
  parent_id: NULLABLE_ID,
  description: DESCRIPTION,
  enabled: boolean(),
  is_domain: boolean(),
  tags: stringArray({ maxItems: 80 }),
};
export const projectCreate: JsonSchema = envelope('project', PROJECT, { required: ['name'] });
export const projectUpdate: JsonSchema = envelope('project', PROJECT);
export const projectTagsUpdate: JsonSchema = object({ tags: stringArray({ maxItems: 80 }) }, { required: ['tags'] });

export interface ProjectBody {
  name?: string;
  domain_id?: string | null;
  parent_id?: string | null;
  description?: string | null;
  enabled?: boolean;
  is_domain?: boolean;
  tags?: string[];
  [extra: string]: unknown;
}

// Domains (domain_create, domain_update).
const DOMAIN = {
  name: string({ min: 1, max: 64 }),
  description: DESCRIPTION,
  enabled: boolean(),
  explicit_domain_id: ID,
};
export const domainCreate: JsonSchema = envelope('domain', DOMAIN, { required: ['name'] });
export const domainUpdate: JsonSchema = envelope('domain', DOMAIN);

export interface DomainBody {
  name?: string;
  description?: string | null;
  enabled?: boolean;
  explicit_domain_id?: string;
  [extra: string]: unknown;
}

// Groups (keystone/identity/schema.py: group_create, group_update).
const GROUP = { name: string({ min: 1, max: 64 }), domain_id: ID, description: DESCRIPTION };
export const groupCreate: JsonSchema = envelope('group', GROUP, { required: ['name'] });
export const groupUpdate: JsonSchema = envelope('group', GROUP);

export interface GroupBody {
  name?: string;
  domain_id?: string;
  description?: string | null;
  [extra: string]: unknown;
}

// Roles (keystone/assignment/schema.py: role_create, role_update).
const ROLE = { name: string({ min: 1, max: 255 }), domain_id: NULLABLE_ID, description: nullableString({ max: 255 }) };
export const roleCreate: JsonSchema = envelope('role', ROLE, { required: ['name'] });
export const roleUpdate: JsonSchema = envelope('role', ROLE);

export interface RoleBody {
  name?: string;
  domain_id?: string | null;
  description?: string | null;
  [extra: string]: unknown;
}

// Users (keystone/identity/schema.py: user_create, user_update, password_change).
const MAX_PASSWORD = 4096;
const USER = {
  name: string({ min: 1, max: 255 }),
  domain_id: ID,
  enabled: boolean(),
  password: nullableString({ max: MAX_PASSWORD }),
  default_project_id: NULLABLE_ID,
  description: DESCRIPTION,
};
export const userCreate: JsonSchema = envelope('user', USER, { required: ['name'] });
export const userUpdate: JsonSchema = envelope('user', USER);
export const passwordChange: JsonSchema = envelope(
  'user',
  { original_password: string({ max: MAX_PASSWORD }), password: string({ max: MAX_PASSWORD }) },
  { required: ['original_password', 'password'] },
);

export interface UserBody {
  name?: string;
  domain_id?: string;
  enabled?: boolean;
  password?: string | null;
  default_project_id?: string | null;
  description?: string | null;
  [extra: string]: unknown;
}

// The catalog (keystone/catalog/schema.py: region_create, service_create, endpoint_create and their updates).
const REGION = { id: string({ max: 255 }), description: nullableString({ max: 255 }), parent_region_id: nullableString({ max: 255 }) };
export const regionCreate: JsonSchema = envelope('region', REGION);
export const regionUpdate: JsonSchema = envelope('region', REGION);

export interface RegionBody {
  id?: string;
  description?: string | null;
  parent_region_id?: string | null;
  [extra: string]: unknown;
}

const SERVICE = { type: string({ min: 1, max: 255 }), name: string({ max: 255 }), description: string({ max: 65_535 }), enabled: boolean() };
export const serviceCreate: JsonSchema = envelope('service', SERVICE, { required: ['type'] });
export const serviceUpdate: JsonSchema = envelope('service', SERVICE);

export interface ServiceBody {
  type?: string;
  name?: string;
  description?: string;
  enabled?: boolean;
  [extra: string]: unknown;
}

const ENDPOINT = {
  service_id: string({ min: 1, max: 64 }),
  interface: string({ min: 1 }),
  region_id: nullableString({ max: 255 }),
  region: nullableString({ max: 255 }),
  url: string({ min: 1, max: 2048 }),
  enabled: boolean(),
};
export const endpointCreate: JsonSchema = envelope('endpoint', ENDPOINT, { required: ['service_id', 'interface', 'url'] });
export const endpointUpdate: JsonSchema = envelope('endpoint', ENDPOINT);

export interface EndpointBody {
  service_id?: string;
  interface?: string;
  region_id?: string | null;
  region?: string | null;
  url?: string;
  enabled?: boolean;
  [extra: string]: unknown;
}

// Policy blobs (keystone/policy/schema.py: policy_create, policy_update).
const POLICY = { type: string({ min: 1, max: 255 }), blob: string({ min: 1 }) };
export const policyCreate: JsonSchema = envelope('policy', POLICY, { required: ['type', 'blob'] });
export const policyUpdate: JsonSchema = envelope('policy', POLICY);

export interface PolicyBody {
  type?: string;
  blob?: string;
  [extra: string]: unknown;
}

// Trusts (keystone/trust/schema.py: trust_create). Extra members are kept out of the trust, as Keystone ignores them.
const ROLE_REF = object({ id: ID, name: string({ max: 255 }) });
export const trustCreate: JsonSchema = envelope(
  'trust',
  {
    trustor_user_id: string({ min: 1, max: 64 }),
    trustee_user_id: string({ min: 1, max: 64 }),
    project_id: NULLABLE_ID,
    impersonation: boolean(),
    expires_at: nullableString({ max: 64 }),
    remaining_uses: { type: ['integer', 'null'], minimum: 1 },
    allow_redelegation: { type: ['boolean', 'null'] },
    redelegation_count: { type: ['integer', 'null'], minimum: 0 },
    roles: { type: 'array', items: ROLE_REF, maxItems: 100 },
  },
  { required: ['trustor_user_id', 'trustee_user_id', 'impersonation'] },
);
