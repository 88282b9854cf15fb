import * as t from './types.js';

/** /os-security-groups (the proxy, before 2.36) request schemas, after Nova's security_groups.py. */

/** Nova's schema leaves other members alone; its controller refuses blank names (routes/security-groups.ts). */
export const securityGroupBody = {
  type: 'object',
  properties: {
    security_group: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 0, maxLength: 255 }, description: { type: 'string', minLength: 0, maxLength: 255 } },
      required: ['name', 'description'],
      additionalProperties: true,
    },
  },
  required: ['security_group'],
  additionalProperties: true,
};

export const listSecurityGroupsQuery = t.query({
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  offset: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  all_tenants: t.queryParam(),
});

/**
 * os-security-group-rules create: Nova checks only the group ids; ports, protocol and cidr
 * are its controller's to judge (routes/security-group-rules.ts).
 */
export const securityGroupRuleBody = {
  type: 'object',
  properties: {
    security_group_rule: {
      type: 'object',
      properties: { group_id: { ...t.uuid, type: ['string', 'null'] }, parent_group_id: t.uuid, to_port: {}, from_port: {}, ip_protocol: {}, cidr: {} },
      required: ['parent_group_id'],
      additionalProperties: true,
    },
  },
  required: ['security_group_rule'],
  additionalProperties: true,
};
