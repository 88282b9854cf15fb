import * as t from './types.js';
import type { Schema } from './types.js';

/** /os-services and /os-hypervisors request schemas, after Nova's services.py and hypervisors.py (before 2.53). */

const reason: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const binary: Schema = { type: 'string', minLength: 1, maxLength: 255 };

/** PUT /os-services/{enable,disable,disable-log-reason,force-down}: 2.11 adds forced_down. */
export const updateService = {
  '2.1': t.closedObject({ host: t.fqdn, binary, disabled_reason: reason }, ['host', 'binary']),
  '2.11': t.closedObject({ host: t.fqdn, binary, disabled_reason: reason, forced_down: t.boolean }, ['host', 'binary']),
};

export const listServicesQuery = t.query({ host: t.queryParam(), binary: t.queryParam() });

/** GET /os-hypervisors(/detail): limit and marker from 2.33. */
export const listHypervisorsQuery = t.query({
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
});
