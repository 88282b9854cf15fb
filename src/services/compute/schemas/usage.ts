import * as t from './types.js';

/** /os-simple-tenant-usage query schemas, after Nova's simple_tenant_usage.py: paging from 2.40. */

const pagination = {
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
};
const index = { start: t.queryParam(), end: t.queryParam(), detailed: t.queryParam() };
const show = { start: t.queryParam(), end: t.queryParam() };

export const usageIndexQuery = { '2.1': t.query(index), '2.40': t.query({ ...index, ...pagination }) };
export const usageShowQuery = { '2.1': t.query(show), '2.40': t.query({ ...show, ...pagination }) };
