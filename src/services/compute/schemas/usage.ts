import * as t from './types.js';

/** /os-simple-tenant-usage query schemas, after Nova's simple_tenant_usage.py (paging from 2.40). */

const pagination = {
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
};

export const usageIndexQuery = t.query({ start: t.queryParam(), end: t.queryParam(), detailed: t.queryParam(), ...pagination });
export const usageShowQuery = t.query({ start: t.queryParam(), end: t.queryParam(), ...pagination });
