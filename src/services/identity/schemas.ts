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
