import * as t from './types.js';
import type { Schema } from './types.js';

/** /os-quota-sets and /os-quota-class-sets request schemas, after Nova's quota_sets.py and quota_classes.py. */

const limit: Schema = { type: ['integer', 'string'], pattern: '^-?[0-9]+$', minimum: -1, maximum: 2147483647 };
const COMPUTE = ['instances', 'cores', 'ram', 'metadata_items', 'key_pairs', 'injected_files', 'injected_file_content_bytes', 'injected_file_path_bytes', 'server_groups', 'server_group_members'];
/** The Neutron quotas Nova proxied until 2.36. */
const NETWORK = ['floating_ips', 'fixed_ips', 'security_groups', 'security_group_rules'];

const limits = (names: string[]) => Object.fromEntries(names.map((n) => [n, limit]));

/** PUT /os-quota-sets/{id}: 2.36 drops the network quotas. */
export const updateQuotaSet = {
  '2.1': t.envelope('quota_set', t.closedObject({ ...limits([...COMPUTE, ...NETWORK]), force: t.boolean })),
  '2.36': t.envelope('quota_set', t.closedObject({ ...limits(COMPUTE), force: t.boolean })),
};

/**
 * PUT /os-quota-class-sets/{id}. Nova drops the network quotas here at 2.50; Kumo's class sets
 * stopped showing them at 2.36 with the project sets, so they are refused from 2.36 too.
 */
export const updateQuotaClassSet = {
  '2.1': t.envelope('quota_class_set', t.closedObject(limits([...COMPUTE, ...NETWORK]))),
  '2.36': t.envelope('quota_class_set', t.closedObject(limits(COMPUTE))),
};

export const quotaUserQuery = t.query({ user_id: t.queryParam() });
