import { boolean, envelope, integer, nullableString, object, string, stringArray, type JsonSchema } from '../../core/http/route-schemas.js';

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

// Application credentials (keystone/application_credential/schema.py: application_credential_create).
// A role is named by exactly one of id or name; an access rule by its id, or described by
// service, path and method (Keystone closes both item shapes).
const APPLICATION_CREDENTIAL_ROLE = {
  ...object({ id: ID, name: string({ max: 255 }) }, { closed: true }),
  minProperties: 1,
  maxProperties: 1,
};
export const ACCESS_RULE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const ACCESS_RULE = object(
  {
    id: ID,
    service: string({ min: 1, max: 64 }),
    path: string({ min: 1, max: 255, pattern: '^/' }),
    method: { type: 'string', enum: [...ACCESS_RULE_METHODS] },
  },
  { closed: true },
);
export const applicationCredentialCreate: JsonSchema = envelope(
  'application_credential',
  {
    name: string({ min: 1, max: 255 }),
    description: DESCRIPTION,
    secret: nullableString({ min: 1, max: MAX_PASSWORD }),
    expires_at: nullableString({ max: 64 }),
    roles: { type: 'array', items: APPLICATION_CREDENTIAL_ROLE },
    unrestricted: boolean(),
    access_rules: { type: ['array', 'null'], items: ACCESS_RULE, maxItems: 100 },
  },
  { required: ['name'] },
);

export interface AccessRuleRef {
  id?: string;
  service?: string;
  path?: string;
  method?: (typeof ACCESS_RULE_METHODS)[number];
}

export interface ApplicationCredentialBody {
  name: string;
  description?: string | null;
  secret?: string | null;
  expires_at?: string | null;
  roles?: Array<{ id?: string; name?: string }>;
  unrestricted?: boolean;
  access_rules?: AccessRuleRef[] | null;
  [extra: string]: unknown;
}

// Credentials (keystone/credential/schema.py: create_request_body, update_request_body) and OS-EC2.
const CREDENTIAL = {
  id: string({ max: 64 }),
  user_id: string({ min: 1, max: 64 }),
  project_id: NULLABLE_ID,
  type: string({ min: 1, max: 255 }),
  blob: string({ min: 1 }),
};
export const credentialCreate: JsonSchema = envelope('credential', CREDENTIAL, { required: ['user_id', 'type', 'blob'] });
export const credentialUpdate: JsonSchema = object({ credential: { ...object(CREDENTIAL), minProperties: 1 } }, { required: ['credential'] });
export const ec2CredentialCreate: JsonSchema = object({ tenant_id: string({ min: 1, max: 64 }) }, { required: ['tenant_id'] });

export interface CredentialBody {
  id?: string;
  user_id?: string;
  project_id?: string | null;
  type?: string;
  blob?: string;
  [extra: string]: unknown;
}

// Domain configuration: `{"config": {group: {option: value}}}`, or for one option `{"config": {option: value}}`.
// Which groups and options a domain may set is Keystone's InvalidDomainConfig (403), in domain-configs.ts.
const CONFIG_GROUPS = { type: 'object', additionalProperties: { type: 'object' } };
export const domainConfigUpdate: JsonSchema = object({ config: CONFIG_GROUPS }, { required: ['config'] });
export const domainConfigOptionUpdate: JsonSchema = object({ config: {} }, { required: ['config'] });

export interface DomainConfigBody {
  config: Record<string, Record<string, unknown>>;
}
export interface DomainConfigOptionBody {
  config: unknown;
}

// Unified limits (keystone/limit/schema.py): closed objects, as Keystone has them. Kumo's limits are per project.
const LIMIT_VALUE = integer({ minimum: -1, maximum: 2_147_483_647 });
const LIMIT_DESCRIPTION = nullableString({ max: 255 });
const REGISTERED_LIMIT = {
  service_id: string({ min: 1, max: 64 }),
  region_id: nullableString({ max: 255 }),
  resource_name: string({ min: 1, max: 255 }),
  default_limit: LIMIT_VALUE,
  description: LIMIT_DESCRIPTION,
};
export const registeredLimitsCreate: JsonSchema = object(
  {
    registered_limits: {
      type: 'array',
      minItems: 1,
      items: object(REGISTERED_LIMIT, { required: ['service_id', 'resource_name', 'default_limit'], closed: true }),
    },
  },
  { required: ['registered_limits'], closed: true },
);
export const registeredLimitUpdate: JsonSchema = object({ registered_limit: object(REGISTERED_LIMIT, { closed: true }) }, { required: ['registered_limit'], closed: true });

const PROJECT_LIMIT = {
  project_id: string({ min: 1, max: 64 }),
  // Domain limits are not kept; a client echoing Keystone's `"domain_id": null` is fine.
  domain_id: { type: 'null' },
  service_id: string({ min: 1, max: 64 }),
  region_id: nullableString({ max: 255 }),
  resource_name: string({ min: 1, max: 255 }),
  resource_limit: LIMIT_VALUE,
  description: LIMIT_DESCRIPTION,
};
export const limitsCreate: JsonSchema = object(
  {
    limits: {
      type: 'array',
      minItems: 1,
      items: object(PROJECT_LIMIT, { required: ['project_id', 'service_id', 'resource_name', 'resource_limit'], closed: true }),
    },
  },
  { required: ['limits'], closed: true },
);
export const limitUpdate: JsonSchema = object(
  { limit: object({ resource_limit: LIMIT_VALUE, description: LIMIT_DESCRIPTION }, { closed: true }) },
  { required: ['limit'], closed: true },
);

export interface RegisteredLimitBody {
  service_id: string;
  region_id?: string | null;
  resource_name: string;
  default_limit: number;
  description?: string | null;
}
export interface RegisteredLimitChanges {
  service_id?: string;
  region_id?: string | null;
  resource_name?: string;
  default_limit?: number;
  description?: string | null;
}
export interface ProjectLimitBody {
  project_id: string;
  service_id: string;
  region_id?: string | null;
  resource_name: string;
  resource_limit: number;
  description?: string | null;
}
export interface ProjectLimitChanges {
  resource_limit?: number;
  description?: string | null;
}

// EC2 and S3 tokens: `{"credentials": {...}}` (or `ec2Credentials`, as keystonemiddleware's ec2 token sends it).
const EC2_CREDENTIALS = object({
  access: string(),
  signature: string(),
  host: string(),
  verb: string(),
  path: string(),
  body_hash: string(),
  params: { type: 'object' },
  headers: { type: 'object', additionalProperties: string() },
  token: string(),
});
export const ec2TokenRequest: JsonSchema = {
  ...object({ credentials: EC2_CREDENTIALS, ec2Credentials: EC2_CREDENTIALS }),
  anyOf: [{ required: ['credentials'] }, { required: ['ec2Credentials'] }],
};

export interface Ec2Credentials {
  access?: string;
  signature?: string;
  host?: string;
  verb?: string;
  path?: string;
  body_hash?: string;
  params?: Record<string, unknown>;
  headers?: Record<string, string>;
  token?: string;
  [extra: string]: unknown;
}
export interface Ec2TokenBody {
  credentials?: Ec2Credentials;
  ec2Credentials?: Ec2Credentials;
}

// Authentication (keystone/auth/schema.py: token_issue, plus what its auth plugins require of
// their sections). Whether a reference names an id or a name (and then its domain) is checked
// in auth.ts, as Keystone checks it after the schema.
const NAMED_REF = { id: ID, name: string({ max: 255 }) };
const DOMAIN_REF = object(NAMED_REF);
const USER_REF_MEMBERS = { ...NAMED_REF, domain: DOMAIN_REF };
const USER_REF = object(USER_REF_MEMBERS);
export const authRequest: JsonSchema = envelope(
  'auth',
  {
    identity: object(
      {
        methods: { type: 'array', items: string(), minItems: 1 },
        password: object({ user: object({ ...USER_REF_MEMBERS, password: string({ max: MAX_PASSWORD }) }, { required: ['password'] }) }, { required: ['user'] }),
        // No length limit on a token: an overlong one is just another token that does not validate (401).
        token: object({ id: string({ min: 1 }) }, { required: ['id'] }),
        application_credential: object({ ...NAMED_REF, secret: string({ max: MAX_PASSWORD }), user: USER_REF }, { required: ['secret'] }),
      },
      { required: ['methods'] },
    ),
    // An object naming one scope, or the string "unscoped".
    scope: {
      type: ['object', 'string'],
      if: { type: 'string' },
      then: { const: 'unscoped' },
      properties: {
        project: object({ ...NAMED_REF, domain: DOMAIN_REF }),
        domain: DOMAIN_REF,
        system: object({ all: boolean() }),
        'OS-TRUST:trust': object({ id: ID }, { required: ['id'] }),
      },
    },
  },
  { required: ['identity'] },
);

export interface NamedRef {
  id?: string;
  name?: string;
}
export interface UserRef extends NamedRef {
  domain?: NamedRef;
}
export interface ProjectRef extends NamedRef {
  domain?: NamedRef;
}
export interface AuthIdentity {
  methods: string[];
  password?: { user: UserRef & { password: string } };
  token?: { id: string };
  application_credential?: NamedRef & { secret: string; user?: UserRef };
  [method: string]: unknown;
}
export type AuthScope =
  | 'unscoped'
  | { project?: ProjectRef; domain?: NamedRef; system?: { all?: boolean }; 'OS-TRUST:trust'?: { id: string }; [extra: string]: unknown };
export interface AuthBody {
  auth: { identity: AuthIdentity; scope?: AuthScope; [extra: string]: unknown };
}
