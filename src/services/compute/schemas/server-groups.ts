import * as t from './types.js';
import type { Schema } from './types.js';

/** /os-server-groups request schemas, after Nova's server_groups.py. */

const group = (policies: string[]): Schema =>
  t.envelope(
    'server_group',
    t.closedObject(
      {
        name: t.name,
        policies: { type: 'array', items: [{ type: 'string', enum: policies }], uniqueItems: true, minItems: 1, maxItems: 1, additionalItems: false },
      },
      ['name', 'policies'],
    ),
  );

/** POST /os-server-groups: 2.15 adds the soft policies. */
export const createServerGroup = {
  '2.1': group(['anti-affinity', 'affinity']),
  '2.15': group(['anti-affinity', 'affinity', 'soft-anti-affinity', 'soft-affinity']),
};

export const listServerGroupsQuery = t.query({
  all_projects: t.queryParam(),
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  offset: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
});
